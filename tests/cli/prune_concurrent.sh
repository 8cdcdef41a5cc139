#!/usr/bin/env bash
# prune_concurrent.sh: backups racing forget + prune, no lock.  Two writer
# loops back up, each round, a tree whose files change (new files often
# repeat the content of earlier rounds, whose snapshots may have been
# forgotten and their packs recorded for deletion) and a stream built from
# blocks of earlier rounds.  A third loop runs `forget --keep-last 3
# --group-by host` and `prune`, moving the fake wall clock shared by all
# processes 13 hours ahead before each prune, so that every second prune
# sweeps what the one before the last recorded (grace 24h).
#
# A writer may fail only with the documented conflict error, and then
# leaves no snapshot (a stream is then backed up again at once, as the
# message says); prune and forget never fail.  At the end check
# --read-data is clean and every remaining snapshot restores byte for
# byte what its writer backed up (a manifest: snapshot id -> SHA-256 of
# the stream, or of the tree's paths and contents).
#
# CAIRN_CONCURRENT_SECONDS (default 120) is how long the loops run;
# CAIRN_TEST_SEED replays the choices of content.
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/prune.bash"

SECS=${CAIRN_CONCURRENT_SECONDS:-120}
SEED=${CAIRN_TEST_SEED:-$(date +%s)}
note "seed $SEED (set CAIRN_TEST_SEED to replay), $SECS s"
CONFLICT='a concurrent prune removed data this operation needs; run it again'

prune_test_init
END=$(($(date +%s) + SECS))

# TREE_DIGEST_PY DIR: SHA-256 over the sorted relative paths and the
# SHA-256 of each file's content
TREE_DIGEST_PY='
import hashlib, os, sys
root = sys.argv[1]
h = hashlib.sha256()
for d, dirs, files in sorted(os.walk(root)):
    dirs.sort()
    for f in sorted(files):
        p = os.path.join(d, f)
        with open(p, "rb") as fh:
            c = hashlib.sha256(fh.read()).hexdigest()
        h.update(("%s %s\n" % (os.path.relpath(p, root), c)).encode())
print(h.hexdigest())
'

# ROUND_PY W R SEED TREE STREAM: the sources of writer W's round R: its
# tree (12 files of 64-320 KiB, 3 of them replaced each round, often by
# the content of an earlier round's file) and a stream of 32 blocks of
# 128 KiB taken from the blocks of the last 8 rounds
ROUND_PY='
import os, random, sys
w, r, seed, tree, stream = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
rnd = random.Random(seed * 1000003 + w * 10007 + r)
def content(k):
    g = random.Random(seed * 7919 + w * 1000 + k)
    return g.randbytes(g.randint(64, 320) << 10)
os.makedirs(tree, exist_ok=True)
names = ["f%02d" % i for i in range(12)]
if r == 1:
    for i, n in enumerate(names):
        with open(os.path.join(tree, n), "wb") as f:
            f.write(content(i))
else:
    for n in rnd.sample(names, 3):
        k = rnd.choice([r * 100 + names.index(n), max(0, r - rnd.randint(1, 6)) * 100 + rnd.randint(0, 11)])
        with open(os.path.join(tree, n), "wb") as f:
            f.write(content(k))
def block(k):
    return random.Random(seed * 104729 + w * 1000 + k).randbytes(128 << 10)
with open(stream, "wb") as f:
    for _ in range(32):
        f.write(block(rnd.randint(max(0, r - 8) * 4, r * 4 + 3)))
'

# backup_one W KIND TAG PAUSE: writer W's backup of its tree or stream
# (which pauses PAUSE seconds after 3 MiB, when new packs are likely in
# the store); its exit status, output in $T/wW/out and err
backup_one() {
	local w=$1 kind=$2 tag=$3 pause=$4 dir=$T/w$1
	if [[ $kind == tree ]]; then
		"$CAIRN" --json backup -H "w$w" --tag "$tag" "$dir/tree" \
			>"$dir/out" 2>"$dir/err"
	else
		# shellcheck disable=SC2016 # $1 and $2 are for the inner shell
		"$CAIRN" --json backup -H "w$w" --tag "$tag" \
			--stdin-from-command --stdin-filename s.bin -- \
			sh -c 'head -c 3145728 "$1"; sleep "$2"; tail -c +3145729 "$1"' \
			sh "$dir/stream.bin" "$pause" >"$dir/out" 2>"$dir/err"
	fi
}

