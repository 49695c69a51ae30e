#!/usr/bin/env bash
# Configures and builds nicsim into ./build (or $NICSIM_BUILD_DIR).
# Extra arguments go to CMake, e.g. -DNICSIM_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${NICSIM_BUILD_DIR:-build}
launcher=()
# ccache, when present, makes rebuilds in other build folders (sanitizer, worktrees) cheap.
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" "$@"
cmake --build "$build_dir" -j "$(nproc)"
