#!/usr/bin/env bash
# concurrent.sh: several writers into one repository at once, no lock.
# Four backups run at the same time (two of identical data, two of
# different data); all succeed, every snapshot restores byte for byte, and
# check is clean.  Identical data stored twice by racing writers is
# allowed (format.md 2) and costs only space.
source "$(dirname "$0")/lib/common.bash"

rc_is 0 init
python3 - "$T" <<'PY'
import os, random, sys
t = sys.argv[1]
rnd = random.Random(7)
for name in ("same", "a", "b"):
    d = os.path.join(t, "src-" + name)
    os.makedirs(d)
    seed = 1 if name == "same" else hash(name) & 0xffff
    r = random.Random(seed)
    for i in range(40):
        with open(os.path.join(d, "f%02d" % i), "wb") as f:
            f.write(r.randbytes(r.randint(1000, 400000)))
            f.write((("row %d " % i) * 20000).encode())
PY
cp -a "$T/src-same" "$T/src-same2"

pids=()
for src in src-same src-same2 src-a src-b; do
	"$CAIRN" -q backup "$T/$src" >"$T/$src.out" 2>"$T/$src.err" &
	pids+=($!)
done
# and a stream at the same time
head -c 20000000 /dev/urandom >"$T/stream.bin"
"$CAIRN" -q backup --stdin --stdin-filename s.bin <"$T/stream.bin" >"$T/stream.out" 2>"$T/stream.err" &
pids+=($!)
for p in "${pids[@]}"; do
	wait "$p" || { cat "$T"/*.err >&2; fail "a concurrent backup failed"; }
done

rc_is 0 snapshots --json
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT")
[[ $n == 5 ]] || fail "expected 5 snapshots, got $n"
rc_is 0 check --read-data

for src in src-same src-same2 src-a src-b; do
	id=$("$CAIRN" snapshots --json --path "$T/$src" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
	rc_is 0 restore "$id" --target "$T/r-$src"
	diff -r "$T/$src" "$T/r-$src$T/$src" >/dev/null || fail "restore of $src differs"
done
sid=$("$CAIRN" snapshots --json --path /s.bin | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
"$CAIRN" dump "$sid" /s.bin | cmp - "$T/stream.bin" || fail "stream differs"
note "5 concurrent writers: all snapshots restore, check clean"
