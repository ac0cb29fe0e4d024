#!/usr/bin/env bash
# Builds the Wasm the actions host runs: the JavaScript runner (QuickJS in
# wasm32-unknown-unknown; its C is compiled by Debian's clang-14, which
# scripts/setup.sh installs) and the example Rust component (wasm32-wasip2).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CC_wasm32_unknown_unknown=${CC_wasm32_unknown_unknown:-clang-14}
export AR_wasm32_unknown_unknown=${AR_wasm32_unknown_unknown:-llvm-ar-14}
cargo build -p tessera-js-runner --target wasm32-unknown-unknown --release
cargo build -p tessera-example-action --target wasm32-wasip2 --release
