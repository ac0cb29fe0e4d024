#!/usr/bin/env bash
# Regenerates the SDKs from the committed openapi/openapi.json:
# sdk/typescript/src/schema.d.ts (openapi-typescript). With --check, fails
# instead when the committed SDK differs from a fresh generation.
set -euo pipefail
cd "$(dirname "$0")/.."
gen_ts() { npx openapi-typescript openapi/openapi.json --default-non-nullable false -o "$1" >/dev/null; }
if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d)
  gen_ts "$tmp/schema.d.ts"
  if ! diff -q "$tmp/schema.d.ts" sdk/typescript/src/schema.d.ts >/dev/null; then
    echo "sdk/typescript is stale: run scripts/sdk.sh and commit the result" >&2
    exit 1
  fi
  echo "SDKs match openapi/openapi.json"
else
  gen_ts sdk/typescript/src/schema.d.ts
  echo "wrote sdk/typescript/src/schema.d.ts"
fi
