#!/usr/bin/python3
"""Turn bench/run.sh's raw measurements into the markdown report.

usage: report.py META RAW

RAW is tab-separated, one row per timed step and run:
  run tool step ok wall_s user_s sys_s maxrss_kib input_bytes repo_bytes added_bytes note sync_s
wall_s already includes sync_s (the sync after a backup step, see SYNC_WALL).
Every figure in the report is the median over the runs that succeeded.
"""
import statistics
import sys

STEPS = [
    # key, label, which size to show
    ("first-dump", "first backup of dump 1 from stdin", "stored"),
    ("changed-dump", "backup of dump 2 (a day of changes) on top", "added"),
    ("row10k-dump", "backup of dump 3 (1 row in 10,000 changed) on top of dump 1", "added"),
    ("restore", "restore: dump latest (dump 2) to a file", None),
    ("check", "check --read-data (repo with dumps 1 and 2)", "repo"),
    ("tree", "first backup of the file tree", "stored"),
]
SIZE_LABEL = {"stored": "stored", "added": "added", "repo": "repo"}

TARGETS = [
    # label, step, metric, op, goal
    ("first backup of the dump, throughput", "first-dump", "mbps", ">=", 2.5),
    ("first backup stored size", "first-dump", "size", "<=", 1.02),
    ("changed dump throughput", "changed-dump", "mbps", ">=", 2.0),
    ("changed dump bytes added", "changed-dump", "size", "<=", 1.0),
    ("one-row-in-10,000 bytes added", "row10k-dump", "size", "<=", 0.25),
    ("restore (dump)", "restore", "mbps", ">=", 2.5),
    ("check --read-data", "check", "mbps", ">=", 3.0),
    ("peak RSS each step", "*", "rss", "<=", 0.5),
    ("file tree backup", "tree", "mbps", ">=", 2.0),
]


def fnum(x, nd=1):
    return "–" if x is None else f"{x:,.{nd}f}"


def mib(b):
    return None if b is None else b / 1048576


def ratio(a, b):
    if a is None or b is None:
        return None
    if b == 0:
        return 0.0 if a == 0 else float("inf")
    return a / b


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def read_meta(path):
    """The key<TAB>value lines of a meta.txt as a dict."""
    meta = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    return meta


def read_rows(path, ncols):
    """The rows of a raw.tsv, each padded to ncols fields."""
    rows = []
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            p += [""] * (ncols - len(p))
            rows.append(p)
    return rows


def fratio(r, nd=2):
    if r is None:
        return "–"
    if r == float("inf"):
        return "∞"
    return f"{r:.{nd}f}×"


