#!/usr/bin/python3
"""Offered load vs what the application receives, and where the CPU goes.

Runs `nicsim run` once per load point (one simulation per process) and draws
docs/load_curve.png. Usage (Debian python3-matplotlib): /usr/bin/python3 scripts/plot_load.py [--nicsim build/tb/nicsim] [--out FILE]
"""
import argparse
import json
import os
import subprocess
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CONTEXTS = ["user", "system", "hardirq", "softirq", "ksoftirqd", "idle"]


def run(nicsim, sets):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    try:
        args = [nicsim, "run", "--quiet", "--json", path]
        for s in sets:
            args += ["--set", s]
        subprocess.run(args, check=True)
        with open(path) as f:
            return json.load(f)
    finally:
        os.unlink(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nicsim", default="build/tb/nicsim")
    ap.add_argument("--out", default="docs/load_curve.png")
    ap.add_argument("--duration-us", default="20000")
    a = ap.parse_args()
    loads = [0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]
    rows = []
    for gbps in loads:
        j = run(a.nicsim, [f"traffic.rate_gbps={gbps}", f"sim.duration_us={a.duration_us}"])
        sim_s = j["sim"]["sim_time_ns"] * 1e-9
        rows.append((gbps, j["wire"]["frames"] / sim_s / 1e3, j["app"]["messages"] / sim_s / 1e3,
                     {c: j["host"]["cpu_ns"][c] / j["sim"]["sim_time_ns"] * 100 for c in CONTEXTS}))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot([r[1] for r in rows], [r[1] for r in rows], "--", color="grey", label="offered")
    ax1.plot([r[1] for r in rows], [r[2] for r in rows], "o-", label="received by the application")
    ax1.set_xlabel("offered load (kpps, 512 B frames)")
    ax1.set_ylabel("kpps")
    ax1.set_title("Delivered vs offered (rx-usecs 20, one CPU)")
    ax1.legend()
    bottom = [0.0] * len(rows)
    x = [f"{r[0]:g}" for r in rows]
    for c in CONTEXTS:
        vals = [r[3][c] for r in rows]
        ax2.bar(x, vals, bottom=bottom, label=c)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax2.set_xlabel("offered load (Gb/s on the wire)")
    ax2.set_ylabel("% of CPU time")
    ax2.set_title("CPU time by context")
    ax2.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    for r in rows:
        print(f"{r[0]:>5g} Gb/s  offered {r[1]:8.1f} kpps  received {r[2]:8.1f} kpps  " +
              " ".join(f"{c} {r[3][c]:.0f}%" for c in CONTEXTS))


if __name__ == "__main__":
    main()
