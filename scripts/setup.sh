#!/usr/bin/env bash
# Installs what building, running and testing Tessera needs, skipping what is
# already there at the right version. Safe to run again; used by dev.sh,
# test.sh and .ci/run, so a fresh machine gets everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

WORKER_BUILD_VERSION=0.8.7
# Must equal the wasm-bindgen crate version pinned in edge/workers/Cargo.toml.
WASM_BINDGEN_VERSION=0.2.130

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

installed_targets=$(rustup target list --installed)
for t in wasm32-unknown-unknown wasm32-wasip1 wasm32-wasip2; do
  grep -qx "$t" <<<"$installed_targets" || { say "rustup target add $t"; rustup target add "$t"; }
done
installed_components=$(rustup component list --installed)
for c in rustfmt clippy; do
  grep -q "^$c" <<<"$installed_components" || { say "rustup component add $c"; rustup component add "$c"; }
done

if [ "$(worker-build --version 2>/dev/null || true)" != "$WORKER_BUILD_VERSION" ]; then
  say "cargo install worker-build $WORKER_BUILD_VERSION (10-20 min on 2 cores)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (6-12 min)"
  # Not --locked: its lockfile pins a webpki-roots version the registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# clang and llvm-ar for QuickJS's C in the actions' JavaScript runner
# (wasm32-unknown-unknown; rquickjs brings its own libc headers).
if ! command -v clang-14 >/dev/null 2>&1 || ! command -v llvm-ar-14 >/dev/null 2>&1; then
  say "apt-get install clang-14 llvm-14"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq clang-14 llvm-14 >/dev/null
fi

# Debian's Chromium for the admin UI browser tests (playwright-core drives it;
# browsers cannot be downloaded here).
if ! command -v chromium >/dev/null 2>&1; then
  say "apt-get install chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

# schemathesis (contract fuzzing against the OpenAPI document), in a venv.
SCHEMATHESIS_VERSION=4.32.5
if [ "$(.venv/bin/schemathesis --version 2>/dev/null | grep -o '[0-9.]*$' || true)" != "$SCHEMATHESIS_VERSION" ]; then
  say "pip install schemathesis $SCHEMATHESIS_VERSION (venv .venv)"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

# moto's server mode (an S3-compatible server that verifies SigV4) and boto3
# (reads the objects back) for the S3 log-stream sink's end-to-end test, in
# the same venv.
MOTO_VERSION=5.2.5
if [ "$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true)" != "$MOTO_VERSION" ] \
  || ! .venv/bin/python -c 'import boto3, botocore, flask' >/dev/null 2>&1; then
  say "pip install moto[server] $MOTO_VERSION (venv .venv)"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install -q "moto[server]==$MOTO_VERSION"
fi

# scim2-tester (a third-party SCIM 2.0 conformance checker) and its httpx
# client, for the SCIM end-to-end test, in the same venv.
SCIM2_TESTER_VERSION=0.5.2
if [ "$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("scim2-tester"))' 2>/dev/null || true)" != "$SCIM2_TESTER_VERSION" ] \
  || ! .venv/bin/python -c 'import httpx2, scim2_client.engines.httpx2' >/dev/null 2>&1; then
  say "pip install scim2-tester[httpx2] $SCIM2_TESTER_VERSION (venv .venv)"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install -q "scim2-tester[httpx2]==$SCIM2_TESTER_VERSION"
fi

# npm packages: reinstall when package-lock.json changed since the last install.
stamp=node_modules/.tessera-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "npm ci"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
