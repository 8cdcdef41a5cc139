#!/usr/bin/env bash
# prune_crash.sh: prune killed with SIGKILL right after each of its changes
# to the store in turn (CAIRN_FAULT_KILL_AFTER=N for N = 1, 2, ... until a
# run completes), in both phases:
#   one: a repository with forgotten data and partly used packs, no record
#        (prune repacks, then writes a deletion record);
#   two: the same after a complete prune and one more forget, 25 hours
#        later (prune repacks and records the new garbage, then sweeps the
#        first record: index files, packs, dictionaries, the record).
# After each kill: check is clean (notices allowed) and every snapshot
# restores byte for byte; then the next prune and the ones 25 and 50 hours
# later complete, check --read-data is clean and no garbage is left.
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/reliability.bash"
source "$(dirname "$0")/lib/prune.bash"

prune_test_init

# A and B: see gen_trees_ab (q/ makes the sweep rewrite A's index file,
# as q/'s packs stay and the others go); B3: B less
# f02..f10 plus new3/ (5 new); D2: a copy of new3/f01; C and D: streams.
# Kept after the first forget: B, B3, D, D2; after the second: B, D, D2.
# B3's packs are partly used by D2 (repacked in phase two).
gen_trees_ab
cp -a "$T/srcB" "$T/srcB3"
rm -f "$T"/srcB3/f{02..10..2}
gen_files "$T/srcB3/new3" 3 5 200
mkdir "$T/srcD2"
cp -a "$T/srcB3/new3/f01" "$T/srcD2/"
gen 11 3072 >"$T/c.bin"
gen 12 2048 >"$T/d.bin"
ok backup --tag t0 "$T/srcA"
ok backup --tag k1,k2 "$T/srcB"
ok backup --tag k1 "$T/srcB3"
ok backup --tag k1,k2 "$T/srcD2"
ok backup --tag t0 --stdin --stdin-filename c.bin <"$T/c.bin"
ok backup --tag k1,k2 --stdin --stdin-filename d.bin <"$T/d.bin"
ok forget --keep-tag k1 --group-by ''
cp -a "$REPO" "$T/base1"

# verify N: the repository holds exactly N snapshots (4 or 3, see above)
# and each restores identical
verify() {
	ok --json snapshots
	python3 -c '
import json, sys
for s in json.load(open(sys.argv[1])):
    print(s["id"], s["paths"][0])' "$OUT" >"$T/snaps"
	[[ $(wc -l <"$T/snaps") == "$1" ]] || fail "expected $1 snapshots: $(cat "$T/snaps")"
	local id path
	while read -r id path; do
		case $path in
		/d.bin) dump_compare "$id" d.bin "$T/d.bin" ;;
		"$T/srcB" | "$T/srcB3" | "$T/srcD2") restore_compare "$id" "$path" ;;
		*) fail "unexpected snapshot $id of $path" ;;
		esac
	done <"$T/snaps"
}

# prune_at HOURS: a complete prune at real time + HOURS hours
prune_at() {
	clock_set "+$1h"
	ok prune
}

# dir_counts REPO: "DIR COUNT" for the object directories of REPO
dir_counts() {
	local d
	for d in data index dicts marks snapshots; do
		echo "$d $(find "$1/$d" -type f | wc -l)"
	done
}

# step_seen: the change of the last killed run beyond the one before it
# (the count of each object directory, compared with $T/counts, which
# it updates), like "+data" or "-index"
step_seen() {
	local d a b out=
	dir_counts "$T/work" >"$T/counts.new"
	while read -r d a && read -r _ b <&3; do
		((b > a)) && out+="+$((b - a))$d"
		((b < a)) && out+="-$((a - b))$d"
	done <"$T/counts" 3<"$T/counts.new"
	mv "$T/counts.new" "$T/counts"
	printf '%s\n' "${out:-?}"
}

# kill_loop NAME BASE NSNAP HOURS: for N = 1, 2, ... runs prune at HOURS on a
# copy of BASE, killed after its N-th change, and checks the aftermath;
# ends when a run completes.  KILLS gets the number of kill points.
kill_loop() {
	local name=$1 base=$2 nsnap=$3 at=$4 n=1 rc t0 steps=()
	t0=$(date +%s)
	dir_counts "$base" >"$T/counts"
	while :; do
		export CAIRN_REPOSITORY=$T/work
		chmod -R u+rwX "$T/work" 2>/dev/null
		rm -rf "$T/work"
		cp -a "$base" "$T/work" || fail "cannot copy the repository"
		clock_set "+${at}h"
		rc=0
		# (the braces keep bash's "Killed" off the log)
		{ CAIRN_FAULT_KILL_AFTER=$n "$CAIRN" prune >"$OUT" 2>"$ERR"; } 2>/dev/null || rc=$?
		if ((rc == 0)); then
			break
		fi
		((rc == 137)) || { show_output; fail "$name, kill $n: prune exited $rc"; }
		steps+=("$(step_seen)")
		# whole after the kill
		ok check
		out_has '^no errors were found$'
		verify "$nsnap"
		# the next prunes finish the work
		prune_at "$at"
		prune_at $((at + 25))
		prune_at $((at + 50))
		ok --json prune --dry-run
		py '
d = doc()
assert d["unused_packs"] == 0 and d["unindexed_packs"] == 0, d
assert d["waiting_packs"] == 0 and d["due_records"] == 0, d
assert d["unused_size_in_used_packs"] <= d["used_size"] * 5 / 95, d
'
		ok check --read-data
		out_has '^no errors were found$'
		n=$((n + 1))
	done
	KILLS=$((n - 1))
	((KILLS > 0)) || fail "$name: prune made no change to kill after"
	note "$name: $KILLS kill points covered in $(($(date +%s) - t0)) s;" \
		"killed after: ${steps[*]}"
	export CAIRN_REPOSITORY=$REPO
}

# ---- phase one ------------------------------------------------------------------

ok --json prune --dry-run
py 'd = doc(); assert d["repacked_packs"] > 0 and d["marked_packs"] > d["repacked_packs"], d'
kill_loop "phase one" "$T/base1" 4 0
K1=$KILLS

# ---- phase two (and phase one of newer garbage) -------------------------------------

clock_set +0
ok prune
ok forget --keep-tag k2 --group-by ''
cp -a "$REPO" "$T/base2"
clock_set +25h
ok --json prune --dry-run
py '
d = doc()
assert d["due_records"] == 1 and d["deleted_packs"] > 0, d
assert d["repacked_packs"] > 0 and d["index_rewritten"] > 0, d
'
kill_loop "phase two" "$T/base2" 3 25
K2=$KILLS

note "ok: $((K1 + K2)) kill points ($K1 in phase one, $K2 in phase two)"
