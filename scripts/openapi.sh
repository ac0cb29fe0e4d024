#!/usr/bin/env bash
# Regenerates openapi/openapi.json from the code (route table + body types).
# Commit the result; a domain test fails while the two differ.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -p tessera-native --bin openapi > openapi/openapi.json.tmp
mv openapi/openapi.json.tmp openapi/openapi.json
echo "wrote openapi/openapi.json"
