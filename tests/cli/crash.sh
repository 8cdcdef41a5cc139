#!/usr/bin/env bash
# crash.sh: a backup killed with SIGKILL at any moment leaves a repository
# that checks clean, holds only complete snapshots, and takes the next
# backup.  Rounds cycle through three sources (standard input, a tree, a
# command's output) with fresh data each round; each is killed after a
# random delay between 0.05 s and the measured duration of a whole backup
# (seeded: CAIRN_TEST_SEED replays a run).  Also: the command of
# --stdin-from-command killed instead, and, when running as root where
# tmpfs can be mounted, a repository on a full filesystem.
#
# CAIRN_CRASH_ROUNDS (default 21) and CAIRN_CRASH_MB (default 150, the
# size of a stream) tune the run.
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/reliability.bash"

SEED=${CAIRN_TEST_SEED:-$(date +%s)}
RANDOM=$SEED
note "seed $SEED (set CAIRN_TEST_SEED to replay)"
ROUNDS=${CAIRN_CRASH_ROUNDS:-21}
MB=${CAIRN_CRASH_MB:-150}
# the repository grows to about 15 * MB; keep clear of a small disk
avail_mb=$(df -P -m "$T" | awk 'NR == 2 {print $4}')
if [[ -z ${CAIRN_CRASH_MB:-} && -n $avail_mb ]] && ((avail_mb < 8 * 1024)); then
	MB=48
	note "only $avail_mb MiB free: streams of $MB MiB"
fi

# gen SEED MIB: MIB mebibytes of pseudo-random bytes determined by SEED
GEN_PY='
import random, sys
r = random.Random(int(sys.argv[1]))
w = sys.stdout.buffer
try:
    for _ in range(int(sys.argv[2])):
        w.write(r.randbytes(1 << 20))
    w.flush()
except BrokenPipeError:
    sys.exit(1)
'
gen() {
	python3 -c "$GEN_PY" "$1" "$2" 2>/dev/null
}
gen_sha() {
	gen "$1" "$2" | sha256sum | cut -d' ' -f1
}

# gen_tree_fresh SEED: $T/tree becomes 48 files of 2 MiB and 200 small
# files, all new content
gen_tree_fresh() {
	rm -rf "$T/tree"
	python3 - "$T/tree" "$1" <<-'EOF' || fail "cannot generate a tree"
	import os, random, sys
	root, seed = sys.argv[1], int(sys.argv[2])
	r = random.Random(seed)
	for d in range(8):
	    dd = os.path.join(root, "dir%d" % d)
	    os.makedirs(dd)
	    for f in range(6):
	        with open(os.path.join(dd, "big%d.bin" % f), "wb") as fh:
	            fh.write(r.randbytes(2 << 20))
	    for f in range(25):
	        with open(os.path.join(dd, "small%02d.txt" % f), "wb") as fh:
	            fh.write(b"seed %d file %d\n" % (seed, f) * r.randint(1, 50))
	EOF
}

# tagged TAG: ids of the snapshots tagged TAG, one a line; TOTAL gets the
# number of all snapshots (so call it without a subshell)
tagged() {
	"$CAIRN" snapshots --json >"$T/snaps.json" 2>"$ERR" ||
		fail "snapshots --json failed: $(cat "$ERR")"
	TOTAL=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$T/snaps.json")
	python3 -c '
import json, sys
for s in json.load(open(sys.argv[1])):
    if sys.argv[2] in s["tags"]:
        print(s["id"])' "$T/snaps.json" "$1"
}

# saved_id: the short id from the last backup's "snapshot X saved"
saved_id() {
	sed -nE 's/^snapshot ([0-9a-f]{8}) saved$/\1/p' "$OUT"
}

