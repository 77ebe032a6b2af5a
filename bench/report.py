#!/usr/bin/env python3
"""Turns the raw files of bench/compare.sh into docs/benchmarks.md and docs/bench/ratios.svg.

Inputs (all in --dir, default docs/bench):
  raw.txt      one line per run: "<peer> <workload> N=.. ns_per_op=.. ... [rss_per_task_b=..]"
  machine.txt  "key: value" lines (date, nproc, kernel, load ...)
  scale.txt    goro-scale tables (optional)
  micro.txt    goro-micro console output (optional)
  gomicro.md   a hand-written rerun of Go's sync/context benchmarks, instead of gomicro.txt's
  net.md       the TCP echo comparison (bench/peers/net/run.sh), included verbatim (optional)
  shared.md    the shared-against-static comparison, included verbatim (optional)
  notes.md     hand-written analysis, included verbatim (optional)

Standard library only, so it runs wherever python3 does; the SVG is written by hand.
"""
import argparse
import math
import os
import re
import sys
from collections import defaultdict

PEERS = ["go", "go1", "fiber", "fiber1"]  # the reference runtimes
GORO = ["goro", "goro1"]
COLUMN = {
    "go": "go P=2",
    "go1": "go P=1",
    "fiber": "fiber ws 2T",
    "fiber1": "fiber rr 1T",
    "threads": "threads",
    "goro": "goro P=2",
    "goro1": "goro P=1",
}
ROWS = ["pingpong", "spsc", "mpmc", "fanin", "select2", "spawn", "idle", "sieve", "sieve@500",
        "workers", "timers"]
# Goal: goro's median ns_per_op at most GOAL_RATIO x the best peer's (min over PEERS).
GOAL_RATIO = 0.5
GOAL_ROWS = ["pingpong", "spsc", "mpmc", "fanin", "select2", "spawn", "sieve", "sieve@500",
             "workers"]
TIMERS_GOAL = 0.5  # goro's timers wall time vs Go's (P=2, Go's default)
IDLE_GOAL = 1.6  # goro's idle RSS bytes per goroutine vs Go's


def median(xs):
    """Lower median, as run.sh computes it, so the two tables agree."""
    xs = sorted(xs)
    return xs[(len(xs) - 1) // 2] if xs else None


def fields(path, least):
    """The whitespace-split lines of path with at least `least` fields (none if it is missing)."""
    if not os.path.exists(path):
        return
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= least:
                yield parts


def parse_raw(path):
    """{(row, peer): {"ns": [..], "rss": [..], "wall": [..], "n": N}}"""
    cells = defaultdict(lambda: {"ns": [], "rss": [], "wall": [], "n": None})
    for parts in fields(path, 3):
        peer, wl = parts[0], parts[1]
        kv = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
        if "ns_per_op" not in kv:
            continue
        n = int(kv["N"])
        row = "sieve@500" if wl == "sieve" and n == 500 else wl
        c = cells[(row, peer)]
        c["n"] = n
        c["ns"].append(float(kv["ns_per_op"]))
        if "rss_per_task_b" in kv:
            c["rss"].append(float(kv["rss_per_task_b"]))
        if "wall_ms" in kv:
            c["wall"].append(float(kv["wall_ms"]))
    return cells


def parse_machine(path):
    info = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if ":" in line:
                    k, v = line.split(":", 1)
                    info[k.strip()] = v.strip()
    return info


def parse_scale(path):
    """[(maxprocs, [(kind, n, ns, rss, maxrss_per_g, maxrss_kb), ...]), ...]"""
    blocks = []
    if not os.path.exists(path):
        return blocks
    with open(path) as f:
        for line in f:
            m = re.match(r"# goro-scale maxprocs=(\d+)", line)
            if m:
                blocks.append((int(m.group(1)), []))
                continue
            parts = line.split()
            if blocks and len(parts) >= 3 and parts[0] in ("spawn", "idle", "pingpong"):
                blocks[-1][1].append(tuple(parts[:6]) + ("",) * (6 - len(parts[:6])))
    return blocks


def fmt(x):
    if x is None:
        return "-"
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def fmt_ratio(r):
    if r is None:
        return "-"
    if r < 0.1:
        return f"{r:.2g}x"  # keep two significant digits of tiny ratios (0.0033x, not 0.00x)
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


def short(n):
    if n is None:
        return "-"
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


class Data:
    def __init__(self, cells):
        self.cells = cells
        self.peers = [p for p in PEERS + ["threads"] + GORO
                      if any(peer == p for (_, peer) in cells)]

    def ns(self, row, peer):
        c = self.cells.get((row, peer))
        return median(c["ns"]) if c else None

    def rss(self, peer):
        c = self.cells.get(("idle", peer))
        return median(c["rss"]) if c and c["rss"] else None

    def wall(self, peer):
        c = self.cells.get(("timers", peer))
        return median(c["wall"]) if c and c["wall"] else None

    def n(self, row, peer):
        c = self.cells.get((row, peer))
        return c["n"] if c else None

    def best_peer(self, row):
        vals = [(self.ns(row, p), p) for p in PEERS if self.ns(row, p) is not None]
        return min(vals) if vals else (None, None)

    def ratio(self, a, b):
        return a / b if a is not None and b not in (None, 0) else None


def results_table(d, out):
    rows = [r for r in ROWS if any(d.ns(r, p) is not None for p in d.peers)]
    head = ["workload", "N (go/fiber/goro)"] + [COLUMN[p] for p in d.peers]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * 2 + "---:|" * len(d.peers))
    for r in rows:
        ns_ = "/".join(short(d.n(r, p)) for p in ("go", "fiber", "goro"))
        cells = []
        best, _ = d.best_peer(r)
        for p in d.peers:
            v = d.ns(r, p)
            s = fmt(v)
            if p in PEERS and v is not None and v == best:
                s = f"*{s}*"  # the best peer, the yardstick of the ratios
            cells.append(s)
        out.append(f"| {r} | {ns_} | " + " | ".join(cells) + " |")
    if any(d.rss(p) is not None for p in d.peers):
        out.append("| idle | RSS B/task | " +
                   " | ".join(fmt(d.rss(p)) for p in d.peers) + " |")
    if any(d.wall(p) is not None for p in d.peers):
        out.append("| timers | wall ms (ideal 10) | " +
                   " | ".join("-" if d.wall(p) is None else f"{d.wall(p):.2f}"
                              for p in d.peers) + " |")


