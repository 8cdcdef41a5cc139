#!/usr/bin/env bash
# prune.sh: the two phases of prune (docs/format.md 13) on one small
# repository (1 MiB packs), moving a fake wall clock shared by every cairn
# process (lib/prune.bash):
#   - --dry-run changes no file; a first prune only writes a deletion
#     record; prunes before the grace period has passed change nothing;
#   - 25 hours later prune deletes exactly what it recorded: data/ shrinks
#     by the deleted size, check --read-data is clean, the kept snapshots
#     restore byte for byte;
#   - repacking partly used packs (--max-unused, and "unlimited");
#   - a backup started after the mark stores the recorded data again; one
#     started before it and committed after it keeps ("revives") the
#     recorded packs it uses through the sweep;
#   - --grace below 1h is refused; an unreadable snapshot file makes prune
#     refuse and delete nothing.
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/reliability.bash"
source "$(dirname "$0")/lib/prune.bash"

prune_test_init

# A and B (gen_trees_ab): A's packs partly used by B once A is forgotten;
# C and D: streams, C forgotten
gen_trees_ab
ok backup --tag drop "$T/srcA"
ok backup --tag keep "$T/srcB"
gen 11 3072 >"$T/c.bin"
gen 12 3072 >"$T/d.bin"
ok backup --tag drop --stdin --stdin-filename c.bin <"$T/c.bin"
ok backup --tag keep --stdin --stdin-filename d.bin <"$T/d.bin"
B=$("$CAIRN" snapshots --json --tag keep --path "$T/srcB" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
D=$("$CAIRN" snapshots --json --tag keep --path /d.bin | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
ok forget --keep-tag keep --group-by ''
[[ $(snapshot_count) == 2 ]] || fail "forget should leave 2 snapshots"

# verify_all: check --read-data is clean and B and D restore identical
verify_all() {
	ok check --read-data
	out_has '^no errors were found$'
	restore_compare "$B" "$T/srcB"
	dump_compare "$D" d.bin "$T/d.bin"
}

# ---- dry run: counts, changes nothing ----------------------------------------

repo_listing >"$T/l0"
ok --json prune --dry-run
py '
d = doc()
assert d["message_type"] == "prune" and d["dry_run"] is True, d
assert d["snapshots"] == 2, d
assert d["unused_packs"] > 0 and d["unused_packs_size"] > 0, d
assert d["unused_size_in_used_packs"] > 0, d
assert d["marked_packs"] > 0 and d["repacked_packs"] > 0, d
assert d["repack_written"] == 0 and d["deleted_packs"] == 0, d
assert d["grace_seconds"] == 86400, d
for k in ("packs", "packs_size", "blobs", "blobs_used", "used_size",
          "unindexed_packs", "reclaimable_size", "marked_size",
          "marked_dictionaries", "repacked_size", "repacked_blobs",
          "due_records", "deleted_size", "deleted_dictionaries",
          "revived_packs", "revived_dictionaries", "index_rewritten",
          "index_written", "waiting_packs", "waiting_size", "next_due"):
    assert isinstance(d[k], int) and d[k] >= 0, (k, d)
assert d["blobs_used"] < d["blobs"] and d["used_size"] < d["packs_size"], d
assert d["reclaimable_size"] == d["unused_packs_size"] + d["unused_size_in_used_packs"], d
'
ok prune --dry-run
out_has '^would mark: '
out_has '^would repack: '
repo_listing >"$T/l1"
diff "$T/l0" "$T/l1" >/dev/null || fail "prune --dry-run changed the repository"

# ---- phase one: a record, nothing deleted ------------------------------------------

ok --json prune --max-unused unlimited
py '
d = doc()
assert d["dry_run"] is False, d
assert d["marked_packs"] == d["unused_packs"] > 0, d
assert d["marked_size"] == d["unused_packs_size"], d
assert d["repacked_packs"] == 0 and d["deleted_packs"] == 0, d
assert d["due_records"] == 0 and d["index_written"] == 0, d
'
MARKED_PACKS=$(json_field marked_packs)
MARKED_SIZE=$(json_field marked_size)
repo_listing >"$T/l2"
# the only change: one new file under marks/
comm -13 "$T/l1" "$T/l2" >"$T/added"
comm -23 "$T/l1" "$T/l2" >"$T/removed"
[[ ! -s $T/removed ]] || fail "phase one removed files: $(cat "$T/removed")"
if [[ $(wc -l <"$T/added") != 1 ]] || ! grep -q '^\./marks/[0-9a-f]\{64\} ' "$T/added"; then
	fail "phase one should add one deletion record, added: $(cat "$T/added")"
fi
verify_all

# again, at once and 23 hours later: nothing changes
for at in +0 +23h; do
	clock_set "$at"
	ok --json prune --max-unused unlimited
	py '
d = doc()
assert d["marked_packs"] == 0 and d["deleted_packs"] == 0, d
assert d["waiting_packs"] == int(args[0]) and d["due_records"] == 0, d
assert d["next_due"] > 0, d
' "$MARKED_PACKS"
	repo_listing >"$T/l3"
	diff "$T/l2" "$T/l3" >/dev/null || fail "prune at $at before the grace period changed the repository"
done
ok prune --max-unused unlimited
out_has '^waiting: '
out_has '^nothing to do$'

# ---- phase two, 25 hours later -----------------------------------------------------

clock_set +25h
data_before=$(dir_bytes "$REPO/data")
ok --json prune --max-unused unlimited
py '
d = doc()
assert d["due_records"] == 1, d
assert d["deleted_packs"] == int(args[0]), d
assert d["deleted_size"] == int(args[1]), d
assert d["revived_packs"] == 0 and d["marked_packs"] == 0, d
assert d["index_rewritten"] >= 1, d
' "$MARKED_PACKS" "$MARKED_SIZE"
data_after=$(dir_bytes "$REPO/data")
((data_before - data_after == MARKED_SIZE)) ||
	fail "data/ shrank by $((data_before - data_after)) bytes, prune deleted $MARKED_SIZE"
[[ -z $(ls "$REPO/marks") ]] || fail "the deletion record was not removed"
note "phase two deleted $MARKED_PACKS packs ($MARKED_SIZE bytes)"
verify_all
ok --json prune --max-unused unlimited
py 'd = doc(); assert d["deleted_packs"] == 0 and d["unused_packs"] == 0 and d["due_records"] == 0, d'

# ---- repack --------------------------------------------------------------------

ok --json prune
py '
d = doc()
assert d["repacked_packs"] > 0 and d["repack_written"] > 0, d
assert d["repacked_blobs"] > 0 and d["index_written"] == 1, d
assert d["marked_packs"] >= d["repacked_packs"] and d["deleted_packs"] == 0, d
'
REPACKED=$(json_field repacked_packs)
MARKED_PACKS=$(json_field marked_packs)
# both copies are readable until the sweep
verify_all
clock_set +50h
ok --json prune
py '
d = doc()
assert d["due_records"] == 1 and d["deleted_packs"] == int(args[0]), d
assert d["repacked_packs"] == 0, d
' "$MARKED_PACKS"
ok --json prune --dry-run
py '
d = doc()
limit = d["used_size"] * 5 / 95
assert d["unused_size_in_used_packs"] <= limit, (d["unused_size_in_used_packs"], limit)
assert d["repacked_packs"] == 0 and d["marked_packs"] == 0, d
'
note "repacked $REPACKED packs; unused in used packs now $(json_field unused_size_in_used_packs) of $(json_field used_size) bytes"
verify_all

# ---- stored again after the mark; revived when used from before it ---------------------

# E and F: streams, forgotten
gen 21 2048 >"$T/e.bin"
gen 22 2048 >"$T/f.bin"
find "$REPO/data" -type f -printf '%f\n' | LC_ALL=C sort >"$T/p0"
ok backup --tag drop --stdin --stdin-filename e.bin <"$T/e.bin"
find "$REPO/data" -type f -printf '%f\n' | LC_ALL=C sort >"$T/p1"
ok backup --tag drop --stdin --stdin-filename f.bin <"$T/f.bin"
find "$REPO/data" -type f -printf '%f\n' | LC_ALL=C sort >"$T/p2"
comm -13 "$T/p0" "$T/p1" | grep . >"$T/packs-e" || fail "no packs for E"
comm -13 "$T/p1" "$T/p2" | grep . >"$T/packs-f" || fail "no packs for F"
ok forget --keep-tag keep --group-by ''

# a backup of F's content that loads the index before the mark and
# commits after it
start_stalled "$T/f.bin" /dev/null inflight --tag keep --stdin-filename f.bin
ok --json prune --max-unused unlimited
py 'd = doc(); assert d["marked_packs"] >= int(args[0]), d' "$(wc -l <"$T/packs-e")"

# started after the mark: E's content is stored again, not shared
ok --json backup --tag keep --stdin --stdin-filename e.bin <"$T/e.bin"
py '
s = [l for l in lines() if l["message_type"] == "summary"][0]
assert s["data_added"] >= 2048 * 1024, s
'
E2=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1]["snapshot_id"])' "$OUT")

