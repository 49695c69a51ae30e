#!/usr/bin/env bash
# Builds the libFuzzer targets of tb/fuzz with clang into build-fuzz/ and runs each for a bounded
# time, starting from the seed corpus in tb/fuzz/corpus/<target>/ (which is only read).
#   NICSIM_FUZZ_SECONDS=60     seconds per target
#   NICSIM_FUZZ_TARGETS="..."  which targets (default: all four)
#   NICSIM_FUZZ_BUILD_DIR      build folder (default build-fuzz)
# A crash leaves its input in build-fuzz/fuzz-artifacts/<target>/ and is printed with the command
# that replays it; the script then exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${NICSIM_FUZZ_SECONDS:-60}
targets=(${NICSIM_FUZZ_TARGETS:-fuzz_config fuzz_costs fuzz_grid fuzz_frame})
build_dir=${NICSIM_FUZZ_BUILD_DIR:-build-fuzz}
cxx=${NICSIM_FUZZ_CXX:-clang++}
command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (bash scripts/install-deps.sh installs clang)" >&2; exit 2; }

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
  -DNICSIM_FUZZ=ON -DNICSIM_BUILD_TESTS=OFF -DNICSIM_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
cmake --build "$build_dir" -j "$(nproc)" --target "${targets[@]}"

failed=()
for t in "${targets[@]}"; do
  seeds=tb/fuzz/corpus/$t
  corpus=$build_dir/fuzz-corpus/$t        # what the fuzzer adds; kept between runs
  artifacts=$build_dir/fuzz-artifacts/$t/
  mkdir -p "$corpus" "$artifacts"
  dict=()
  [ -f "tb/fuzz/${t#fuzz_}.dict" ] && dict=(-dict="tb/fuzz/${t#fuzz_}.dict")
  echo "== $t: ${seconds} s"
  log=$build_dir/fuzz-$t.log
  # KILL after a grace period: a libFuzzer that stops on OOM has hung in its exit path here.
  if ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} timeout -s KILL $((seconds + 120)) "$build_dir/tb/fuzz/$t" "$corpus" "$seeds" "${dict[@]}" -max_total_time="$seconds" -timeout=25 \
       -rss_limit_mb=6144 -max_len=4096 -print_final_stats=1 -artifact_prefix="$artifacts" >"$log" 2>&1; then
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
  else
    failed+=("$t")
    echo "fuzz.sh: $t FAILED; the end of its log ($log):"
    tail -n 40 "$log"
    for a in "$artifacts"*; do
      [ -f "$a" ] || continue
      echo "fuzz.sh: input that fails $t: $a, replay: $build_dir/tb/fuzz/$t $a"
      echo "---- input (first 1 KiB, escaped) ----"
      head -c 1024 "$a" | od -c | head -n 40
      echo "----"
    done
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${targets[*]}: no crash in ${seconds} s each"