def ratio_table(d, out):
    head = ["workload", "best peer", "goro P=2 / best", "goro P=1 / best", "goro P=1 / go P=2",
            "goro P=1 / go P=1", "goro P=1 / fiber ws 2T", "goro P=1 / fiber rr 1T"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|---|---|" + "---:|" * (len(head) - 2))
    for r in ROWS:
        best, bp = d.best_peer(r)
        if best is None:
            continue
        g, g1 = d.ns(r, "goro"), d.ns(r, "goro1")
        cells = [r, f"{COLUMN[bp]} ({fmt(best)})", fmt_ratio(d.ratio(g, best)),
                 fmt_ratio(d.ratio(g1, best))]
        cells += [fmt_ratio(d.ratio(g1, d.ns(r, p))) for p in PEERS]
        out.append("| " + " | ".join(cells) + " |")


def goals(d):
    """[(label, ratio P=2, ratio P=1, goal, yardstick text)]"""
    res = []
    for r in GOAL_ROWS:
        best, bp = d.best_peer(r)
        if best is None:
            continue
        res.append((f"{r} ns/op", d.ratio(d.ns(r, "goro"), best),
                    d.ratio(d.ns(r, "goro1"), best), GOAL_RATIO, f"best peer, {COLUMN[bp]}"))
    if d.wall("go") is not None:
        res.append(("timers wall", d.ratio(d.wall("goro"), d.wall("go")),
                    d.ratio(d.wall("goro1"), d.wall("go")), TIMERS_GOAL, "Go P=2"))
    if d.rss("go") is not None:
        res.append(("idle B/goroutine", d.ratio(d.rss("goro"), d.rss("go")),
                    d.ratio(d.rss("goro1"), d.rss("go")), IDLE_GOAL, "Go P=2"))
    return res


def goal_table(d, out):
    out.append("| goal | yardstick | goro P=2 | goro P=1 | target | met (P=2, the default) |")
    out.append("|---|---|---:|---:|---:|---|")
    met = 0
    gl = goals(d)
    for label, r2, r1, goal, yard in gl:
        ok = r2 is not None and r2 <= goal
        met += ok
        note = "**met**" if ok else "not met"
        if not ok and r1 is not None and r1 <= goal:
            note += " (met at P=1)"
        out.append(f"| {label} | {yard} | {fmt_ratio(r2)} | {fmt_ratio(r1)} | "
                   f"≤ {goal}x | {note} |")
    out.append("")
    out.append(f"{met} of {len(gl)} goals met with the default worker count.")


# The OS boundary (bench/peers/README.md rows syscall, blocking, hog; Go and goro only) and its goals.
SYSCALL_GOAL = 0.25  # what goro adds to a raw getppid, over what Go adds
BLOCKING_GOAL = 1.0  # goro's blocking wall time vs Go's
HOG_GOAL = 0.5  # goro's hog wall time vs Go's
IDLE_CPU_GOAL = 1.0  # percent of one CPU, main sleeping 1 s


def parse_os(path):
    """{workload: [line fields as dicts]} from compare.sh's os.txt (syscall_raw, idle_cpu)."""
    res = defaultdict(list)
    for parts in fields(path, 3):
        res[parts[1]].append(dict(p.split("=", 1) for p in parts[2:] if "=" in p))
    return res


def os_section(d, osd, out):
    def wall(row, peer):
        c = d.cells.get((row, peer))
        return median(c["wall"]) if c and c["wall"] else None

    go_sys, goro_sys = d.ns("syscall", "go"), d.ns("syscall", "goro")
    raws = [float(x["ns_per_op"]) for x in osd.get("syscall_raw", []) if "ns_per_op" in x]
    raw = median(raws)
    idle = median([float(x["cpu_pct"]) for x in osd.get("idle_cpu", []) if "cpu_pct" in x])
    if go_sys is None and goro_sys is None:
        return
    out.append("## The OS boundary (syscall, blocking, hog)")
    out.append("")
    out.append("The three workloads of the OS boundary, Go and goro at their default "
               "processor counts (2 here), medians of the same runs as above; "
               "`syscall_raw` is goro-bench's floor for `syscall` (the same getppid calls "
               "from two plain threads, no runtime), run by bench/compare.sh in the same "
               "minutes, and `idle_cpu` the CPU a goro program burns while main sleeps 1 s.")
    out.append("")
    out.append("| workload | go | goro | floor |")
    out.append("|---|---:|---:|---:|")
    out.append(f"| syscall ns/op | {fmt(go_sys)} | {fmt(goro_sys)} | {fmt(raw)} (raw getppid) |")
    for row in ("blocking", "hog"):
        ideal = {"blocking": "10", "hog": "20"}[row]
        w_go, w_goro = wall(row, "go"), wall(row, "goro")
        out.append(f"| {row} wall ms | {fmt(w_go)} | {fmt(w_goro)} | {ideal} (ideal) |")
    if idle is not None:
        out.append(f"| idle CPU, % of one CPU | - | {idle:.2f} | - |")
    out.append("")
    out.append("| goal | measured | target | met |")
    out.append("|---|---:|---:|---|")

    def row(label, val, goal, text):
        ok = val is not None and val <= goal
        shown = "-" if val is None else text
        out.append(f"| {label} | {shown} | ≤ {goal:g}{'%' if 'CPU' in label else 'x'} | "
                   f"{'**met**' if ok else 'not met'} |")

    added = None
    if None not in (go_sys, goro_sys, raw) and go_sys > raw:
        added = max(goro_sys - raw, 0.0) / (go_sys - raw)
    row("syscall: what goro adds to raw getppid / what Go adds", added, SYSCALL_GOAL,
        fmt_ratio(added) + (f" ({goro_sys - raw:+.1f} vs {go_sys - raw:+.1f} ns)"
                            if added is not None else ""))
    for r, goal in (("blocking", BLOCKING_GOAL), ("hog", HOG_GOAL)):
        ratio = d.ratio(wall(r, "goro"), wall(r, "go"))
        row(f"{r}: goro wall / Go wall", ratio, goal, fmt_ratio(ratio))
    row("idle CPU (main sleeping 1 s)", idle, IDLE_CPU_GOAL,
        "-" if idle is None else f"{idle:.2f}%")
    out.append("")


# Go's sync and context benchmarks beside goro-micro's ports (compare.sh MICRO=1: gomicro.txt).
GO_MICRO = [  # (label, Go benchmark name, goro-micro name, Go's ns/op in issue #16 or None)
    ("RWMutexUncontended", "BenchmarkRWMutexUncontended", "BM_go_RWMutexUncontended", 13.3),
    ("MutexUncontended", "BenchmarkMutexUncontended", "BM_go_MutexUncontended", None),
    ("Once", "BenchmarkOnce", "BM_go_Once", 0.74),
    ("Cond32", "BenchmarkCond32", "BM_go_Cond32", 8100),
    ("CancelTree depth=10", "BenchmarkCancelTree/depth=10/Root=Background",
     "BM_go_CancelTree/10", None),
    ("CancelTree depth=100", "BenchmarkCancelTree/depth=100/Root=Background",
     "BM_go_CancelTree/100", 55000),
    ("CancelTree depth=1000", "BenchmarkCancelTree/depth=1000/Root=Background",
     "BM_go_CancelTree/1000", None),
    ("ContextCancelDone", "BenchmarkContextCancelDone", "BM_go_ContextCancelDone", 5.0),
    ("WithTimeout concurrency=40", "BenchmarkWithTimeout/concurrency=40", "BM_go_WithTimeout",
     None),
]
UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def parse_gomicro(path):
    """{(peer, name): [ns/op, ...]}: Go's `-bench` lines and goro-micro's rows."""
    res = defaultdict(list)
    for parts in fields(path, 4):
        peer, name = parts[0], parts[1]
        if peer == "go" and "ns/op" in parts:
            name = re.sub(r"-\d+$", "", name)  # the GOMAXPROCS suffix
            res[(peer, name)].append(float(parts[parts.index("ns/op") - 1]))
        elif peer == "goro" and parts[3] in UNIT_NS:
            name = re.sub(r"/real_time$", "", name)
            res[(peer, name)].append(float(parts[2]) * UNIT_NS[parts[3]])
    return res


def gomicro_section(gm, out):
    if not gm:
        return
    out.append("## Go's sync and context benchmarks beside goro's (goro-micro `BM_go_*`)")
    out.append("")
    out.append("Go's own benchmarks (`go test -run XXX -bench . sync context`, GOMAXPROCS=2) "
               "and goro-micro's ports of them (GORO_MAXPROCS=2), three alternating runs "
               "each, medians; ns/op is Go's definition, wall time over all operations "
               "(`b.RunParallel`), for both.")
    out.append("")
    out.append("| benchmark | Go ns/op | goro ns/op | goro / Go | Go in issue #16 |")
    out.append("|---|---:|---:|---:|---:|")
    for label, gname, rname, quoted in GO_MICRO:
        g, r = median(gm.get(("go", gname), [])), median(gm.get(("goro", rname), []))
        ratio = r / g if g and r is not None else None
        q = "-" if quoted is None else fmt(quoted)
        out.append(f"| {label} | {fmt(g)} | {fmt(r)} | {fmt_ratio(ratio)} | {q} |")
    out.append("")


def svg_chart(d, path):
    """Horizontal bars, log scale: goro/yardstick per goal row, at P=2 and P=1."""
    gl = goals(d)
    if not gl:
        return
    vals = [v for _, r2, r1, g, _ in gl for v in (r2, r1, g) if v]
    steps = [m * 10.0 ** k for k in range(-4, 5) for m in (1, 2, 5)]  # 1-2-5 grid lines
    lo = max(s for s in steps if s <= min(vals) / 1.2)
    hi = min(s for s in steps if s >= max(vals + [2.0]) * 1.2)
    left, right, top, row_h, bar_h = 170, 30, 50, 34, 12
    width = 760
    plot_w = width - left - right
    height = top + row_h * len(gl) + 75

    def x(v):
        return left + plot_w * (math.log10(v) - math.log10(lo)) / (
            math.log10(hi) - math.log10(lo))

    e = []
    e.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">')
    e.append(f'<rect width="{width}" height="{height}" fill="white"/>')
    e.append(f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14" '
             f'font-weight="bold">goro / yardstick (log scale, lower is better)</text>')
    bottom = top + row_h * len(gl)
    for v in steps:
        if lo <= v <= hi:
            xx = x(v)
            decade = abs(math.log10(v) - round(math.log10(v))) < 1e-9
            e.append(f'<line x1="{xx:.1f}" y1="{top - 5}" x2="{xx:.1f}" y2="{bottom}" '
                     f'stroke="{"#999" if decade else "#ddd"}" stroke-width="1"/>')
            e.append(f'<text x="{xx:.1f}" y="{bottom + 15}" text-anchor="middle" '
                     f'fill="#444">{v:g}x</text>')
    xx = x(1)
    e.append(f'<line x1="{xx:.1f}" y1="{top - 5}" x2="{xx:.1f}" y2="{bottom}" stroke="black" '
             f'stroke-width="1.5"/>')
    for i, (label, r2, r1, goal, yard) in enumerate(gl):
        y0 = top + i * row_h
        e.append(f'<text x="{left - 8}" y="{y0 + row_h / 2 + 4}" text-anchor="end">'
                 f'{label}</text>')
        xg = x(goal)
        e.append(f'<line x1="{xg:.1f}" y1="{y0 + 1}" x2="{xg:.1f}" y2="{y0 + row_h - 3}" '
                 f'stroke="#d62728" stroke-width="2.5"/>')
        for k, (v, color) in enumerate(((r2, "#1f77b4"), (r1, "#9ecae1"))):
            if not v:
                continue
            yb = y0 + 4 + k * (bar_h + 2)
            x0, x1 = x(lo), x(min(max(v, lo), hi))
            e.append(f'<rect x="{x0:.1f}" y="{yb}" width="{max(x1 - x0, 1):.1f}" '
                     f'height="{bar_h}" fill="{color}" fill-opacity="0.9"><title>{label} '
                     f'P={2 - k}: {v:.2f}x vs {yard}</title></rect>')
            e.append(f'<text x="{x1 + 4:.1f}" y="{yb + bar_h - 2}" font-size="10">'
                     f'{v:.2f}</text>')
    ly = bottom + 35
    legend = (("#1f77b4", "goro P=2 (default)"), ("#9ecae1", "goro P=1"),
              ("#d62728", "goal"))
    lx = left
    for color, text in legend:
        e.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{color}"/>')
        e.append(f'<text x="{lx + 16}" y="{ly}">{text}</text>')
        lx += 170
    e.append(f'<text x="{left}" y="{ly + 20}" fill="#444" font-size="11">ns/op vs the best '
             f'peer (Go or Boost.Fiber, 1 or 2 threads); timers wall time and idle RSS vs Go '
             f'P=2</text>')
    e.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(e) + "\n")


