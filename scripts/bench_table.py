#!/usr/bin/python3
"""Prints the README's benchmark table (Markdown) from `nicsim_bench --json FILE` output.

Usage: python3 scripts/bench_table.py AFTER.json [BEFORE.json]

With BEFORE.json (the same bench run on an older tree, back to back on the same machine) each
figure reads "before → after". Columns: simulated ms, CPU seconds of the workload's process
(median of --repeat), wall ns per wire frame, peak RSS; then the peak-RSS ratio of each
ten-times-longer variant to its workload (the goal: at most 1.3), and the line-rate workloads'
wall time per frame against the verilated front end's own (the goals: 2x at 64 B, 3x at 1518 B).
Workloads missing from BEFORE.json show "-" before the arrow.
"""
import json
import sys


def fmt(after, before, spec):
    a = format(after, spec)
    if before is None:
        return a
    return f"{format(before, spec) if before != '-' else '-'} → {a}"


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    after = json.load(open(sys.argv[1]))
    before = json.load(open(sys.argv[2])) if len(sys.argv) == 3 else None
    print(f"repeat {after['repeat']} (medians)" + (f"; before: repeat {before['repeat']}" if before else ""))
    print()
    print("| workload | sim ms | CPU s | wall ns / frame | peak RSS MiB |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, w in after["workloads"].items():
        b = before["workloads"].get(name) if before else None

        def old(key, scale=1.0):
            if before is None:
                return None
            return b[key] * scale if b else "-"

        print(f"| {name} | {w['sim_ms']:g} | {fmt(w['cpu_s'], old('cpu_s'), '.3f')} "
              f"| {fmt(w['ns_per_frame'], old('ns_per_frame'), '.0f')} "
              f"| {fmt(w['max_rss_kib'] / 1024, old('max_rss_kib', 1 / 1024), '.1f')} |")
    print()
    ratios = after.get("max_rss_ratio_200ms_20ms", {})
    if ratios:
        print("peak RSS, 10x run length / 1x: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    floor = after["rtl_floor_ns_per_frame"]
    parts = []
    for size, name in (("64", "udp64_linerate"), ("1518", "udp1518_linerate")):
        w = after["workloads"].get(name)
        if w and floor.get(size):
            parts.append(f"{size} B {w['ns_per_frame'] / floor[size]:.1f}x (front end alone {floor[size]:.0f} ns)")
    if parts:
        print("wall per frame at line rate over the verilated front end's own: " + ", ".join(parts))
    paired = after.get("line_rate_over_floor", {})
    if paired:
        print("the same, 10 ms runs, each paired with a front-end measurement just before it (medians): "
              + ", ".join(f"{size} B {v:.2f}x" for size, v in paired.items()))
    paired_min = after.get("line_rate_over_floor_min", {})
    if paired_min:
        print("the same pairs, fastest run over fastest front end: "
              + ", ".join(f"{size} B {v:.2f}x" for size, v in paired_min.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
