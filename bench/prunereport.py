#!/usr/bin/python3
"""Turn bench/prune.sh's measurements into the markdown report.

usage: prunereport.py META RAW FACTS

RAW is tab-separated, one row per timed step and run (run is "prep" for
the preparation of the repositories):
  run tool step ok wall_s user_s sys_s peak_kib work_kib data_before data_after note
work_kib is the peak RSS after the key derivation (bench/rsswatch.c).
FACTS: run tool key value (sizes of data/, blob counts).
Every figure is the median over the runs that succeeded.
"""
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from report import (fnum, fratio, med, mib, num, ratio,  # noqa: E402
                    read_meta, read_rows)

STEPS = [
    ("open", "snapshots (opening the repository)"),
    ("forget-dry", "forget --dry-run --keep-last 2"),
    ("forget", "forget --keep-last 2"),
    ("stats", "stats"),
    ("check-before", "check, before prune"),
    ("prune", "prune (mark and repack; restic: prune)"),
    ("check-mid", "check, after the first prune"),
    ("prune-delete", "prune 25 h later (deletes the candidates)"),
    ("check-after", "check, after prune"),
    ("stats-after", "stats, after prune"),
    ("check-read-data", "check --read-data, after prune (run 1)"),
]
# cairn/restic pairs: label, cairn steps, restic steps (summed)
PAIRS = [
    ("open", ["open"], ["open"]),
    ("forget --dry-run", ["forget-dry"], ["forget-dry"]),
    ("forget", ["forget"], ["forget"]),
    ("stats", ["stats"], ["stats"]),
    ("check", ["check-before"], ["check-before"]),
    ("prune (cairn: both runs)", ["prune", "prune-delete"], ["prune"]),
]


class Bench:
    def __init__(self, rows, facts):
        self.rows, self.facts = rows, facts

    def step(self, tool, name):
        """Medians over the successful runs of one step; failed counts
        the runs that ran and failed (not the skipped ones)."""
        mine = [r for r in self.rows if r[1] == tool and r[2] == name]
        ok = [r for r in mine if r[3] == "1"]
        kib = [(num(r[7]), num(r[8])) for r in ok]
        return {
            "n": len(mine), "ok": len(ok),
            "failed": len([r for r in mine if r[3] != "1" and r[4]]),
            "notes": sorted({r[11] for r in mine if r[11]}),
            "wall": med(num(r[4]) for r in ok),
            "cpu": med((num(r[5]) or 0) + (num(r[6]) or 0) for r in ok),
            "peak": med(None if p is None else p / 1024 for p, _ in kib),
            "work": med(None if w is None else w / 1024 for _, w in kib),
            "delta": med(num(r[10]) - num(r[9]) for r in ok
                         if num(r[9]) is not None and num(r[10]) is not None),
        }

    def fact(self, tool, key):
        return med(num(f[3]) for f in self.facts if f[1] == tool and f[2] == key)

    def steps(self, tool, names):
        """The steps summed (times) and maxed (memory), or None."""
        ss = [self.step(tool, n) for n in names]
        if any(s["wall"] is None for s in ss):
            return None
        return {"wall": sum(s["wall"] for s in ss),
                "cpu": sum(s["cpu"] or 0 for s in ss),
                "peak": max(s["peak"] for s in ss),
                "work": max(s["work"] for s in ss)}


def header(meta):
    print(f"# Prune benchmark, {meta.get('date', '')}\n")
    for k in ("mode", "runs", "host", "cpu", "cores", "memory", "caches",
              "filesystem", "plan", "chunks", "prune_args"):
        print(f"- {k}: {meta.get(k, '')}")
    for t in meta.get("tools", "").split():
        print(f"- {t}: {meta.get('version_' + t, '')}")
    print(f"- data: {meta.get('segments_per_snapshot', '?')} segments of "
          f"{fnum(mib(num(meta.get('segment_bytes', ''))), 0)} MiB per "
          f"snapshot, 4 snapshots, {meta.get('unique_segments', '?')} unique "
          f"segments, {meta.get('live_segments', '?')} still referenced "
          "after forget")
    print()
    print("Every figure is the median of the runs that succeeded. Peak RSS "
          "is the whole process; work RSS is the peak after the key "
          "derivation (cairn's Argon2id takes 256 MiB first; restic has "
          "none, so both are the same). Δ data/ is the change of `du -sb "
          "data/` during the step.\n")


def size(b):
    return f"{fnum(b, 0)} bytes ({fnum(mib(b))} MiB)"