def scale_svg(blocks, path):
    """Three small log-log panels: ns per spawn, RSS bytes per idle goroutine, ns per round trip
    against the number of goroutines (pairs), one line per worker count."""
    panels = [("spawn", 2, "ns per spawn"), ("idle", 3, "RSS bytes per idle goroutine"),
              ("pingpong", 2, "ns per round trip vs pairs")]
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    pw, ph, pad_l, pad_t, gap = 250, 180, 55, 40, 30
    width = pad_l + len(panels) * (pw + gap + pad_l) - pad_l
    height = pad_t + ph + 70
    e = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
         f'<rect width="{width}" height="{height}" fill="white"/>']

    def num(v):
        try:
            return float(v)
        except ValueError:
            return None

    for k, (kind, col, title) in enumerate(panels):
        series = []
        for procs, rows in blocks:
            pts = [(num(r[1]), num(r[col])) for r in rows if r[0] == kind]
            pts = [(a, b) for a, b in pts if a and b and b > 0]
            if pts:
                series.append((procs, pts))
        x0 = pad_l + k * (pw + gap + pad_l)
        e.append(f'<text x="{x0 + pw / 2}" y="{pad_t - 15}" text-anchor="middle" '
                 f'font-weight="bold">{title}</text>')
        e.append(f'<rect x="{x0}" y="{pad_t}" width="{pw}" height="{ph}" fill="none" '
                 f'stroke="#999"/>')
        if not series:
            continue
        xs = [a for _, pts in series for a, _ in pts]
        ys = [b for _, pts in series for _, b in pts]
        lx0, lx1 = math.log10(min(xs)), math.log10(max(xs))
        ly0, ly1 = math.log10(min(ys) / 1.3), math.log10(max(ys) * 1.3)
        lx1 = lx1 if lx1 > lx0 else lx0 + 1
        ly1 = ly1 if ly1 > ly0 else ly0 + 1

        def px(a, x0=x0, lx0=lx0, lx1=lx1):
            return x0 + pw * (math.log10(a) - lx0) / (lx1 - lx0)

        def py(b, ly0=ly0, ly1=ly1):
            return pad_t + ph - ph * (math.log10(b) - ly0) / (ly1 - ly0)

        for a in sorted(set(xs)):
            e.append(f'<text x="{px(a):.1f}" y="{pad_t + ph + 14}" text-anchor="middle" '
                     f'fill="#444" font-size="9">{short(int(a))}</text>')
        for frac in (0, 0.5, 1):
            b = 10 ** (ly0 + frac * (ly1 - ly0))
            e.append(f'<text x="{x0 - 4}" y="{py(b) + 3:.1f}" text-anchor="end" fill="#444" '
                     f'font-size="9">{b:.0f}</text>')
        for i, (procs, pts) in enumerate(series):
            c = colors[i % len(colors)]
            d = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in pts)
            e.append(f'<polyline points="{d}" fill="none" stroke="{c}" stroke-width="2"/>')
            for a, b in pts:
                e.append(f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}" r="3" fill="{c}">'
                         f'<title>{kind} n={int(a)} P={procs}: {b:g}</title></circle>')
    lx = pad_l
    for i, (procs, _) in enumerate(blocks):
        c = colors[i % len(colors)]
        e.append(f'<rect x="{lx}" y="{pad_t + ph + 35}" width="12" height="12" fill="{c}"/>')
        e.append(f'<text x="{lx + 16}" y="{pad_t + ph + 45}">goro P={procs}</text>')
        lx += 120
    e.append(f'<text x="{lx}" y="{pad_t + ph + 45}" fill="#444">x: goroutines (pairs for '
             f'ping-pong), log scale; y: log scale</text>')
    e.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(e) + "\n")


