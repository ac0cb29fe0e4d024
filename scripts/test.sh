#!/usr/bin/env bash
# Runs every test: formatting and lints, the core's unit tests and the
# domain tests over real SQLite, the core built for every target it must
# run on, the Workers bundle, and the end-to-end suite against wrangler dev.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }

step "setup"
bash scripts/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "the actions' Wasm: the JavaScript runner and the example component"
bash scripts/build-actions.sh

step "cargo clippy (native and wasm32)"
cargo clippy --all-targets -- -D warnings
cargo clippy -p tessera-workers --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p tessera-spin --target wasm32-wasip2 -- -D warnings
cargo clippy -p tessera-spin-test-host -- -D warnings
CC_wasm32_unknown_unknown=clang-14 AR_wasm32_unknown_unknown=llvm-ar-14 \
  cargo clippy -p tessera-js-runner --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p tessera-example-action --target wasm32-wasip2 -- -D warnings

step "tessera-core builds for wasm32-unknown-unknown and wasm32-wasip1 (no host crate leaks in)"
cargo build -p tessera-core --target wasm32-unknown-unknown
cargo build -p tessera-core --target wasm32-wasip1
if cargo tree -p tessera-core -e normal --prefix none | grep -Eq '^(worker|spin-sdk|wasmtime|tokio|rusqlite) '; then
  echo "tessera-core depends on a host crate" >&2
  exit 1
fi

step "unit and domain tests (real SQLite, real migrations), and the actions sandbox against hostile code"
cargo test -p tessera-core -p tessera-native -p tessera-actions-host
# The Workers adapter's own logic that needs no runtime (the outbox's batching).
cargo test -p tessera-workers --lib

step "OpenAPI: the committed spec and SDKs match the code; Redocly's recommended rules, warnings as errors"
npx redocly lint --config openapi/redocly.yaml openapi/openapi.json 2>&1 | grep -Ev '║|╔|╚|^\s*$' | tail -4
bash scripts/sdk.sh --check
npx tsc -p sdk/typescript
# The Rust SDK is generated from the spec by its build script on every build.
cargo build -p tessera-sdk --example smoke

step "Spin component: builds for wasm32-wasip2, imports only WASI and Spin"
node scripts/spin-check.mjs

step "Workers bundle (worker-build --release)"
sh scripts/build-worker.sh

step "wrangler deploy --dry-run: the committed configuration builds for production"
dry=$(mktemp -d)
SKIP_WORKER_BUILD=1 WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false XDG_CONFIG_HOME="$root/.xdg-config" CI=1 \
  npx wrangler deploy --dry-run --outdir "$dry" </dev/null 2>&1 | tail -15
rm -rf "$dry"

step "contract fuzzing: schemathesis over every operation of openapi/openapi.json"
SKIP_WORKER_BUILD=1 node tests/contract/run.mjs 2>&1 | tail -25

step "end-to-end tests against wrangler dev"
SKIP_WORKER_BUILD=1 node --test --test-concurrency=1 tests/e2e/

step "the same end-to-end suite and contract fuzzing against the Spin component (Spin-compatible test host, with the native log-stream delivery worker)"
cargo build -p tessera-spin-test-host -p tessera-actions-host
TESSERA_E2E_HOST=spin node tests/contract/run.mjs 2>&1 | tail -25
TESSERA_E2E_HOST=spin node --test --test-concurrency=1 tests/e2e/