def tool_section(b, rows, t):
    print(f"## {t}\n")
    print("| step | ok runs | wall s | CPU s | peak RSS MiB | work RSS MiB "
          "| Δ data/ MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    prep = sorted({r[2] for r in rows if r[0] == "prep" and r[1] == t})
    labels = [(p, "preparation: " + p.replace("-", " of snapshot "))
              for p in prep] + STEPS
    for name, label in labels:
        s = b.step(t, name)
        if not s["n"]:
            continue
        okc = f"{s['ok']}/{s['n']}"
        if s["notes"]:
            okc += f" ({'; '.join(s['notes'])})"
        print(f"| {label} | {okc} | {fnum(s['wall'], 2)} | "
              f"{fnum(s['cpu'], 2)} | {fnum(s['peak'])} | "
              f"{fnum(s['work'])} | {fnum(mib(s['delta']), 2)} |")
    print()
    bad = [n for n, _ in STEPS
           if n.startswith("check") and b.step(t, n)["failed"]]
    if bad:
        print(f"**{t} check FAILED ({', '.join(bad)}): the repository was "
              "damaged; the figures below do not count.**\n")
    before, after = b.fact(t, "data-before"), b.fact(t, "data-after")
    gone = None if before is None or after is None else before - after
    blobs = b.fact(t, "after-forget-index_blob_count")
    print(f"- data/ after forget: {size(before)}")
    if t == "cairn":
        print("- data/ after the first prune (mark and repack): "
              f"{size(b.fact(t, 'data-after-mark'))}")
        print(f"- first prune: marked {fnum(b.fact(t, 'mark-marked_packs'), 0)}"
              f" packs ({fnum(mib(b.fact(t, 'mark-marked_size')))} MiB), "
              f"repacked {fnum(b.fact(t, 'mark-repacked_packs'), 0)} packs "
              f"({fnum(b.fact(t, 'mark-repacked_blobs'), 0)} blobs, wrote "
              f"{fnum(mib(b.fact(t, 'mark-repack_written')))} MiB); second "
              f"prune: deleted {fnum(b.fact(t, 'delete-deleted_packs'), 0)} "
              f"packs ({fnum(mib(b.fact(t, 'delete-deleted_size')))} MiB)")
    print(f"- data/ after prune: {size(after)}; reclaimed {size(gone)}")
    print(f"- blobs in the index after forget: {fnum(blobs, 0)}; referenced "
          "by the kept snapshots: "
          f"{fnum(b.fact(t, 'after-forget-total_blob_count'), 0)}; in the "
          f"index after prune: "
          f"{fnum(b.fact(t, 'after-prune-index_blob_count'), 0)}")
    if t != "cairn" or not blobs:
        print()
        return
    base = b.step(t, "open")["work"]
    for name in ("prune", "prune-delete", "stats", "check-before"):
        s = b.step(t, name)
        if s["work"] is None:
            continue
        extra = "" if base is None else (
            f", above opening the repository ({fnum(base)} MiB): "
            f"{fnum((s['work'] - base) * 1048576 / blobs)} B/blob")
        print(f"- {name}: work RSS per blob "
              f"{fnum(s['work'] * 1048576 / blobs)} B{extra}; peak RSS per "
              f"blob {fnum(s['peak'] * 1048576 / blobs)} B")
    print()


def ratios(b):
    print("## cairn / restic\n")
    print("Same bytes, not the same blob count: restic's chunker (512 KiB "
          ".. 8 MiB) cuts the data into about a thousand times fewer "
          "blobs.\n")
    print("| step | wall | CPU | peak RSS | work RSS |")
    print("|---|---:|---:|---:|---:|")
    for label, cn, rn in PAIRS:
        c, r = b.steps("cairn", cn), b.steps("restic", rn)
        if c is None or r is None:
            print(f"| {label} | – | – | – | – |")
            continue
        print(f"| {label} | " + " | ".join(
            fratio(ratio(c[k], r[k])) for k in ("wall", "cpu", "peak", "work"))
            + " |")
    print()


def main():
    meta = read_meta(sys.argv[1])
    rows = read_rows(sys.argv[2], 12)
    with open(sys.argv[3]) as f:
        facts = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    tools = meta.get("tools", "cairn").split()
    b = Bench(rows, facts)
    header(meta)
    for t in tools:
        tool_section(b, rows, t)
    if "cairn" in tools and "restic" in tools:
        ratios(b)
    elif "restic" not in tools:
        print("restic was not run (not installed, or not in TOOLS): no comparison.\n")


if __name__ == "__main__":
    main()