def main():
    meta = read_meta(sys.argv[1])
    rows = read_rows(sys.argv[2], 13)
    tools = meta.get("tools", "cairn restic").split()

    # stats[(tool, step)] = dict of medians
    stats = {}
    for tool in tools:
        for key, _, sizekind in STEPS:
            mine = [r for r in rows if r[1] == tool and r[2] == key]
            ok = [r for r in mine if r[3] == "1"]
            notes = sorted({r[11] for r in mine if r[3] != "1" and r[11]})
            st = {"runs": len(mine), "ok": len(ok), "notes": notes}
            if ok:
                walls = [num(r[4]) for r in ok]
                st["wall"] = med(walls)
                st["mbps"] = med([num(r[8]) / 1e6 / w if w else None for r, w in zip(ok, walls)])
                st["cpu"] = med([(num(r[5]) or 0) + (num(r[6]) or 0) for r in ok])
                st["rss"] = med([mib(num(r[7]) * 1024) if num(r[7]) is not None else None for r in ok])
                col = {"stored": 9, "added": 10, "repo": 9}.get(sizekind)
                st["size"] = med([num(r[col]) for r in ok]) if col else None
            stats[(tool, key)] = st

    out = []
    w = out.append
    w(f"# cairn benchmark, {meta.get('date', '?')}")
    w("")
    if meta.get("mode", "").startswith("QUICK"):
        w("**QUICK mode: small data, smoke test only; not comparable with full runs.**")
        w("")
    w("| | |")
    w("|---|---|")
    for k, label in [("host", "host"), ("cpu", "CPU"), ("nproc", "nproc"), ("cores", "cores per tool"),
                     ("memory", "memory"), ("filesystem", "filesystem"), ("caches", "caches"),
                     ("sync_wall", "sync"),
                     ("runs", "runs per step (medians)"), ("mode", "data")]:
        w(f"| {label} | {meta.get(k, '?')} |")
    for t in tools:
        w(f"| {t} | {meta.get('version_' + t, '?')} |")
    w(f"| dump 1 / 2 / 3 | {int(meta['dump1']):,} / {int(meta['dump2']):,} / {int(meta['dump3']):,} bytes; "
      f"dump 1 `zstd -3` ratio {meta.get('zstd', '?')} |")
    w(f"| file tree | {int(meta['tree']):,} bytes in {meta.get('tree_files', '?')} files |")
    w("")
    w("MB/s = input bytes / 10^6 / wall seconds (backup steps: the sync after the step included, see 'sync'); CPU = user + sys seconds; RSS = peak resident set "
      "(`/usr/bin/time %M`); sizes are `du -sb` of the repository (stored = after the step, "
      "added = growth during the step).")
    w("")
    d1, d2, d3, tr = (int(meta[k]) for k in ("dump1", "dump2", "dump3", "tree"))
    inputs = {"first-dump": d1, "changed-dump": d2, "row10k-dump": d3, "restore": d2,
              "check": d1 + d2, "tree": tr}
    w("| step | tool | MB/s | CPU s | peak RSS MiB | size MiB | ok runs |")
    w("|---|---|---:|---:|---:|---:|---:|")
    for key, label, sizekind in STEPS:
        first = True
        for tool in tools:
            st = stats[(tool, key)]
            name = f"{label} ({inputs[key] / 1e6:,.0f} MB)" if first else ""
            first = False
            if st["ok"]:
                size = f"{SIZE_LABEL[sizekind]} {fnum(mib(st['size']), 2)}" if sizekind else "–"
                w(f"| {name} | {tool} | {fnum(st['mbps'])} | {fnum(st['cpu'], 2)} | {fnum(st['rss'])} | {size} "
                  f"| {st['ok']}/{st['runs']} |")
            else:
                why = "; ".join(st["notes"]) or "not run"
                w(f"| {name} | {tool} | FAILED | | | | 0/{st['runs']} ({why}) |")
        if "cairn" in tools and "restic" in tools:
            c, r = stats[("cairn", key)], stats[("restic", key)]
            if c["ok"] and r["ok"]:
                w(f"| | **cairn/restic** | {fratio(ratio(c['mbps'], r['mbps']))} | {fratio(ratio(c['cpu'], r['cpu']))} "
                  f"| {fratio(ratio(c['rss'], r['rss']))} | "
                  f"{fratio(ratio(c['size'], r['size'])) if sizekind else '–'} | |")
            else:
                w("| | **cairn/restic** | n/a | n/a | n/a | n/a | |")
    w("")

    w("## Targets (cairn / restic)")
    w("")
    w("| target | goal | cairn | restic | cairn/restic | status |")
    w("|---|---|---:|---:|---:|---|")
    unit = {"mbps": " MB/s", "size": " MiB", "rss": " MiB"}

    def fig(st, metric):
        if not st or not st["ok"]:
            return "–"
        v = mib(st[metric]) if metric == "size" else st[metric]
        return fnum(v, 2 if metric == "size" else 1) + unit[metric]

    for label, key, metric, op, goal in TARGETS:
        cf = rf = "–"
        if metric == "rss":
            rs, missing = [], []
            for k, _, _ in STEPS:
                c, r = stats.get(("cairn", k)), stats.get(("restic", k))
                if c and r and c["ok"] and r["ok"]:
                    rs.append((ratio(c["rss"], r["rss"]), k))
                else:
                    missing.append(k)
            if rs:
                worst, wk = max(rs)
                cf = fig(stats[("cairn", wk)], "rss") + f" ({wk})"
                rf = fig(stats[("restic", wk)], "rss")
                val = f"{fratio(worst, 3)} (worst step)"
                met = worst <= goal and not missing
                if missing:
                    val += f"; no figure for {', '.join(missing)}"
            else:
                val, met = "n/a", None
                rf = ", ".join(f"{k} {fig(stats.get(('restic', k)), 'rss')}" for k, _, _ in STEPS
                               if stats.get(("restic", k)))
        else:
            c, r = stats.get(("cairn", key)), stats.get(("restic", key))
            cf, rf = fig(c, metric), fig(r, metric)
            if c and r and c["ok"] and r["ok"]:
                rv = ratio(c[metric], r[metric])
                val = fratio(rv, 3)
                met = rv >= goal if op == ">=" else rv <= goal
            else:
                val, met = "n/a", None
        status = "met" if met else ("not met" if met is not None else "not met (no figure)")
        sym = "≥" if op == ">=" else "≤"
        w(f"| {label} | {sym} {goal:g}× | {cf} | {rf} | {val} | {status} |")
    w("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
