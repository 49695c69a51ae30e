#!/usr/bin/env bash
# Opens a run's waves in GTKWave with nicsim's view, on the whole run, full signal names:
#   scripts/view_waves.sh RUN.fst        the co-analysis view (waves/views/co_analysis.gtkw)
#   scripts/view_waves.sh RUN.rtl.fst    the verilated moderation block (waves/views/rtl_moderation.gtkw)
# (from: nicsim run --waves RUN.fst, which writes RUN.rtl.fst next to it)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 RUN.fst|RUN.vcd|RUN.rtl.fst" >&2; exit 2; }
[ -f "$1" ] || { echo "$0: $1: no such wave file" >&2; exit 2; }
views="$(dirname "$0")/../waves/views"
case "$1" in
  *.rtl.fst) view="$views/rtl_moderation.gtkw" ;;
  *) view="$views/co_analysis.gtkw" ;;
esac
exec gtkwave --rcfile "$views/nicsim.gtkwaverc" --script "$views/zoom_full.tcl" "$1" "$view"