def scale_section(blocks, out, svg_path=None, svg_rel=None):
    if not blocks:
        return
    out.append("## Scale curves (goro-scale)")
    out.append("")
    out.append("Each row is a fresh process (stacks are pooled, so a second point in one "
               "process would reuse memory). `spawn`: N goroutines spawned at once, each does "
               "`wg.done()`; ns per spawn. `idle`: N goroutines parked on one channel; RSS "
               "growth per goroutine from `/proc/self/statm` once all have started "
               "(`rss_per_g_b`) and peak-RSS growth as in the peers' idle "
               "(`maxrss_per_g_b`); ns per goroutine life. `pingpong`: n concurrent pairs "
               "share 1M round trips; ns per round trip.")
    out.append("")
    procs = [p for p, _ in blocks]
    by = {p: {(r[0], r[1]): r for r in rows} for p, rows in blocks}
    keys = []
    for _, rows in blocks:
        for r in rows:
            if (r[0], r[1]) not in keys:
                keys.append((r[0], r[1]))
    head = ["kind", "n"]
    for p in procs:
        head += [f"ns/op P={p}", f"RSS B/g P={p}", f"peak B/g P={p}"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|---|---:|" + "---:|" * (len(head) - 2))
    for k in keys:
        cells = [k[0], k[1]]
        for p in procs:
            r = by[p].get(k)
            if r is None:
                cells += ["-"] * 3
            else:
                cells += [r[2], r[3] if k[0] == "idle" else "", r[4] if k[0] == "idle" else ""]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    if svg_path:
        scale_svg(blocks, svg_path)
        out.append(f"![goro scale curves]({svg_rel})")
        out.append("")


def include_md(path, out):
    """Appends the hand-written markdown file at path, if there is one; says whether it was."""
    if not os.path.exists(path):
        return False
    with open(path) as f:
        out.append(f.read().rstrip("\n"))
    out.append("")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--dir", default=os.path.join(here, "..", "docs", "bench"))
    ap.add_argument("--out", default=os.path.join(here, "..", "docs", "benchmarks.md"))
    ap.add_argument("--svg", default=None, help="default: DIR/ratios.svg")
    a = ap.parse_args()
    svg = a.svg or os.path.join(a.dir, "ratios.svg")
    raw = os.path.join(a.dir, "raw.txt")
    if not os.path.exists(raw):
        sys.exit(f"report.py: {raw} not found (run bench/compare.sh first)")
    d = Data(parse_raw(raw))
    info = parse_machine(os.path.join(a.dir, "machine.txt"))
    svg_rel = os.path.relpath(svg, os.path.dirname(os.path.abspath(a.out)))

    out = []
    out.append("# Benchmarks")
    out.append("")
    out.append("<!-- Generated by bench/report.py from docs/bench/*.txt; edit "
               "docs/bench/notes.md or the script, not this file. -->")
    out.append("")
    out.append("goro runs the ten workloads of its peer benchmarks "
               "([bench/peers](../bench/peers/README.md): Go and Boost.Fiber, in this "
               "repository) through the same C++ workload code as the Boost.Fiber peer "
               "(`bench/goro_bench.cpp` plugs goro into `bench/peers/cpp/workloads.hpp`), with "
               "the same CLI, output line and result checks. Every cell is the median `ns_per_op` of "
               f"{info.get('reps', '?')} runs, each a separate process; lower is better. "
               "All columns come from one invocation of `bench/compare.sh`.")
    out.append("")
    out.append("Reproduce: `bench/compare.sh [BUILD_DIR]` (about 10 minutes with REPS=5), "
               "then this page is regenerated by `bench/report.py`.")
    out.append("")
    out.append("## Machine")
    out.append("")
    for k in ("date", "nproc", "cpu", "mem", "kernel", "compiler", "go", "goro", "reps",
              "load before", "load after peers", "load after scale"):
        if k in info:
            out.append(f"- {k}: {info[k]}")
    out.append("")
    loads = []
    for k in ("load before", "load after peers", "load after scale"):
        try:
            loads.append(float(info[k].split()[0]))
        except (KeyError, ValueError, IndexError):
            pass
    try:
        cores = int(info.get("nproc", "0"))
    except ValueError:
        cores = 0
    if loads and cores and max(loads) > cores:
        out.append(f"**Caution: this run shared the machine.** The 1-minute load average was "
                   f"{', '.join(f'{x:g}' for x in loads)} on {cores} cores, so every process "
                   "waited for a CPU. Absolute times are inflated for every column (compare "
                   "with a run taken on an idle machine), the "
                   "2-thread columns most; only ratios within a row mean something, and even "
                   "those are noisy. Rerun `bench/compare.sh` on an idle machine before "
                   "quoting a number.")
        out.append("")
    out.append("Columns: `go P=2` is Go with GOMAXPROCS unset (2 here), `go P=1` GOMAXPROCS=1, "
               "`fiber ws 2T` Boost.Fiber work_stealing on 2 threads, `fiber rr 1T` "
               "round_robin on 1 thread, `goro P=2` goro with default options (2 workers), "
               "`goro P=1` GORO_MAXPROCS=1. The N column gives the N used by Go, Boost.Fiber "
               "and goro (goro runs Go's N). The best peer of each row is in *italics*.")
    out.append("")
    out.append("## Median ns per op")
    out.append("")
    results_table(d, out)
    out.append("")
    out.append("## Ratios")
    out.append("")
    out.append("Best peer = the fastest of go P=2, go P=1, fiber ws 2T, fiber rr 1T for that "
               "row. Below 1x goro is faster.")
    out.append("")
    ratio_table(d, out)
    out.append("")
    out.append("## Goals")
    out.append("")
    goal_table(d, out)
    out.append("")
    svg_chart(d, svg)
    out.append(f"![goro / yardstick per goal]({svg_rel})")
    out.append("")
    os_section(d, parse_os(os.path.join(a.dir, "os.txt")), out)
    # gomicro.md, where present, is a later rerun of that comparison written up by hand; it
    # stands instead of the section generated from gomicro.txt.
    if not include_md(os.path.join(a.dir, "gomicro.md"), out):
        gomicro_section(parse_gomicro(os.path.join(a.dir, "gomicro.txt")), out)
    # Hand-written sections measured by other scripts (bench/peers/net/run.sh, the shared
    # build's goro-micro), included verbatim.
    for extra in ("net.md", "shared.md"):
        include_md(os.path.join(a.dir, extra), out)
    scale_svg_path = os.path.join(os.path.dirname(os.path.abspath(svg)), "scale.svg")
    scale_section(parse_scale(os.path.join(a.dir, "scale.txt")), out, scale_svg_path,
                  os.path.relpath(scale_svg_path, os.path.dirname(os.path.abspath(a.out))))
    micro = os.path.join(a.dir, "micro.txt")
    if os.path.exists(micro):
        out.append("## Micro benchmarks (goro-micro)")
        out.append("")
        out.append("```")
        with open(micro) as f:
            out.extend(line.rstrip("\n") for line in f)
        out.append("```")
        out.append("")
    include_md(os.path.join(a.dir, "notes.md"), out)
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
