#!/usr/bin/python3
"""Deterministic tree of small files for the cairn benchmark.

usage: gentree.py DIR TOTAL_BYTES [SEED]

Files are 1 KiB to 256 KiB (skewed towards small), in nested directories.
Content mix: prose-like text (compressible), log/CSV lines (very
compressible), random bytes (incompressible), and some exact or near
duplicates of earlier files. Same arguments -> same bytes, names and mtimes.
"""
import itertools
import os
import random
import sys

SYLL = ("ka lo mi ne ru sa ti vo ber dan el fi gor hal in jo kel lum mor nat or "
        "pra qu ris sel tor un ver wil xa yor zen ta ble tion ing ment ous ar ly").split()
MTIME = 1_700_000_000


def vocabulary(rng, n=3000):
    return ["".join(rng.choice(SYLL) for _ in range(rng.randint(1, 4))) for _ in range(n)]


def text_blob(rng, vocab, weights, size):
    out = []
    total = 0
    while total < size:
        line = " ".join(rng.choices(vocab, cum_weights=weights, k=rng.randint(4, 16)))
        out.append(line)
        total += len(line) + 1
    return ("\n".join(out) + "\n").encode()[:size]


def log_blob(rng, vocab, size):
    out = []
    total = 0
    t = rng.randint(1_600_000_000, 1_700_000_000)
    levels = ("INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR")
    while total < size:
        t += rng.randint(0, 3)
        line = "%d,%s,%s,%d,%.3f,%s" % (t, rng.choice(levels), rng.choice(vocab[:200]),
                                        rng.randint(0, 65535), rng.random() * 100,
                                        rng.choice(vocab[:50]))
        out.append(line)
        total += len(line) + 1
    return ("\n".join(out) + "\n").encode()[:size]


def file_size(rng):
    # 1 KiB .. 256 KiB, skewed: 2^(10 + 8 * u^1.9)
    return int(2 ** (10 + 8 * rng.random() ** 1.9))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    root, total = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 42
    rng = random.Random(seed)
    vocab = vocabulary(rng)
    weights = list(itertools.accumulate(1.0 / (i + 1) for i in range(len(vocab))))

    os.makedirs(root, exist_ok=True)
    dirs = [root]
    written = []          # paths of earlier files, for duplicates
    produced = 0
    nfiles = 0
    cur = root
    in_dir = 0
    while produced < total:
        # new directory every ~40 files, nested up to 4 deep
        if in_dir >= rng.randint(20, 60):
            parent = rng.choice(dirs)
            if parent.count(os.sep) - root.count(os.sep) >= 4:
                parent = root
            cur = os.path.join(parent, "d%04d_%s" % (len(dirs), rng.choice(vocab[:500])))
            os.makedirs(cur, exist_ok=True)
            dirs.append(cur)
            in_dir = 0
        size = file_size(rng)
        kind = rng.random()
        if kind < 0.40:
            data, ext = text_blob(rng, vocab, weights, size), "txt"
        elif kind < 0.60:
            data, ext = log_blob(rng, vocab, size), "csv"
        elif kind < 0.92 or not written:
            data, ext = rng.randbytes(size), "bin"
        elif kind < 0.96:
            with open(rng.choice(written), "rb") as f:       # exact duplicate
                data = f.read()
            ext = "dup"
        else:
            with open(rng.choice(written), "rb") as f:       # near duplicate
                data = bytearray(f.read())
            pos = rng.randrange(len(data))
            data[pos:pos + 16] = rng.randbytes(16)
            data = bytes(data)
            ext = "dup"
        path = os.path.join(cur, "f%06d.%s" % (nfiles, ext))
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (MTIME + nfiles, MTIME + nfiles))
        written.append(path)
        produced += len(data)
        nfiles += 1
        in_dir += 1
    for d in dirs:
        os.utime(d, (MTIME, MTIME))
    print("%d files, %d directories, %d bytes" % (nfiles, len(dirs), produced))


if __name__ == "__main__":
    main()
