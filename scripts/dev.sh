#!/usr/bin/env bash
# Starts the whole service locally: installs what is missing (first run takes
# 20-30 minutes on 2 cores), builds the Workers bundle, runs wrangler dev on
# 127.0.0.1:8787 (PORT to change) and seeds the demo tenant.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh
exec node scripts/dev.mjs