# verify KIND SEED SNAP: the snapshot holds exactly the round's source
verify() {
	local kind=$1 seed=$2 snap=$3 want got
	case $kind in
	stdin | command)
		want=$(gen_sha "$seed" "$MB")
		got=$("$CAIRN" dump "$snap" "/r$seed" 2>"$ERR" | sha256sum | cut -d' ' -f1)
		[[ $got == "$want" ]] || { show_output; fail "snapshot $snap ($kind, seed $seed): dump differs"; }
		;;
	tree)
		rm -rf "$T/restore"
		ok restore "$snap" --target "$T/restore"
		tree_compare "$T/tree" "$T/restore$T/tree"
		;;
	esac
}

# start_backup KIND SEED TAG: starts the round's backup in the background
# (stdout/stderr to $OUT/$ERR); PID gets its process id
start_backup() {
	local kind=$1 seed=$2 tag=$3
	case $kind in
	stdin)
		gen "$seed" "$MB" | "$CAIRN" backup --tag "$tag" --stdin \
			--stdin-filename "r$seed" >"$OUT" 2>"$ERR" &
		;;
	command)
		"$CAIRN" backup --tag "$tag" --stdin-from-command \
			--stdin-filename "r$seed" -- \
			python3 -c "$GEN_PY" "$seed" "$MB" >"$OUT" 2>"$ERR" &
		;;
	tree)
		"$CAIRN" backup --tag "$tag" "$T/tree" >"$OUT" 2>"$ERR" &
		;;
	esac
	PID=$!
}

ok init

# ---- how long does a whole backup of each kind take? ---------------------------------

kinds=(stdin tree command)
declare -A DUR_MS
for kind in "${kinds[@]}"; do
	[[ $kind == tree ]] && gen_tree_fresh 1
	t0=$(date +%s%N)
	start_backup "$kind" 1 first
	wait "$PID" || { show_output; fail "the first $kind backup failed"; }
	t1=$(date +%s%N)
	DUR_MS[$kind]=$(((t1 - t0) / 1000000))
	((DUR_MS[$kind] > 100)) || DUR_MS[$kind]=100
	[[ $kind == command ]] || verify "$kind" 1 "$(saved_id)"
done
note "whole backups take ${DUR_MS[stdin]} ms (stdin, $MB MiB)," \
	"${DUR_MS[tree]} ms (tree, 96 MiB), ${DUR_MS[command]} ms (command, $MB MiB)"
completed=3

# ---- kill -9 at random points ------------------------------------------------------

kills=0
finished_first=0
landed_after_commit=0
points=()
tstart=$(date +%s)
round=0
# at least ROUNDS rounds, and more (up to 15) while fewer than 20 backups
# were killed while running
while ((round < ROUNDS || (kills < 20 && round < ROUNDS + 15))); do
	round=$((round + 1))
	kind=${kinds[$((round % 3))]}
	seed=$((1000 + round))
	[[ $kind == tree ]] && gen_tree_fresh "$seed"
	dur=${DUR_MS[$kind]}
	delay_ms=$((50 + (RANDOM * 32768 + RANDOM) % (dur - 49)))
	points+=("$delay_ms")
	start_backup "$kind" "$seed" "r$seed"
	sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
	killed=0
	if kill -KILL "$PID" 2>/dev/null; then
		killed=1
		kills=$((kills + 1))
	fi
	rc=0
	{ wait "$PID"; } 2>/dev/null || rc=$?
	tagged "r$seed" >"$T/new"
	new=$(cat "$T/new")
	nnew=$(grep -c . <<<"$new" || true)
	if ((killed == 0)); then
		# finished before the kill: a whole backup
		[[ $rc == 0 ]] || { show_output; fail "round $round: backup exited $rc"; }
		((nnew == 1)) || fail "round $round: a finished backup left $nnew snapshots"
		finished_first=$((finished_first + 1))
	elif ((nnew == 1)); then
		# killed after the snapshot was written: it must be whole
		landed_after_commit=$((landed_after_commit + 1))
	else
		((nnew == 0)) || fail "round $round: $nnew new snapshots after a kill"
	fi
	if ((nnew == 1)); then
		completed=$((completed + 1))
		verify "$kind" "$seed" "$new"
	fi
	((TOTAL == completed)) ||
		fail "round $round: $TOTAL snapshots, but $completed backups completed"

	# the repository checks clean (unreferenced packs are notices)
	ok check
	out_has '^no errors were found$'

	# and takes the next backup: the same source again on every fifth
	# round and the last (verified), else a small new stream
	if ((round % 5 == 0 || (round >= ROUNDS && kills >= 20))); then
		start_backup "$kind" "$seed" "again$seed"
		wait "$PID" || { show_output; fail "round $round: backup after the kill failed"; }
		verify "$kind" "$seed" "$(saved_id)"
	else
		gen $((50000 + round)) 2 | ok backup --stdin --stdin-filename "small$round"
	fi
	completed=$((completed + 1))
	note "round $round ($kind): kill at ${delay_ms} ms$( ((killed)) || echo ' (had finished)')$( ((killed && nnew)) && echo ', snapshot already saved')"
