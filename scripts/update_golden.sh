#!/usr/bin/env bash
# Regenerates tb/golden/*.json and the studies' *.csv from the current build: only for a deliberate
# fidelity change, named as such in the commit and the README.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${NICSIM_BUILD_DIR:-build}
cmake --build "$build_dir" --target nicsim golden_test
NICSIM_UPDATE_GOLDEN=1 ctest --test-dir "$build_dir" -R "golden" -j "$(nproc)" >/dev/null || true
ctest --test-dir "$build_dir" -R "golden" -j "$(nproc)"
git status --short tb/golden
