#!/usr/bin/env bash
# Redraws every plot in docs/ from fresh runs: the seven studies (nicsim sweep + the sweep
# report) and the load curve (scripts/plot_load.py). Run it after a fidelity change, then read
# the new figures into the README. Usage: scripts/redraw_docs.sh [BUILD_DIR] [JOBS]
# Needs Debian's python3-matplotlib (scripts/install-deps.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
jobs=${2:-2}
nicsim="$build/tb/nicsim"
[[ -x $nicsim ]] || { echo "redraw_docs: $nicsim not built (bash scripts/build.sh)" >&2; exit 2; }
out=$(mktemp -d "${TMPDIR:-/tmp}/nicsim-docs.XXXXXX")
trap 'rm -rf "$out"' EXIT

study() {  # study NAME: sweep tb/scenarios/study_NAME.yaml into $out/NAME and draw its report
  "$nicsim" sweep "tb/scenarios/study_$1.yaml" --jobs "$jobs" --out "$out/$1" >/dev/null
  /usr/bin/python3 scripts/sweep_report.py "$out/$1" >/dev/null
}
# take NAME PLOT DOC: copy $out/NAME/plots/PLOT.png to docs/DOC.png, failing if it was not drawn
take() { cp "$out/$1/plots/$2.png" "docs/$3.png.tmp" && mv "docs/$3.png.tmp" "docs/$3.png"; }

for s in livelock coalescing ring rss tcp_gro tcp_bdp tcp_ring; do
  echo "redraw_docs: study_$s" >&2
  study "$s"
done
take livelock delivered_vs_offered study_livelock
take livelock cpu_by_context study_livelock_cpu
take coalescing tradeoff study_coalescing
take coalescing latency_vs_rx_usecs study_coalescing_latency
take ring drops_vs_ring study_ring
take ring latency_vs_ring study_ring_latency
take rss delivered_vs_offered study_rss
take tcp_gro goodput_vs_frame study_tcp_gro
take tcp_gro cpu_per_kib_vs_frame study_tcp_gro_cpu
take tcp_bdp goodput_vs_link_delay_ns study_tcp_bdp
take tcp_ring srtt_vs_rx study_tcp_ring_rtt
take tcp_ring retransmissions_vs_rx study_tcp_ring_retrans
echo "redraw_docs: load curve" >&2
/usr/bin/python3 scripts/plot_load.py --nicsim "$nicsim" --out docs/load_curve.tmp.png
mv docs/load_curve.tmp.png docs/load_curve.png
# The results, for reading figures into the README.
mkdir -p "$build/docs-results"
for s in livelock coalescing ring rss tcp_gro tcp_bdp tcp_ring; do
  cp "$out/$s/results.csv" "$build/docs-results/study_$s.csv"
done
echo "redraw_docs: plots in docs/, results in $build/docs-results/" >&2