resume_stalled
((RC == 0)) || { cat "$T/inflight.err" >&2; fail "the in-flight backup exited $RC"; }
python3 - "$T/inflight.out" <<'EOF' || fail "the in-flight backup should have shared all of F's data"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1])][-1]
assert s["message_type"] == "summary" and s["data_added"] == 0, s
EOF
F2=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1]["snapshot_id"])' "$T/inflight.out")
ok check
out_has '^no errors were found$'

# an unreadable snapshot file: prune refuses, deletes nothing
clock_set +75h
snapfile=$REPO/snapshots/$D
[[ -f $snapfile ]] || fail "no snapshot file $snapfile"
cp -p "$snapfile" "$T/snap.saved"
flip_bit "$snapfile" 40
repo_listing >"$T/l4"
rc_is 1 prune
err_has 'cannot be read'
repo_listing >"$T/l5"
diff "$T/l4" "$T/l5" >/dev/null || fail "prune changed the repository despite an unreadable snapshot"
if [[ $(id -u) != 0 ]]; then
	cp -p "$T/snap.saved" "$snapfile"
	chmod 000 "$snapfile"
	rc_is 1 prune
	err_has 'cannot be read'
	repo_listing >"$T/l5"
	diff "$T/l4" "$T/l5" >/dev/null || fail "prune changed the repository despite a snapshot it may not read"
