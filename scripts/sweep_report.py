#!/usr/bin/python3
"""Draws the report of a nicsim sweep from its results.csv, and from nothing else.

Usage (Debian python3-matplotlib): /usr/bin/python3 scripts/sweep_report.py DIR

Writes DIR/report.html, DIR/plots/*.png and DIR/plots/figures.json. The HTML and every
PNG's metadata name the CSV and its sha256; figures.json lists, for each figure, the CSV
columns and rows behind every plotted series, so a reader (or a test) can check a plot
against the CSV it claims to show. `nicsim sweep` runs this after a sweep; `nicsim report
DIR` runs it again.

Exit status: 0 drawn, 2 no usable results.csv, 3 matplotlib missing.
"""
import csv
import hashlib
import html
import json
import math
import os
import sys

FIRST_RESULT_COLUMN = "sim_time_ns"  # results.csv: point, id, grid keys..., sim_time_ns, ...
CONTEXTS = ["user", "system", "hardirq", "softirq", "ksoftirqd", "idle"]
SHORT = {
    "nic.coalesce.rx_usecs": "rx-usecs",
    "nic.coalesce.rx_frames": "rx-frames",
    "nic.rx_ring_size": "rx",
    "traffic.rate_gbps": "rate",
    "traffic.frame_bytes": "frame",
    "traffic.pattern": "pattern",
    "traffic.burst_frames": "burst",
    "host.napi": "napi",
    "host.napi_weight": "weight",
    "host.netdev_budget": "budget",
    "host.cpus": "cpus",
    "sim.duration_us": "duration",
    "sim.seed": "seed",
}
AXIS_LABEL = {
    "nic.coalesce.rx_usecs": "rx-usecs (ethtool -C)",
    "nic.coalesce.rx_frames": "rx-frames (ethtool -C)",
    "nic.rx_ring_size": "RX ring size (ethtool -G rx)",
    "traffic.rate_gbps": "offered load (Gb/s on the wire)",
    "traffic.burst_frames": "burst length (frames)",
}
RATE, RX_USECS, RX_FRAMES, RING = ("traffic.rate_gbps", "nic.coalesce.rx_usecs",
                                   "nic.coalesce.rx_frames", "nic.rx_ring_size")


def short(key):
    return SHORT.get(key, key)


def number(text):
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.replace(tmp, path)


def cpu_ns_total(row):
    """CPU time available in a run: cpu_ns counts every CPU, as /proc/stat's cpu line does."""
    return (number(row["sim_time_ns"]) or 1) * (number(row.get("host.cpus")) or 1)


def shared_label(names):
    """'10/0', '10/8', '10/32' -> '10/0,8,32'; '50/8', '100/8' -> '50,100/8'."""
    parts = [n.split("/") for n in names]
    if len(names) == 1 or len(parts[0]) < 2 or any(len(p) != len(parts[0]) for p in parts):
        return ", ".join(names)
    if all(p[:-1] == parts[0][:-1] for p in parts):
        return "/".join(parts[0][:-1]) + "/" + ",".join(p[-1] for p in parts)
    if all(p[1:] == parts[0][1:] for p in parts):
        return ",".join(p[0] for p in parts) + "/" + "/".join(parts[0][1:])
    return ", ".join(names)


class Sweep:
    def __init__(self, csv_path):
        with open(csv_path, "rb") as f:
            raw = f.read()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        reader = csv.reader(raw.decode().splitlines())
        self.header = next(reader, None)
        if not self.header or FIRST_RESULT_COLUMN not in self.header or self.header[:2] != ["point", "id"]:
            raise ValueError(f"{csv_path}: not a nicsim results.csv")
        self.grid = self.header[2:self.header.index(FIRST_RESULT_COLUMN)]
        self.rows = [dict(zip(self.header, r)) for r in reader if r]
        self.numeric = [k for k in self.grid
                        if self.rows and all(number(r[k]) is not None for r in self.rows)]

    def values(self, key):
        seen = []
        for r in self.rows:
            if r[key] not in seen:
                seen.append(r[key])
        return seen

    def varying(self):
        return [k for k in self.grid if len(self.values(k)) > 1]

    def groups(self, x_key):
        """Rows split by the values of every other varying grid key, each sorted by x."""
        others = [k for k in self.varying() if k != x_key]
        out = {}
        for r in self.rows:
            out.setdefault(tuple(r[k] for k in others), []).append(r)
        result = []
        for vals, rows in out.items():
            label = " ".join(f"{short(k)}={v}" for k, v in zip(others, vals))
            result.append((label, sorted(rows, key=lambda r: number(r[x_key]))))
        return result


