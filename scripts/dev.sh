#!/usr/bin/env bash
# Starts the whole service locally: installs what is missing (first run takes
# 20-30 minutes on 2 cores), builds the Workers bundle and the actions host,
# runs the actions host on 127.0.0.1:8788 and wrangler dev on 127.0.0.1:8787
# (PORT to change), and seeds the demo tenant with a demo action.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
bash scripts/setup.sh
bash scripts/build-actions.sh
cargo build -p tessera-actions-host
exec node scripts/dev.mjs
