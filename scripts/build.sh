#!/usr/bin/env bash
# Configures and builds nicsim into ./build (or $NICSIM_BUILD_DIR).
# Extra arguments go to CMake, e.g. -DNICSIM_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${NICSIM_BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build_dir" -j "$(nproc)"