class Report:
    def __init__(self, out_dir, sweep, plt):
        self.dir = out_dir
        self.sweep = sweep
        self.plt = plt
        self.figures = []
        os.makedirs(os.path.join(out_dir, "plots"), exist_ok=True)

    def save(self, fig, name, title, caption, series):
        rel = f"plots/{name}.png"
        path = os.path.join(self.dir, rel)
        fig.tight_layout()
        tmp = path + ".tmp"
        fig.savefig(tmp, dpi=100, format="png", metadata={
            "Title": title, "Source": f"results.csv sha256:{self.sweep.sha256}",
            "Software": "nicsim scripts/sweep_report.py"})
        self.plt.close(fig)
        os.replace(tmp, path)
        self.figures.append({"file": rel, "title": title, "caption": caption, "csv": "results.csv",
                             "csv_sha256": self.sweep.sha256, "series": series})

    def line_series(self, ax, x_key, y_col, label_suffix="", style="o-", factor=1.0, colors=None,
                    x_col=None):
        """One line per combination of the other grid keys; x from x_col (default: the grid key)."""
        x_col = x_col or x_key
        series = []
        for i, (label, rows) in enumerate(self.sweep.groups(x_key)):
            pts = [(number(r[x_col]), number(r[y_col]), int(r["point"])) for r in rows]
            pts = sorted((p for p in pts if p[0] is not None and p[1] is not None), key=lambda p: p[0])
            if not pts:
                continue
            name = (label + label_suffix).strip() or y_col
            color = colors[i % len(colors)] if colors else None
            ax.plot([p[0] for p in pts], [p[1] * factor for p in pts], style, label=name, color=color)
            series.append({"label": name, "x_column": x_col, "y_column": y_col, "y_factor": factor,
                           "points": [p[2] for p in pts], "x": [p[0] for p in pts],
                           "y": [p[1] * factor for p in pts]})
        return series

    def x_scale(self, ax, key):
        xs = [number(v) for v in self.sweep.values(key)]
        if xs and min(xs) > 0 and max(xs) / min(xs) >= 50:
            ax.set_xscale("log", base=2 if key == RING else 10)
            if len(xs) <= 12:  # the grid's own values as ticks, not powers
                ax.set_xticks(xs)
                ax.set_xticklabels(self.sweep.values(key))
                ax.minorticks_off()

    def legend(self, ax):
        handles, _ = ax.get_legend_handles_labels()
        if len(handles) > 1:
            ax.legend(fontsize=8, loc="best")

    def delivered_vs_offered(self):
        fig, ax = self.plt.subplots(figsize=(7.5, 4.8))
        offered = [number(r["offered_kpps"]) for r in self.sweep.rows if number(r["offered_kpps"]) is not None]
        top = max(offered) if offered else 1
        ax.plot([0, top], [0, top], "--", color="grey", label="offered")
        # x is the load actually put on the wire, which differs from the knob when frame size varies.
        series = self.line_series(ax, RATE, "delivered_kpps", x_col="offered_kpps")
        ax.set_xlabel("offered load (kpps on the wire)")
        ax.set_ylabel("delivered to the application (kpps)")
        ax.set_title("Delivered vs offered load")
        self.legend(ax)
        self.save(fig, "delivered_vs_offered", "Delivered vs offered load",
                  "Messages read by the application per second against frames offered on the wire; "
                  "the dashed line is full delivery.", series)

    def latency_vs_rx_usecs(self):
        fig, ax = self.plt.subplots(figsize=(7.5, 4.8))
        colors = self.plt.rcParams["axes.prop_cycle"].by_key()["color"]
        series = self.line_series(ax, RX_USECS, "latency_ns.p50", " p50", "o-", 1e-3, colors)
        series += self.line_series(ax, RX_USECS, "latency_ns.p99", " p99", "s--", 1e-3, colors)
        ax.set_xlabel(AXIS_LABEL[RX_USECS])
        ax.set_ylabel("wire to recvfrom latency (us)")
        ax.set_title("Latency vs rx-usecs (solid p50, dashed p99)")
        self.legend(ax)
        self.save(fig, "latency_vs_rx_usecs", "Latency vs rx-usecs",
                  "p50 (solid) and p99 (dashed) of the time from a frame's first bit on the wire to the "
                  "return of recvfrom.", series)

    def drops_vs_ring(self):
        fig, ax = self.plt.subplots(figsize=(7.5, 4.8))
        series = self.line_series(ax, RING, "drops")
        self.x_scale(ax, RING)
        ax.set_xlabel(AXIS_LABEL[RING])
        ax.set_ylabel("frames dropped")
        ax.set_title("Drops vs ring size")
        self.legend(ax)
        self.save(fig, "drops_vs_ring", "Drops vs ring size",
                  "Frames dropped anywhere (NIC rx_missed, socket RcvbufErrors, backlog) per run.", series)

    def primary_key(self):
        for k in (RATE, RX_USECS, RING, RX_FRAMES):
            if k in self.sweep.numeric and k in self.sweep.varying():
                return k
        for k in self.sweep.varying():
            if k in self.sweep.numeric:
                return k
        return None

    def interrupts(self):
        key = self.primary_key()
        if key is None:
            return
        fig, ax = self.plt.subplots(figsize=(7.5, 4.8))
        series = self.line_series(ax, key, "interrupts_per_s")
        self.x_scale(ax, key)
        ax.set_xlabel(AXIS_LABEL.get(key, key))
        ax.set_ylabel("NIC interrupts per second")
        ax.set_title("Interrupts per second")
        self.legend(ax)
        self.save(fig, "interrupts_per_s", "Interrupts per second",
                  "MSIs the NIC sent per simulated second (/proc/interrupts eth0).", series)

    def cpu_by_context(self):
        rows = self.sweep.rows
        varying = self.sweep.varying()
        labels = [" ".join(f"{short(k)}={r[k]}" for k in varying) or r["id"] for r in rows]
        width = min(24, max(7.5, 0.32 * len(rows) + 2.5))
        fig, ax = self.plt.subplots(figsize=(width, 5.2))
        bottom = [0.0] * len(rows)
        series = []
        for c in CONTEXTS:
            col = f"host.cpu_ns.{c}"
            vals = [100.0 * (number(r[col]) or 0) / cpu_ns_total(r) for r in rows]
            ax.bar(range(len(rows)), vals, bottom=bottom, label=c)
            bottom = [b + v for b, v in zip(bottom, vals)]
            series.append({"label": c, "y_column": col, "y_factor": 100.0,
                           "y_per_columns": ["sim_time_ns", "host.cpus"],
                           "points": [int(r["point"]) for r in rows], "y": vals})
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, rotation=90, fontsize=max(5, min(8, 400 // max(1, len(rows)))))
        ax.set_ylabel("% of CPU time (all CPUs)")
        ax.set_ylim(0, 100)
        ax.set_title("CPU time by context (/proc/stat)")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
        self.save(fig, "cpu_by_context", "CPU time by context",
                  "Where the CPU time went in each run, summed over CPUs: user (the reader), system "
                  "(syscalls), hardirq, softirq at irq_exit, ksoftirqd, idle.", series)

    def tradeoff(self):
        rows = [r for r in self.sweep.rows
                if number(r["interrupts_per_s"]) is not None and number(r["latency_ns.p99"]) is not None]
        if not rows:
            return
        keys = [k for k in (RX_USECS, RX_FRAMES) if k in self.sweep.varying()]
        others = [k for k in self.sweep.varying() if k not in keys]
        fig, ax = self.plt.subplots(figsize=(7.5, 5.2))
        busy = [100.0 - 100.0 * (number(r["host.cpu_ns.idle"]) or 0) / cpu_ns_total(r) for r in rows]
        xs = [number(r["interrupts_per_s"]) for r in rows]
        ys = [number(r["latency_ns.p99"]) * 1e-3 for r in rows]
        sc = ax.scatter(xs, ys, c=busy, cmap="viridis", s=40, vmin=0, vmax=100)
        at = {}  # runs that land on the same spot share one label
        for r, x, y in zip(rows, xs, ys):
            at.setdefault((x, y), []).append("/".join(r[k] for k in keys + others))
        for (x, y), names in at.items():
            ax.annotate(shared_label(names), (x, y), fontsize=7, xytext=(4, 3), textcoords="offset points")
        if min(xs) > 0:
            ax.set_xscale("log")
        ax.margins(x=0.12, y=0.08)
        fig.colorbar(sc, ax=ax, label="CPU busy (% not idle)")
        ax.set_xlabel("NIC interrupts per second")
        ax.set_ylabel("p99 latency (us)")
        ax.set_title("Coalescing trade-off: labels " + "/".join(short(k) for k in keys + others))
        self.save(fig, "tradeoff", "Coalescing trade-off",
                  "Each run's interrupt rate against its p99 latency, coloured by the share of CPU time "
                  "not idle.", [{"label": "runs", "x_column": "interrupts_per_s",
                                 "y_column": "latency_ns.p99", "y_factor": 1e-3,
                                 "points": [int(r["point"]) for r in rows], "x": xs, "y": ys}])

    def draw(self):
        varying = self.sweep.varying()
        if not self.sweep.rows:
            return
        if RATE in varying:
            self.delivered_vs_offered()
        if RX_USECS in varying:
            self.latency_vs_rx_usecs()
        if RING in varying:
            self.drops_vs_ring()
        self.interrupts()
        self.cpu_by_context()
        if RX_USECS in varying or RX_FRAMES in varying:
            self.tradeoff()

    def html(self, title, failed):
        s = self.sweep
        e = html.escape
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
                 "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
                 "figure{margin:2em 0}img{max-width:100%}table{border-collapse:collapse;font-size:12px}"
                 "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}code{font-size:90%}</style>"
                 "</head><body>", f"<h1>{e(title)}</h1>",
                 f"<p>Every plot below is drawn from <a href='results.csv'><code>results.csv</code></a> "
                 f"(<code>{e(os.path.abspath(os.path.join(self.dir, 'results.csv')))}</code>), "
                 f"sha256 <code id='csv-sha256'>{s.sha256}</code>, {len(s.rows)} rows. "
                 "<code>plots/figures.json</code> lists the CSV rows behind each plotted series.</p>",
                 "<ul>"]
        for k in s.grid:
            parts.append(f"<li><code>{e(k)}</code> ({e(short(k))}): {e(', '.join(s.values(k)))}</li>")
        parts.append("</ul>")
        if failed:
            parts.append(f"<p><b>{len(failed)} point(s) failed</b> and have no row; their output is in "
                         + ", ".join(f"<code>points/{e(f)}</code>" for f in failed) + ".</p>")
        for f in self.figures:
            parts.append(f"<figure><img src='{e(f['file'])}' alt='{e(f['title'])}'>"
                         f"<figcaption>{e(f['caption'])}</figcaption></figure>")
        parts.append(f"<details><summary>results.csv ({len(s.rows)} rows)</summary><table><tr>")
        parts += [f"<th>{e(h)}</th>" for h in s.header]
        parts.append("</tr>")
        for r in s.rows[:2000]:
            parts.append("<tr>" + "".join(f"<td>{e(r[h])}</td>" for h in s.header) + "</tr>")
        parts.append("</table></details></body></html>\n")
        return "".join(parts)


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out_dir = sys.argv[1]
    csv_path = os.path.join(out_dir, "results.csv")
    try:
        sweep = Sweep(csv_path)
    except (OSError, ValueError) as e:
        print(f"sweep_report: {e}", file=sys.stderr)
        return 2
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"sweep_report: matplotlib is missing for {sys.executable} "
              "(Debian: apt-get install python3-matplotlib)", file=sys.stderr)
        return 3
    title = "nicsim sweep"
    try:
        with open(os.path.join(out_dir, "sweep.json")) as f:
            title = json.load(f).get("title") or title
    except (OSError, ValueError):
        pass
    points = os.path.join(out_dir, "points")
    failed = sorted(n for n in os.listdir(points) if n.endswith(".err")) if os.path.isdir(points) else []
    report = Report(out_dir, sweep, plt)
    report.draw()
    write_atomic(os.path.join(out_dir, "plots", "figures.json"),
                 json.dumps({"csv": "results.csv", "csv_sha256": sweep.sha256, "figures": report.figures},
                            indent=1) + "\n")
    write_atomic(os.path.join(out_dir, "report.html"), report.html(title, failed))
    print(f"sweep_report: {os.path.join(out_dir, 'report.html')} ({len(report.figures)} plots from "
          f"{len(sweep.rows)} rows of results.csv)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