done
tend=$(date +%s)
((kills >= 20 || ROUNDS < 20)) || fail "only $kills of $round backups were killed while running"
note "$round rounds in $((tend - tstart)) s: $kills killed while running" \
	"($landed_after_commit after the snapshot was saved), $finished_first finished first;" \
	"kill points (ms): ${points[*]}"
[[ $(snapshot_count) == "$completed" ]] || fail "snapshot count differs at the end"
ok check --read-data
note "repository: $(du -sh "$REPO" | cut -f1)"

# ---- the command dies instead ------------------------------------------------------

before=$(snapshot_count)
# shellcheck disable=SC2016 # $$ and $1 are for the inner shell
"$CAIRN" backup --stdin-from-command --stdin-filename cmdkill -- \
	sh -c 'echo $$ >"$1"; exec python3 -c "$2" 7 100000' sh "$T/cmd.pid" "$GEN_PY" \
	>"$OUT" 2>"$ERR" &
PID=$!
for _ in $(seq 1 100); do
	[[ -s $T/cmd.pid ]] && break
	sleep 0.05
done
[[ -s $T/cmd.pid ]] || fail "the command did not start"
sleep 0.5
kill -KILL "$(cat "$T/cmd.pid")"
rc=0
{ wait "$PID"; } 2>/dev/null || rc=$?
[[ $rc != 0 ]] || { show_output; fail "backup succeeded although its command was killed"; }
[[ $rc != 137 ]] || fail "cairn itself died"
err_has 'killed by signal 9'
[[ $(snapshot_count) == "$before" ]] || fail "a killed command left a snapshot"
ok check

# ---- a full filesystem ---------------------------------------------------------------

if [[ $(id -u) == 0 ]] && mkdir -p "$T/small" &&
	mount -t tmpfs -o size=20m tmpfs "$T/small" 2>/dev/null; then
	trap 'umount "$T/small" 2>/dev/null; cleanup' EXIT
	export CAIRN_REPOSITORY=$T/small/repo
	ok init
	gen 77 50 >"$T/big.bin"
	# one worker: its first 16 MiB pack is committed, the second fails
	rc_is 1 backup --threads 1 "$T/big.bin"
	err_has 'no space left'
	[[ $(snapshot_count) == 0 ]] || fail "a backup that ran out of space left a snapshot"
	[[ -z $(find "$T/small/repo" -name '.tmp-*') ]] ||
		fail "temporary files left behind: $(find "$T/small/repo" -name '.tmp-*')"
	note "full filesystem: $(df -P -k "$T/small" | awk 'NR == 2 {print $4}') KiB left after the failed backup"
	echo "small enough" >"$T/small.txt"
	ok backup "$T/small.txt"
	ok check
	err_has 'not referenced by any index'
	ok dump latest "$T/small.txt"
	out_has '^small enough$'
	umount "$T/small" || fail "cannot unmount the tmpfs"
	export CAIRN_REPOSITORY=$REPO
else
	note "skipping the full-filesystem case (needs root and tmpfs)"
fi

note "ok"
