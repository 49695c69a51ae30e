#!/usr/bin/env bash
# Fresh machine to first result: install what is missing, build the nicsim binary (only what the
# first run needs: not the tests nor the benchmark), run the default scenario.
# `bash scripts/build.sh` (or scripts/test.sh) builds the rest later into the same folder.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
build_dir=${NICSIM_BUILD_DIR:-build}
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}"
cmake --build "$build_dir" -j "$(nproc)" --target nicsim
"./$build_dir/tb/nicsim" run --json "$build_dir/default.json"
echo "statistics written to $build_dir/default.json"
