#!/usr/bin/env bash
# Prints Tessera's figures: Workers bundle size (raw and gzip) and startup, Argon2id,
# recovery-code and TOTP checks natively and inside the Worker, a whole
# authorization-code login and what a second factor adds to signing in; the token endpoint, discovery and JWKS against
# oidc-provider (with and without the local runtime's emulated compression), the floor and the token inside one isolate, and on the Spin component; log-stream delivery; actions (per run, and per sign-in);
# a soak of mixed traffic with the runtime's memory and the Worker's own heap.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh >/dev/null
sh scripts/build-worker.sh >/dev/null 2>&1

wasm=edge/workers/build/index_bg.wasm
js=edge/workers/build/index.js
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
jsraw=$(stat -c %s "$js")
printf 'workers bundle: wasm %d KB raw, %d KB gzip; js glue %d KB\n' $((raw / 1024)) $((gz / 1024)) $((jsraw / 1024))
node bench/worker-startup.mjs

node scripts/spin-check.mjs | grep KB
cargo bench -q -p tessera-native --bench argon2 2>/dev/null | grep argon2id
cargo bench -q -p tessera-native --bench token 2>/dev/null | grep 'token endpoint'
cargo bench -q -p tessera-native --bench audit_log 2>/dev/null | grep -E "audit log|events and users"
cargo bench -q -p tessera-native --bench scim 2>/dev/null | grep -E "SCIM|ms"
cargo bench -q -p tessera-actions-host --bench delivery 2>/dev/null | grep 'log delivery'
SKIP_WORKER_BUILD=1 node bench/argon2-worker.mjs
SKIP_WORKER_BUILD=1 node bench/mfa-login.mjs 2>&1 | grep -v WARNING
SKIP_WORKER_BUILD=1 node bench/token-endpoint.mjs 2>&1 | grep -v WARNING
SKIP_WORKER_BUILD=1 BENCH_IDENTITY=1 node bench/token-endpoint.mjs 2>&1 | grep -v WARNING
SKIP_WORKER_BUILD=1 node bench/in-isolate.mjs 2>&1 | grep -v WARNING
cargo build -q -p tessera-spin-test-host -p tessera-actions-host
node bench/token-spin.mjs 2>&1 | grep -v WARNING
SKIP_WORKER_BUILD=1 node bench/log-delivery-worker.mjs 2>&1 | grep -v WARNING
bash scripts/build-actions.sh >/dev/null 2>&1
cargo build -q --release -p tessera-actions-host
cargo bench -q -p tessera-actions-host --bench sandbox 2>/dev/null | grep -E "sandbox|p50"
SKIP_WORKER_BUILD=1 node bench/actions.mjs 2>&1 | grep -v WARNING
SKIP_WORKER_BUILD=1 SOAK_SECONDS=${SOAK_SECONDS:-30} SOAK_INSPECTOR_PORT=${SOAK_INSPECTOR_PORT:-9339} node bench/soak.mjs 2>&1 | grep -v WARNING
