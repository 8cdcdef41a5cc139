#!/usr/bin/env bash
# prune_sigstop.sh: a backup stopped with SIGSTOP while prunes run (restic
# #2715, kopia #1949).  The backup's source is a command that writes data
# shared with a forgotten snapshot plus new data (more than a pack, so
# that packs no index names yet are in the store), then stalls.  With the
# writer stopped, prune records the forgotten data and the new packs, and
# the shared fake clock moves on:
#   1. resumed after a second prune 25 hours later deleted them: the
#      backup must fail with the conflict error and leave no snapshot (or
#      succeed with a snapshot that restores identical);
#   2. resumed 13 hours after the mark, past its commit deadline (half the
#      grace period): it must fail with the conflict error;
#   3. resumed between mark and sweep: it must succeed, and its snapshot
#      keeps the recorded packs alive through the sweep.
# After each: check --read-data is clean and every snapshot restores.
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/prune.bash"

CONFLICT='a concurrent prune removed data this operation needs; run it again'
prune_test_init
gen 1 1024 >"$T/keep.bin"
ok backup --tag keep --stdin --stdin-filename keep.bin <"$T/keep.bin"
KEEP=$(snapshot_id_by_tag keep)
HOURS=0

# stall NAME SEED: backs up SEED's old data (3 MiB, then forgotten), then
# starts a backup of the old data, 2.5 MiB new data and, after the stall,
# 100 KiB more (start_stalled); $T/NAME.bin is what it backs up.
stall() {
	local name=$1 seed=$2
	gen "$seed" 3072 >"$T/$name.old"
	gen $((seed + 1)) 2560 >"$T/$name.new"
	gen $((seed + 2)) 100 >"$T/$name.tail"
	cat "$T/$name.old" "$T/$name.new" >"$T/$name.head"
	cat "$T/$name.head" "$T/$name.tail" >"$T/$name.bin"
	find "$REPO/data" -type f -printf '%f %s\n' | LC_ALL=C sort >"$T/p0"
	ok backup --tag old --stdin --stdin-filename "$name.bin" <"$T/$name.old"
	find "$REPO/data" -type f -printf '%f %s\n' | LC_ALL=C sort >"$T/p1"
	# its data packs (its tree's pack is small)
	comm -13 "$T/p0" "$T/p1" | awk '$2 > 65536 {print $1}' >"$T/$name.oldpacks"
	[[ -s $T/$name.oldpacks ]] || fail "$name: no data packs"
	ok forget --keep-tag keep --group-by ''
	start_stalled "$T/$name.head" "$T/$name.tail" "$name" --tag "keep,$name" \
		--stdin-filename "$name.bin"
}

# prune_at HOURS: a prune at real time + HOURS, JSON in $OUT
prune_at() {
	HOURS=$1
	clock_set "+${HOURS}h"
	ok --json prune
}

# packs_left NAME: how many of NAME's old data packs are still in the store
packs_left() {
	local p n=0
	while read -r p; do
		[[ -e $REPO/data/${p:0:2}/$p ]] && n=$((n + 1))
	done <"$T/$1.oldpacks"
	echo "$n"
}

# verify: check --read-data is clean and every snapshot restores identical
verify() {
	ok check --read-data
	out_has '^no errors were found$'
	ok --json snapshots
	python3 -c '
import json, sys
for s in json.load(open(sys.argv[1])):
    print(s["id"], s["paths"][0])' "$OUT" >"$T/snaps"
	local id path
	while read -r id path; do
		dump_compare "$id" "${path#/}" "$T/${path#/}"
	done <"$T/snaps"
}

# no_snapshot TAG: no snapshot is tagged TAG
no_snapshot() {
	ok --json snapshots --tag "$1"
	py 'assert doc() == [], doc()'
}

# ---- 1. stopped past the sweep ---------------------------------------------

stall s1 10
kill -STOP "$PID"
prune_at $((HOURS))
py 'd = doc(); assert d["marked_packs"] >= int(args[0]) and d["unindexed_packs"] > 0, d' \
	"$(wc -l <"$T/s1.oldpacks")"
UNINDEXED=$(json_field unindexed_packs)
prune_at $((HOURS + 25))
py 'd = doc(); assert d["due_records"] == 1 and d["deleted_packs"] >= int(args[0]), d' \
	"$(($(wc -l <"$T/s1.oldpacks") + UNINDEXED))"
[[ $(packs_left s1) == 0 ]] || fail "case 1: the forgotten packs were not deleted"
resume_stalled
if ((RC == 1)); then
	grep -qF "$CONFLICT" "$T/s1.err" || { cat "$T/s1.err" >&2; fail "case 1: the backup failed otherwise"; }
	no_snapshot s1
	note "case 1: the resumed backup failed with the conflict error ($UNINDEXED of its packs were deleted)"
elif ((RC == 0)); then
	note "case 1: the resumed backup stored its data again and succeeded"
else
	cat "$T/s1.err" >&2
	fail "case 1: the resumed backup exited $RC"
fi
verify
prune_at $((HOURS + 25))
prune_at $((HOURS + 25))
verify

# ---- 2. stopped past its commit deadline ------------------------------------------

stall s2 20
kill -STOP "$PID"
prune_at $((HOURS))
py 'd = doc(); assert d["marked_packs"] >= int(args[0]), d' "$(wc -l <"$T/s2.oldpacks")"
HOURS=$((HOURS + 13))
clock_set "+${HOURS}h"
resume_stalled
if ((RC != 1)) || ! grep -qF "$CONFLICT" "$T/s2.err"; then
	cat "$T/s2.err" >&2
	fail "case 2: the backup resumed past its deadline exited $RC"
fi
no_snapshot s2
note "case 2: the backup resumed 13 hours after the mark failed with the conflict error"
verify
prune_at $((HOURS + 12))
py 'd = doc(); assert d["due_records"] == 1 and d["revived_packs"] == 0, d'
[[ $(packs_left s2) == 0 ]] || fail "case 2: the forgotten packs were not deleted"
verify

# ---- 3. resumed between mark and sweep ------------------------------------------

stall s3 30
kill -STOP "$PID"
prune_at $((HOURS + 1))
py 'd = doc(); assert d["marked_packs"] >= int(args[0]) and d["unindexed_packs"] > 0, d' \
	"$(wc -l <"$T/s3.oldpacks")"
clock_set "+$((HOURS + 1))h"
resume_stalled
((RC == 0)) || { cat "$T/s3.err" >&2; fail "case 3: the backup resumed before the sweep exited $RC"; }
python3 - "$T/s3.out" <<'EOF' || fail "case 3: the backup should have shared the old data"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])][-1]
assert s["message_type"] == "summary", s
assert s["data_added"] < 3000 << 10, s   # the new data, not the old again
EOF
prune_at $((HOURS + 25))
py 'd = doc(); assert d["due_records"] >= 1 and d["revived_packs"] > 0, d'
REVIVED=$(json_field revived_packs)
left=$(packs_left s3)
[[ $left == "$(wc -l <"$T/s3.oldpacks")" ]] ||
	fail "case 3: $left of $(wc -l <"$T/s3.oldpacks") old data packs were kept"
note "case 3: the backup resumed before the sweep succeeded; $REVIVED packs revived"
verify
dump_compare "$(snapshot_id_by_tag s3)" s3.bin "$T/s3.bin"
dump_compare "$KEEP" keep.bin "$T/keep.bin"

note "ok"
