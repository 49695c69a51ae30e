#!/usr/bin/python3
"""Draws the report of a nicsim sweep from its results.csv, and from nothing else.

Usage (Debian python3-matplotlib): /usr/bin/python3 scripts/sweep_report.py DIR

Writes DIR/report.html, DIR/plots/*.png and DIR/plots/figures.json. With a `seed` column
(nicsim sweep --seeds K) each point is drawn as the mean over its seeds with min-max error bars.
The choice the study is run for (sweep.choose in its scenario, stored in DIR/sweep.json) is
circled in the plots and named in the HTML. The HTML and every
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
    "traffic.frame_bytes": "frame size (bytes on the wire; TCP: a full segment carries frame - 70)",
    "link.delay_ns": "one-way link delay (ns)",
}
SEED = "seed"  # the column of nicsim sweep --seeds K
BUSY = "cpu_busy_pct"  # derived: the share of CPU time not idle (sweep.choose may name it)
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p"]
LINESTYLES = ["-", "--", "-.", ":"]
UNITS = {"latency_ns": (1e-3, "us"), BUSY: (1.0, "%")}
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
    """results.csv. With a `seed` column (nicsim sweep --seeds K) `runs` holds every row and
    `rows` one row per point: each numeric column the mean over its seeds, `_runs` the rows."""

    def __init__(self, csv_path):
        with open(csv_path, "rb") as f:
            raw = f.read()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        reader = csv.reader(raw.decode().splitlines())
        self.header = next(reader, None)
        if not self.header or FIRST_RESULT_COLUMN not in self.header or self.header[:2] != ["point", "id"]:
            raise ValueError(f"{csv_path}: not a nicsim results.csv")
        keys = self.header[2:self.header.index(FIRST_RESULT_COLUMN)]
        self.seeded = SEED in keys
        self.grid = [k for k in keys if k != SEED]
        self.runs = [dict(zip(self.header, r)) for r in reader if r]
        self.rows = self.aggregate() if self.seeded else [dict(r, _runs=[r]) for r in self.runs]
        self.seeds = max((len(r["_runs"]) for r in self.rows), default=0)
        self.numeric = [k for k in self.grid
                        if self.rows and all(number(r[k]) is not None for r in self.rows)]

    def aggregate(self):
        by_point = {}
        for r in self.runs:
            by_point.setdefault(tuple(r[k] for k in self.grid), []).append(r)
        rows = []
        for runs in by_point.values():
            row = dict(runs[0], _runs=runs)
            for c in self.header[self.header.index(FIRST_RESULT_COLUMN):]:
                vs = [number(r[c]) for r in runs]
                if all(v is not None for v in vs):
                    row[c] = repr(sum(vs) / len(vs))
            rows.append(row)
        return rows

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


def stats(row, col, factor=1.0):
    """Mean, min and max of a column over a point's runs (its seeds), times factor; None if not numeric."""
    vs = [derived(r, col) for r in row["_runs"]]
    if not vs or any(v is None for v in vs):
        return None
    return sum(vs) / len(vs) * factor, min(vs) * factor, max(vs) * factor


def derived(row, col):
    if col == BUSY:
        idle = number(row.get("host.cpu_ns.idle"))
        return None if idle is None else 100.0 - 100.0 * idle / cpu_ns_total(row)
    return number(row.get(col))


def point_ids(row):
    return [int(r["point"]) for r in row["_runs"]]