# writer W: backs up until END; appends "id kind digest" to $T/manifest.W,
# a line per backup to $T/log.W and counts to $T/count.W; on an
# unexpected failure writes $T/failed.  A stream that fails with the
# conflict error is backed up again at once, as the message says.
writer() {
	local w=$1 r=0 rc kind digest tag id pause job
	local backups=0 conflicts=0 retries=0 dir=$T/w$1
	RANDOM=$((SEED + w))
	mkdir -p "$dir"
	while (($(date +%s) < END)) && [[ ! -e $T/failed ]]; do
		r=$((r + 1))
		python3 -c "$ROUND_PY" "$w" "$r" "$SEED" "$dir/tree" "$dir/stream.bin" ||
			{ echo "writer $w: cannot make round $r" >>"$T/failed"; return; }
		for job in tree stream retry; do
			kind=${job/retry/stream}
			tag=w${w}r$r$job
			pause=0
			if [[ $job == tree ]]; then
				digest=$(python3 -c "$TREE_DIGEST_PY" "$dir/tree")
			elif [[ $job == stream ]]; then
				# streams pause midway: 40% not, 40% up to 5 s (one
				# prune may pass), 20% 9 to 16 s (two to four, so that
				# packs the backup wrote are recorded and deleted)
				digest=$(sha256sum <"$dir/stream.bin" | cut -d' ' -f1)
				pause=$((RANDOM % 10))
				if ((pause < 4)); then
					pause=0
				elif ((pause < 8)); then
					pause=$((RANDOM % 51))
				else
					pause=$((90 + RANDOM % 71))
				fi
				pause=$((pause / 10)).$((pause % 10))
			elif ((rc == 0)); then
				break
			else
				retries=$((retries + 1))
			fi
			rc=0
			backup_one "$w" "$kind" "$tag" "$pause" || rc=$?
			echo "$(date +%s.%N) $tag pause $pause rc $rc" \
				"$(grep -o '"snapshot_id":"[0-9a-f]*"' "$dir/out")" >>"$T/log.$w"
			if ((rc == 0)); then
				id=$(python3 -c '
import json, sys
print([json.loads(l) for l in open(sys.argv[1])][-1]["snapshot_id"])' "$dir/out") ||
					{ echo "writer $w: no snapshot id from $tag" >>"$T/failed"; return; }
				echo "$id $kind $digest" >>"$T/manifest.$w"
				backups=$((backups + 1))
			elif ((rc == 1)) && grep -qF "$CONFLICT" "$dir/err"; then
				conflicts=$((conflicts + 1))
				# and no snapshot was left (keep-last 3 keeps a new one)
				if "$CAIRN" snapshots --json --tag "$tag" 2>/dev/null | grep -q '"id"'; then
					echo "writer $w: $tag failed with a conflict but left a snapshot" >>"$T/failed"
					return
				fi
			else
				{
					echo "writer $w: $tag: backup exited $rc:"
					sed 's/^/  /' "$dir/err" | head -20
				} >>"$T/failed"
				return
			fi
			echo "$backups $conflicts $retries" >"$T/count.$w"
		done
	done
}

# pruner: forget + prune until END, the clock 13 hours ahead each time;
# appends the prune JSON to $T/prunes
pruner() {
	local h=0
	RANDOM=$SEED
	while (($(date +%s) < END)) && [[ ! -e $T/failed ]]; do
		sleep "$((1 + RANDOM % 3)).$((RANDOM % 10))"
		h=$((h + 13))
		clock_set "+${h}h"
		if ! "$CAIRN" forget --keep-last 3 --group-by host >"$T/p.out" 2>"$T/p.err"; then
			{ echo "forget failed at +${h}h:"; sed 's/^/  /' "$T/p.err"; } >>"$T/failed"
			return
		fi
		if ! "$CAIRN" --json prune >"$T/p.out" 2>"$T/p.err"; then
			{ echo "prune failed at +${h}h:"; sed 's/^/  /' "$T/p.out" "$T/p.err"; } >>"$T/failed"
			return
		fi
		cat "$T/p.out" >>"$T/prunes"
		echo >>"$T/prunes"
	done
	echo "$h" >"$T/hours"
}

writer 1 &
p1=$!
writer 2 &
p2=$!
pruner &
p3=$!
wait "$p1" "$p2" "$p3"
if [[ -e $T/failed ]]; then
	cat "$T/failed" >&2
	tail -n 4 "$T/log.1" "$T/log.2" >&2
	"$CAIRN" check >&2
	fail "a concurrent operation failed (seed $SEED)"
fi

read -r b1 c1 r1 <"$T/count.1"
read -r b2 c2 r2 <"$T/count.2"
read -r prunes deleted marked revived repacked < <(python3 -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(len(d), sum(x["deleted_packs"] for x in d), sum(x["marked_packs"] for x in d),
      sum(x["revived_packs"] for x in d), sum(x["repacked_packs"] for x in d))' "$T/prunes")
note "$((b1 + b2)) backups, $((c1 + c2)) conflicts ($((r1 + r2)) backed up again), $prunes prunes" \
	"($marked packs marked, $repacked repacked, $deleted deleted, $revived revived)," \
	"clock +$(cat "$T/hours")h"
((prunes >= 3)) || fail "only $prunes prunes ran"
((deleted > 0)) || fail "no prune deleted anything"

# ---- the end state --------------------------------------------------------------

ok check --read-data
out_has '^no errors were found$'
ok --json snapshots
python3 -c '
import json, sys
for s in json.load(open(sys.argv[1])):
    print(s["id"], s["hostname"], s["paths"][0])' "$OUT" >"$T/snaps"
cat "$T/manifest.1" "$T/manifest.2" >"$T/manifest"
nsnap=0
while read -r id host path; do
	read -r _ kind digest < <(grep "^$id " "$T/manifest") ||
		fail "snapshot $id ($host) is not in the manifest"
	case $kind in
	stream)
		got=$("$CAIRN" dump "$id" /s.bin 2>"$ERR" | sha256sum | cut -d' ' -f1)
		;;
	tree)
		rm -rf "$T/restore"
		ok restore "$id" --target "$T/restore"
		got=$(python3 -c "$TREE_DIGEST_PY" "$T/restore$path")
		;;
	esac
	[[ $got == "$digest" ]] || fail "snapshot $id ($host $kind) restores different data"
	nsnap=$((nsnap + 1))
done <"$T/snaps"
((nsnap >= 6)) || fail "expected at least 6 snapshots (3 per writer) at the end, found $nsnap"
note "ok: $nsnap remaining snapshots restore identical"
