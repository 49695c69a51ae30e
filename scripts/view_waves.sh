#!/usr/bin/env bash
# Opens a run's waves in GTKWave with the co-analysis view.
#   scripts/view_waves.sh RUN.fst      (from: nicsim run --waves RUN.fst)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 RUN.fst|RUN.vcd" >&2; exit 2; }
[ -f "$1" ] || { echo "$0: $1: no such wave file" >&2; exit 2; }
exec gtkwave "$1" "$(dirname "$0")/../waves/views/co_analysis.gtkw"
