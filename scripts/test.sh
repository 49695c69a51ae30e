#!/usr/bin/env bash
# Fresh machine to a tested tree: install what is missing, build, run every test but the soak.
# NICSIM_SANITIZE=1 builds into build-asan with AddressSanitizer + UBSan instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ "${NICSIM_SANITIZE:-0}" = 1 ]; then
  export NICSIM_BUILD_DIR=build-asan
  bash scripts/build.sh -DNICSIM_SANITIZE=ON -DNICSIM_BUILD_BENCH=OFF
else
  bash scripts/build.sh
fi
# The random-configuration soak (label soak) runs on its own: ctest --test-dir build -L soak.
ctest --test-dir "${NICSIM_BUILD_DIR:-build}" -j "$(nproc)" --output-on-failure -LE soak
