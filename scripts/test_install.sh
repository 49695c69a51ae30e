#!/usr/bin/env bash
# Installs nicsim from a build folder into a temporary prefix and builds and tests every
# examples/* project against it with find_package(nicsim), as a user's own project would.
#   NICSIM_BUILD_DIR   the build folder to install from (default build; built first if needed)
#   NICSIM_PREFIX      install here instead of a temporary folder (kept afterwards)
# Exits 1 if any example fails to configure, build or pass its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${NICSIM_BUILD_DIR:-build}
[ -f "$build_dir/CMakeCache.txt" ] || bash scripts/build.sh
# The libraries, the CLI and the test main: what the install takes (not the whole suite).
cmake --build "$build_dir" -j "$(nproc)" --target nicsim_tb nicsim_gtest_main nicsim

work=$(mktemp -d "${TMPDIR:-/tmp}/nicsim-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=${NICSIM_PREFIX:-$work/prefix}
echo "== installing $build_dir into $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log"
echo "   $(grep -c 'Installing:' "$work/install.log") files"
# Nothing but nicsim/ in the include folder, and no installed header includes an unprefixed one.
[ "$(ls "$prefix/include")" = nicsim ] || { echo "test_install: $prefix/include holds more than nicsim/" >&2; exit 1; }
if grep -rnE '#include "(abi|proto|tlm|hw|host|waves|tb)/' "$prefix/include/nicsim"; then
  echo "test_install: installed headers include unprefixed nicsim headers (above)" >&2
  exit 1
fi
# The installed CLI runs and finds its report script in share/nicsim.
"$prefix/bin/nicsim" run --quiet --set sim.duration_us=20 --json "$work/cli.json"
[ -f "$prefix/share/nicsim/sweep_report.py" ] || { echo "test_install: no share/nicsim/sweep_report.py" >&2; exit 1; }

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
failed=()
for example in examples/*/; do
  name=$(basename "$example")
  echo "== example $name"
  out=$work/build-$name
  # -Werror here: the examples must build clean against the installed headers.
  if cmake -S "$example" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH="$prefix" \
       -DCMAKE_CXX_FLAGS="-Wall -Wextra -Werror" "${launcher[@]}" >"$work/$name.configure.log" 2>&1 &&
     cmake --build "$out" -j "$(nproc)" >"$work/$name.build.log" 2>&1 &&
     ctest --test-dir "$out" -j "$(nproc)" --output-on-failure; then
    echo "== example $name: passed"
  else
    failed+=("$name")
    for log in "$work/$name.configure.log" "$work/$name.build.log"; do
      [ -f "$log" ] && tail -n 40 "$log"
    done
    echo "== example $name: FAILED"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "test_install: failed: ${failed[*]}" >&2
  exit 1
fi
echo "test_install: every example builds against the installed package and passes"