fi
chmod u+w "$snapfile"
cp -p "$T/snap.saved" "$snapfile"

# the sweep: E's recorded packs go (a live copy exists), F's are kept
ok --json prune --max-unused unlimited
py '
d = doc()
assert d["due_records"] == 1 and d["revived_packs"] > 0 and d["deleted_packs"] > 0, d
'
REVIVED=$(json_field revived_packs)
while read -r p; do
	[[ ! -e $REPO/data/${p:0:2}/$p ]] || fail "E's pack $p was not deleted"
done <"$T/packs-e"
kept=0
while read -r p; do
	[[ -e $REPO/data/${p:0:2}/$p ]] && kept=$((kept + 1))
done <"$T/packs-f"
((kept == REVIVED)) || fail "$kept of F's packs remain, but prune revived $REVIVED"
note "revived $REVIVED of F's $(wc -l <"$T/packs-f") packs"
verify_all
dump_compare "$F2" f.bin "$T/f.bin"
dump_compare "$E2" e.bin "$T/e.bin"
# the revived packs are live again: unused space inside them aside,
# nothing is waiting or marked as a whole
ok --json prune --max-unused unlimited --dry-run
py 'd = doc(); assert d["waiting_packs"] == 0 and d["due_records"] == 0, d'

# ---- refusals ---------------------------------------------------------------------

rc_is 1 prune --grace 30m
err_has 'at least 1h'
rc_is 1 prune --grace 59m59s
rc_is 1 prune --grace soon
rc_is 1 prune --max-unused 100%
rc_is 1 prune extra
ok --json prune --grace 1h --dry-run
py 'd = doc(); assert d["grace_seconds"] == 3600, d'
ok --json prune --grace 1d12h --dry-run
py 'd = doc(); assert d["grace_seconds"] == 129600, d'

note "ok"
