#!/usr/bin/env bash
# forget.sh: the retention policy from the command line: dry run with
# JSON, real removal, keep-last, grouping by host, and the refusals.
source "$(dirname "$0")/lib/common.bash"
export TZ=UTC
# times in the JSON without their nanoseconds
PY_PRELUDE+='
def tm(s):
    return re.sub(r"\.\d+", "", s["time"])
'

ok init
# twelve days at noon on host h1, plus an earlier one on day 12
for d in 01 02 03 04 05 06 07 08 09 10 11 12; do
	echo "day $d" | "$CAIRN" backup --stdin -H h1 --time "2026-03-$d 12:00:00" \
		>"$OUT" 2>"$ERR" || fail "backup failed: $(cat "$ERR")"
done
echo early | "$CAIRN" backup --stdin -H h1 --time "2026-03-12 08:00:00" \
	>"$OUT" 2>"$ERR" || fail "backup failed: $(cat "$ERR")"
[[ $(snapshot_count) == 13 ]] || fail "expected 13 snapshots"

# usage errors and refusals remove nothing
rc_is 1 forget
err_has 'no policy'
rc_is 1 forget --keep-daily 3 --prune --grace 10m
err_has 'at least 1h'
rc_is 1 forget --keep-daily 3 latest
err_has 'not both'
rc_is 1 forget nosuchsnapshot latest
rc_is 1 forget --keep-within 3x
rc_is 1 forget --keep-daily -2
rc_is 1 forget --keep-tag nosuchtag
err_has 'every snapshot'
[[ $(snapshot_count) == 13 ]] || fail "a refused forget removed snapshots"

# "unlimited" (or -1) keeps one per bucket, every bucket
ok --json forget --dry-run --keep-daily unlimited
py 'assert all(not g["remove"] or all(r["time"][:10] in [k["time"][:10] for k in g["keep"]] for r in g["remove"]) for g in doc()), doc()'
ok --json forget --dry-run --keep-daily -1

ok --json forget --dry-run --keep-daily 3
py '
g = doc()
assert len(g) == 1, g
g = g[0]
assert g["host"] == "h1" and g["paths"] == ["/stdin"] and g["tags"] is None, g
keep = sorted(tm(s) for s in g["keep"])
assert keep == ["2026-03-10T12:00:00Z", "2026-03-11T12:00:00Z",
                "2026-03-12T12:00:00Z"], keep
assert len(g["remove"]) == 10, len(g["remove"])
assert "2026-03-12T08:00:00Z" in [tm(s) for s in g["remove"]]
assert all(r["matches"] == ["daily snapshot"] for r in g["reasons"]), g["reasons"]
'
[[ $(snapshot_count) == 13 ]] || fail "dry run removed snapshots"

ok forget --keep-daily 3 --keep-last 1
out_has '^keep 3 snapshots'
out_has 'last snapshot, daily snapshot'
out_has '^remove 10 snapshots'
ok --json snapshots
py '
t = sorted(tm(s) for s in doc())
assert t == ["2026-03-10T12:00:00Z", "2026-03-11T12:00:00Z",
             "2026-03-12T12:00:00Z"], t
'

# keep-last 1 leaves the newest
ok forget --keep-last 1
ok --json snapshots
py 't = [tm(s) for s in doc()]; assert t == ["2026-03-12T12:00:00Z"], t'

# two hosts: one group each; --host narrows to one
for d in 01 02 03; do
	echo "h2 $d" | "$CAIRN" backup --stdin -H h2 --time "2026-04-$d 12:00:00" \
		>"$OUT" 2>"$ERR" || fail "backup failed: $(cat "$ERR")"
	echo "h3 $d" | "$CAIRN" backup --stdin -H h3 --time "2026-04-$d 13:00:00" \
		>"$OUT" 2>"$ERR" || fail "backup failed: $(cat "$ERR")"
done
ok --json forget --dry-run --group-by host --keep-last 2
py '
g = {x["host"]: x for x in doc()}
assert sorted(g) == ["h1", "h2", "h3"], list(g)
assert all(x["paths"] is None for x in g.values())
assert len(g["h1"]["keep"]) == 1 and not g["h1"]["remove"]
assert len(g["h2"]["keep"]) == 2 and len(g["h2"]["remove"]) == 1
assert tm(g["h2"]["remove"][0]) == "2026-04-01T12:00:00Z"
'
ok --json forget --dry-run --group-by '' --keep-last 2
py '
g = doc()
assert len(g) == 1 and g[0]["host"] is None, g
assert [tm(s) for s in g[0]["keep"]] == ["2026-04-03T13:00:00Z", "2026-04-03T12:00:00Z"], g[0]["keep"]
'
ok forget --host h2 --keep-last 1
ok --json snapshots --host h2
py 't = [tm(s) for s in doc()]; assert t == ["2026-04-03T12:00:00Z"], t'
ok --json snapshots --host h3
py 'assert len(doc()) == 3, doc()'
[[ $(snapshot_count) == 5 ]] || fail "expected 5 snapshots"

# the data is still readable
ok dump latest /stdin
ok check

# forget by ID: a dry run removes nothing, then the snapshot goes
ok --json snapshots --host h3
id=$(py 'print(sorted(doc(), key=lambda s: s["time"])[0]["id"])' | tail -1)
ok forget --dry-run "${id:0:8}"
out_has "would remove snapshot ${id:0:8}"
[[ $(snapshot_count) == 5 ]] || fail "a dry run removed a snapshot"
ok forget "${id:0:8}"
[[ $(snapshot_count) == 4 ]] || fail "forget ID did not remove it"
rc_is 1 forget "${id:0:8}"
[[ $(snapshot_count) == 4 ]] || fail "expected 4 snapshots"

note "ok"
