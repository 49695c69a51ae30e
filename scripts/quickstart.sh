#!/usr/bin/env bash
# Fresh machine to first result: install what is missing, build, run the default scenario.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/tb/nicsim run --json build/default.json
echo "statistics written to build/default.json"
