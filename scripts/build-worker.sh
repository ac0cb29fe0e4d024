#!/bin/sh
# Builds the Workers bundle with worker-build, using tools installed from
# registries instead of the binaries worker-build would download (no network
# here): wasm-bindgen from cargo, wasm-opt (binaryen) and esbuild from npm.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$HOME/.cargo/bin/wasm-bindgen}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$root/node_modules/.bin/wasm-opt}"
export ESBUILD_BIN="${ESBUILD_BIN:-$root/node_modules/.bin/esbuild}"
cd "$root/edge/workers"
exec worker-build --release