class Report:
    def __init__(self, out_dir, sweep, plt, choose=None):
        self.dir = out_dir
        self.sweep = sweep
        self.plt = plt
        self.figures = []
        self.choose = choose
        self.chosen = self.choice() if choose else []
        self.marked_axes = []
        os.makedirs(os.path.join(out_dir, "plots"), exist_ok=True)

    def spread_note(self):
        if self.sweep.seeded:
            return (f" Each point is the mean over its {self.sweep.seeds} seeds (sim.seed); the error "
                    "bars span their minimum to maximum.")
        return ""

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
        self.figures.append({"file": rel, "title": title, "caption": caption + self.spread_note(),
                             "csv": "results.csv", "csv_sha256": self.sweep.sha256, "series": series})

    # ---- the choice a study is run for (sweep.choose in its scenario)

    def choice(self):
        """The rows sweep.choose picks: among those meeting every `where` limit (on the mean over
        seeds), the lowest `minimize`, first in point order on a tie; one per value of `per`."""
        ops = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
               "<": lambda a, b: a < b, ">": lambda a, b: a > b}
        where = self.choose.get("where", [])
        per = self.choose.get("per")
        best = {}
        for r in self.sweep.rows:
            ok = True
            for w in where:
                st = stats(r, w["column"])
                ok = ok and st is not None and ops[w["op"]](st[0], w["value"])
            v = stats(r, self.choose["minimize"])
            if not ok or v is None:
                continue
            key = r[per] if per else ""
            if key not in best or v[0] < best[key][0]:
                best[key] = (v[0], r)
        return [r for _, r in best.values()]

    def choice_rule(self):
        c = self.choose
        if c.get("label"):
            return c["label"]
        return f"lowest {c['minimize']}" + (
            " where " + ", ".join(self.limit_text(w) for w in c.get("where", [])) if c.get("where") else "")

    def limit_text(self, w):
        col = w["column"]
        factor, unit = UNITS.get(col.split(".")[0], (1.0, ""))
        return f"{col} {w['op']} {w['value'] * factor:g}{(' ' + unit) if unit else ''}"

    def choice_text(self, r):
        c = self.choose
        parts = [" ".join(f"{short(k)}={r[k]}" for k in self.sweep.varying() if k != c.get("per"))]
        for col in [c["minimize"]] + [w["column"] for w in c.get("where", [])]:
            factor, unit = UNITS.get(col.split(".")[0], (1.0, ""))
            v = stats(r, col, factor)
            if v is not None and col not in self.sweep.grid:
                parts.append(f"{col} {v[0]:.4g}{(' ' + unit) if unit else ''}")
        head = f"{short(c['per'])}={r[c['per']]}: " if c.get("per") else ""
        return head + ", ".join(p for p in parts if p)

    def mark_choice(self, ax, x_col, y_col, factor, rows_xy):
        """Circles the chosen points among rows_xy [(row, x, y)] and draws the limit on y_col."""
        if not self.choose:
            return
        for w in self.choose.get("where", []):
            if w["column"] == y_col:
                ax.axhline(w["value"] * factor, color="red", linestyle=":", linewidth=1.2,
                           label="target: " + self.limit_text(w))
        # Circled where the plot shows what the choice is about: a limited or minimised column.
        about = [self.choose["minimize"]] + [w["column"] for w in self.choose.get("where", [])]
        if x_col not in about and y_col not in about:
            return
        chosen = [(x, y) for r, x, y in rows_xy if any(r is c for c in self.chosen)]
        again = any(ax is a for a in self.marked_axes)  # a second series on the same axes: no new legend
        self.marked_axes.append(ax)
        if chosen:
            ax.plot([p[0] for p in chosen], [p[1] for p in chosen], "o", markersize=17, markerfacecolor="none",
                    markeredgecolor="red", markeredgewidth=2, linestyle="none",
                    label="_nolegend_" if again else "choice: " + self.choice_rule(), zorder=5)

    # ---- series

    def line_series(self, ax, x_key, y_col, label_suffix="", linestyle=None, factor=1.0, x_col=None,
                    group_offset=0):
        """One line per combination of the other grid keys; x from x_col (default: the grid key).
        Each line has its own marker (hollow, a size smaller than the one before, so lines that
        coincide stay visible) and, unless given, its own line style."""
        x_col = x_col or x_key
        series, marked = [], []
        colors = self.plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, (label, rows) in enumerate(self.sweep.groups(x_key)):
            pts = [(stats(r, x_col), stats(r, y_col, factor), r) for r in rows]
            pts = sorted((p for p in pts if p[0] is not None and p[1] is not None), key=lambda p: p[0][0])
            if not pts:
                continue
            name = (label + label_suffix).strip() or y_col
            g = i + group_offset
            xs, ys = [p[0][0] for p in pts], [p[1][0] for p in pts]
            style = dict(color=colors[i % len(colors)], marker=MARKERS[i % len(MARKERS)],
                         markersize=9 - 1.5 * (i % 4), markerfacecolor="none", markeredgewidth=1.4,
                         linestyle=linestyle or LINESTYLES[g % len(LINESTYLES)], label=name)
            if self.sweep.seeded:
                ax.errorbar(xs, ys, yerr=[[y - p[1][1] for y, p in zip(ys, pts)],
                                          [p[1][2] - y for y, p in zip(ys, pts)]], capsize=3, **style)
            else:
                ax.plot(xs, ys, **style)
            entry = {"label": name, "x_column": x_col, "y_column": y_col, "y_factor": factor,
                     "points": [point_ids(p[2]) if self.sweep.seeded else point_ids(p[2])[0] for p in pts],
                     "x": xs, "y": ys}
            if self.sweep.seeded:
                entry.update(y_min=[p[1][1] for p in pts], y_max=[p[1][2] for p in pts],
                             aggregate="mean over seeds; y_min and y_max over seeds")
            series.append(entry)
            marked += [(p[2], x, y) for p, x, y in zip(pts, xs, ys)]
        self.mark_choice(ax, x_col, y_col, factor, marked)
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
        title = f"mean of {self.sweep.seeds} seeds, bars min-max" if self.sweep.seeded else None
        if len(handles) > 1 or title:
            ax.legend(fontsize=8, loc="best", title=title, title_fontsize=8)

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

    def latency_vs(self, key, name, what):
        fig, ax = self.plt.subplots(figsize=(7.5, 4.8))
        series = self.line_series(ax, key, "latency_ns.p50", " p50", "-", 1e-3)
        series += self.line_series(ax, key, "latency_ns.p99", " p99", "--", 1e-3)
        self.x_scale(ax, key)
        ax.set_xlabel(AXIS_LABEL.get(key, key))
        ax.set_ylabel("wire to recvfrom latency (us)")
        ax.set_title(f"Latency vs {what} (solid p50, dashed p99)")
        self.legend(ax)
        self.save(fig, name, f"Latency vs {what}",
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
            per_run = [[100.0 * (number(x[col]) or 0) / cpu_ns_total(x) for x in r["_runs"]] for r in rows]
            vals = [sum(v) / len(v) for v in per_run]
            ax.bar(range(len(rows)), vals, bottom=bottom, label=c)
            bottom = [b + v for b, v in zip(bottom, vals)]
            entry = {"label": c, "y_column": col, "y_factor": 100.0, "y_per_columns": ["sim_time_ns", "host.cpus"],
                     "points": [point_ids(r) if self.sweep.seeded else point_ids(r)[0] for r in rows], "y": vals}
            if self.sweep.seeded:
                entry.update(y_min=[min(v) for v in per_run], y_max=[max(v) for v in per_run],
                             aggregate="mean over seeds; y_min and y_max over seeds")
            series.append(entry)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(labels, rotation=90, fontsize=max(5, min(8, 400 // max(1, len(rows)))))
        ax.set_ylabel("% of CPU time (all CPUs)")
        ax.set_ylim(0, 100)
        ax.set_title("CPU time by context (/proc/stat)")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
        note = (f" Bars are means over {self.sweep.seeds} seeds; figures.json has each context's "
                "minimum and maximum." if self.sweep.seeded else "")
        self.save(fig, "cpu_by_context", "CPU time by context",
                  "Where the CPU time went in each run, summed over CPUs: user (the reader), system "
                  "(syscalls), hardirq, softirq at irq_exit, ksoftirqd, idle." + note, series)

    def place_labels(self, fig, ax, pts, texts):
        """Labels next to their points, each at the first of several offsets where it overlaps
        no label placed before it and no other point (greedy, in display coordinates)."""
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        disp = [ax.transData.transform(p) for p in pts]
        placed = []
        offsets = [(5, 4), (5, -11), (-5, 4), (-5, -11), (6, -3), (-6, -3), (0, 8), (0, -15),
                   (14, 12), (14, -20), (-14, 12), (-14, -20), (24, -3), (-24, -3)]
        for (x, y), text in zip(pts, texts):
            best = None
            for ox, oy in offsets:
                ann = ax.annotate(text, (x, y), xytext=(ox, oy), textcoords="offset points", fontsize=7,
                                  ha="left" if ox >= 0 else "right",
                                  bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.75))
                box = ann.get_window_extent(renderer).expanded(1.03, 1.1)
                hits = sum(box.overlaps(b) for b in placed) + sum(
                    box.contains(px, py) for px, py in disp)
                if best is None or hits < best[0]:
                    if best is not None:
                        best[1].remove()
                    best = (hits, ann, box)
                else:
                    ann.remove()
                if hits == 0:
                    break
            placed.append(best[2])

    def tradeoff(self):
        rows = [r for r in self.sweep.rows
                if stats(r, "interrupts_per_s") is not None and stats(r, "latency_ns.p99") is not None]
        if not rows:
            return
        keys = [k for k in (RX_USECS, RX_FRAMES) if k in self.sweep.varying()]
        others = [k for k in self.sweep.varying() if k not in keys]
        fig, ax = self.plt.subplots(figsize=(8.5, 5.6))
        busy = [stats(r, BUSY)[0] for r in rows]
        xs = [stats(r, "interrupts_per_s")[0] for r in rows]
        ys = [stats(r, "latency_ns.p99", 1e-3)[0] for r in rows]
        lo, hi = min(busy), max(busy)
        if hi - lo < 1:
            lo, hi = lo - 0.5, hi + 0.5
        if self.sweep.seeded:
            ax.errorbar(xs, ys, yerr=[[y - stats(r, "latency_ns.p99", 1e-3)[1] for r, y in zip(rows, ys)],
                                      [stats(r, "latency_ns.p99", 1e-3)[2] - y for r, y in zip(rows, ys)]],
                        xerr=[[x - stats(r, "interrupts_per_s")[1] for r, x in zip(rows, xs)],
                              [stats(r, "interrupts_per_s")[2] - x for r, x in zip(rows, xs)]],
                        fmt="none", ecolor="grey", capsize=2, zorder=1)
        # The colour scale spans the data, so that the differences between runs show.
        sc = ax.scatter(xs, ys, c=busy, cmap="viridis", s=45, vmin=lo, vmax=hi, zorder=2,
                        edgecolors="black", linewidths=0.4)
        at = {}  # runs that land on the same spot share one label
        for r, x, y in zip(rows, xs, ys):
            at.setdefault((x, y), []).append("/".join(r[k] for k in keys + others))
        if min(xs) > 0:
            ax.set_xscale("log")
        ax.margins(x=0.15, y=0.1)
        self.mark_choice(ax, "interrupts_per_s", "latency_ns.p99", 1e-3, list(zip(rows, xs, ys)))
        fig.colorbar(sc, ax=ax, label="CPU busy (% not idle)")
        ax.set_xlabel("NIC interrupts per second")
        ax.set_ylabel("p99 latency (us)")
        ax.set_title("Coalescing trade-off: labels " + "/".join(short(k) for k in keys + others))
        self.legend(ax)
        self.place_labels(fig, ax, list(at.keys()), [shared_label(n) for n in at.values()])
        entry = {"label": "runs", "x_column": "interrupts_per_s", "y_column": "latency_ns.p99", "y_factor": 1e-3,
                 "points": [point_ids(r) if self.sweep.seeded else point_ids(r)[0] for r in rows],
                 "x": xs, "y": ys}
        if self.sweep.seeded:
            entry.update(y_min=[stats(r, "latency_ns.p99", 1e-3)[1] for r in rows],
                         y_max=[stats(r, "latency_ns.p99", 1e-3)[2] for r in rows],
                         aggregate="mean over seeds; y_min and y_max over seeds")
        self.save(fig, "tradeoff", "Coalescing trade-off",
                  "Each run's interrupt rate against its p99 latency, coloured by the share of CPU time "
                  "not idle (the colour scale spans the runs' range).", [entry])

    def is_tcp(self):
        return any(number(r.get("partner.tcp.srtt_us")) is not None for r in self.sweep.rows)

    def tcp_vs(self, key, col, name, ylabel, what, caption, factor=1.0):
        fig, ax = self.plt.subplots(figsize=(7.5, 4.8))
        series = self.line_series(ax, key, col, factor=factor)
        self.x_scale(ax, key)
        ax.set_xlabel(AXIS_LABEL.get(key, key))
        ax.set_ylabel(ylabel)
        ax.set_title(f"{what} vs {short(key)}")
        self.legend(ax)
        self.save(fig, f"{name}_vs_{short(key).replace('.', '_')}", f"{what} vs {short(key)}", caption, series)

    def tcp(self):
        numeric = [k for k in self.sweep.varying() if k in self.sweep.numeric]
        for key in numeric:  # each numeric grid key on x in turn, the others as lines
            self.tcp_vs(key, "goodput_gbps", "goodput", "goodput (Gb/s read by the application)", "Goodput",
                        "Bytes the application read per second of simulated time, times 8.")
            self.tcp_vs(key, "cpu_ns_per_kib", "cpu_per_kib", "host CPU per KiB read (ns)", "CPU per KiB",
                        "Busy host CPU time (user, system, hardirq, softirq, ksoftirqd; every CPU) per KiB "
                        "the application read.")
            self.tcp_vs(key, "partner.tcp.retrans_segs", "retransmissions", "segments retransmitted",
                        "Retransmissions", "Segments the partner's TCP sender retransmitted (fast "
                        "retransmit, RACK, tail loss probes, RTO).")
            self.tcp_vs(key, "partner.tcp.srtt_us", "srtt", "smoothed RTT at the sender (us)", "RTT",
                        "The partner's srtt at the end of the run: the link's round trip plus the time "
                        "the host's ring, moderation, softirq and delayed ACKs add.")

    def draw(self):
        varying = self.sweep.varying()
        if not self.sweep.rows:
            return
        if self.is_tcp():
            self.tcp()
            self.cpu_by_context()
            return
        if RATE in varying:
            self.delivered_vs_offered()
        if RX_USECS in varying:
            self.latency_vs(RX_USECS, "latency_vs_rx_usecs", "rx-usecs")
        if RING in varying:
            self.drops_vs_ring()
            self.latency_vs(RING, "latency_vs_ring", "ring size")
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
        if s.seeded:
            parts.append(f"<p>Every point ran with {s.seeds} seeds (the <code>seed</code> column): plots show "
                         "the mean over them, with error bars from the minimum to the maximum.</p>")
        if self.choose:
            what = e(self.choice_rule())
            if self.chosen:
                parts.append(f"<p id='choice'><b>The choice</b> ({what}, circled in red in the plots): "
                             + "; ".join(e(self.choice_text(r)) for r in self.chosen) + ".</p>")
            else:
                parts.append(f"<p id='choice'><b>The choice</b> ({what}): no point meets the limits.</p>")
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
    title, choose = "nicsim sweep", None
    try:
        with open(os.path.join(out_dir, "sweep.json")) as f:
            description = json.load(f)
        title = description.get("title") or title
        choose = description.get("choose")  # the scenario's sweep.choose: the setting to mark
    except (OSError, ValueError, AttributeError):
        pass
    points = os.path.join(out_dir, "points")
    failed = sorted(n for n in os.listdir(points) if n.endswith(".err")) if os.path.isdir(points) else []
    report = Report(out_dir, sweep, plt, choose)
    report.draw()
    figures = {"csv": "results.csv", "csv_sha256": sweep.sha256, "figures": report.figures}
    if choose:
        figures["choice"] = {"rule": choose, "points": [point_ids(r) for r in report.chosen],
                             "text": [report.choice_text(r) for r in report.chosen]}
    write_atomic(os.path.join(out_dir, "plots", "figures.json"), json.dumps(figures, indent=1) + "\n")
    write_atomic(os.path.join(out_dir, "report.html"), report.html(title, failed))
    print(f"sweep_report: {os.path.join(out_dir, 'report.html')} ({len(report.figures)} plots from "
          f"{len(sweep.rows)} rows of results.csv)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
