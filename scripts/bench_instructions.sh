#!/usr/bin/env bash
# Instructions per wire frame, counted by callgrind: a figure that does not move with the
# machine's load or clock, for comparing two trees (wall and CPU time on a shared VM swing
# by 2x from run to run; see README "Tests and benchmark").
#
#   bash scripts/bench_instructions.sh [WORKLOAD ...]
#
# Runs each nicsim_bench workload once under valgrind --tool=callgrind and prints its
# instructions, its wire frames and their ratio, whole process with start-up; the share of
# them spent in the SystemC kernel (libsystemc: the scheduler, events, thread switches); and
# the charges that waited per frame (each a thread switch; nicsim_bench's charge_waits). The name
# `frontend` stands for the verilated front end alone (nicsim_bench rtl: 200,000 frames of
# 64 B, then of 1518 B). Default: default udp64_linerate udp1518_linerate rss4_8gbps udp_rr
# default_recorded frontend. Slow: about 20 times the plain runs (a few minutes in all).
# NICSIM_BUILD_DIR picks the build (build).
# Installs valgrind if it is missing (scripts/install-deps.sh with NICSIM_WITH_VALGRIND=1).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${NICSIM_BUILD_DIR:-build}
bench=$build_dir/tb/bench/nicsim_bench
command -v valgrind >/dev/null || NICSIM_WITH_VALGRIND=1 bash scripts/install-deps.sh
if [ ! -x "$bench" ]; then
  echo "bench_instructions: $bench is not built (cmake --build $build_dir --target nicsim_bench)" >&2
  exit 1
fi
bench=$(realpath "$bench")
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] ||
  workloads=(default udp64_linerate udp1518_linerate rss4_8gbps udp_rr default_recorded frontend)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The front end alone: nicsim_bench rtl checks 200,000 frames of 64 B, then of 1518 B; a
# dump after each size's function gives each its own count.
frontend() {
  (cd "$scratch" && valgrind --tool=callgrind --callgrind-out-file=rtl.out \
    --dump-after='frontend_ns_per_frame*' "$bench" rtl >/dev/null 2>rtl.err)
  for n in 1 2; do
    local f=$scratch/rtl.out.$n
    [ -f "$f" ] || { echo "bench_instructions: no callgrind dump $f" >&2; exit 1; }
    local total size
    total=$(sed -n 's/^totals: //p' "$f")
    size=$([ "$n" = 1 ] && echo 64 || echo 1518)
    printf '%-24s %14d %9d %12d %9s %12s\n' "frontend_${size}B" "$total" 200000 $((total / 200000)) - -
  done
}

printf '%-24s %14s %9s %12s %9s %12s\n' workload instructions frames per_frame systemc waits/frame
for w in "${workloads[@]}"; do
  if [ "$w" = frontend ]; then
    frontend
    continue
  fi
  if ! valgrind --tool=callgrind --callgrind-out-file="$scratch/cg.out" "$bench" "$w" \
    >"$scratch/out.json" 2>"$scratch/err.txt"; then
    echo "bench_instructions: workload $w failed:" >&2
    cat "$scratch/err.txt" >&2
    exit 1
  fi
  ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$scratch/err.txt")
  # A command substitution, so that a failure here (a key gone from the bench's line) stops the
  # script under set -e, as a process substitution would not.
  counts=$(python3 -c 'import json,sys
j = json.loads(open(sys.argv[1]).readline())
print(j["frames"], "%.2f" % (j["charge_waits"] / max(j["frames"], 1)))' "$scratch/out.json")
  read -r frames waits <<<"$counts"
  sysc=$(callgrind_annotate --auto=no --threshold=100 "$scratch/cg.out" |
    awk '/libsystemc/ { gsub(",", "", $1); s += $1 } END { print s + 0 }')
  if [ -z "$ir" ] || [ "$frames" -eq 0 ]; then
    echo "bench_instructions: no count for $w (callgrind said: $(tail -1 "$scratch/err.txt"))" >&2
    exit 1
  fi
  printf '%-24s %14d %9d %12d %8d%% %12s\n' "$w" "$ir" "$frames" $((ir / frames)) $((100 * sysc / ir)) "$waits"
done
