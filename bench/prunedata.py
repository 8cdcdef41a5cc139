#!/usr/bin/python3
"""Deterministic snapshot streams for bench/prune.sh.

usage: prunedata.py [--positions B] [--snapshots N] [--seg-kib K]
                    [--seed SEED] [--keep K] (plan | stream S)

A snapshot is a stream of B segments of K KiB (default 1024).  Segment j
of snapshot 0 is version 0; each later snapshot rewrites some segments,
which then get a new version: a whole region of 16 segments with
probability 1/5 (as when a table is rewritten; leaves whole packs
unreferenced once older snapshots go), otherwise each segment with
probability 1/3 (scattered changes; leaves packs partly referenced, for
repacking).  The choices and the bytes of every (position, version) are
pseudo-random functions of SEED (SHAKE-256), so every run and every tool
sees the same bytes.

  plan      prints "key value" lines: segments per snapshot, unique
            segments over all N snapshots, and how many of them stay
            referenced by the last K snapshots (--keep, default 2)
  stream S  writes snapshot S (0-based) to stdout
"""
import argparse
import hashlib
import sys

REGION = 16


def h(seed, *parts):
    d = hashlib.blake2b("/".join([seed] + [str(p) for p in parts]).encode(),
                        digest_size=8).digest()
    return int.from_bytes(d, "little")


def versions(a):
    """versions[s][j]: version of position j in snapshot s."""
    cur = [0] * a.positions
    out = [list(cur)]
    for s in range(1, a.snapshots):
        for j in range(a.positions):
            if h(a.seed, "region", s, j // REGION) % 5 == 0 or \
               h(a.seed, "segment", s, j) % 3 == 0:
                cur[j] = s
        out.append(list(cur))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--positions", type=int, default=460)
    p.add_argument("--snapshots", type=int, default=4)
    p.add_argument("--seg-kib", type=int, default=1024)
    p.add_argument("--seed", default="cairn-prune-1")
    p.add_argument("--keep", type=int, default=2)
    p.add_argument("what", choices=["plan", "stream"])
    p.add_argument("snapshot", type=int, nargs="?")
    a = p.parse_args()
    v = versions(a)
    if a.what == "plan":
        every = {(j, x) for s in v for j, x in enumerate(s)}
        live = {(j, x) for s in v[len(v) - a.keep:] for j, x in enumerate(s)}
        print("segment_bytes", a.seg_kib * 1024)
        print("segments_per_snapshot", a.positions)
        print("unique_segments", len(every))
        print("live_segments", len(live))
        return
    if a.snapshot is None or not 0 <= a.snapshot < a.snapshots:
        p.error("stream needs a snapshot number 0..%d" % (a.snapshots - 1))
    out = sys.stdout.buffer
    for j, x in enumerate(v[a.snapshot]):
        out.write(hashlib.shake_256(("%s/data/%d/%d" % (a.seed, j, x))
                                    .encode()).digest(a.seg_kib * 1024))
    out.flush()


if __name__ == "__main__":
    main()
