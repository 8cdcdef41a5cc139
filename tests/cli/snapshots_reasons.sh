#!/usr/bin/env bash
# snapshots_reasons.sh: snapshots with a retention policy shows which rule
# keeps each snapshot, in the table and in --json, removes nothing, and
# agrees with what forget --dry-run --json decides for the same policy.
source "$(dirname "$0")/lib/common.bash"
export TZ=UTC
# by_time(): the listing keyed by time (UTC, no nanoseconds) and host;
# cells(table): short id -> the Reasons cell of a table
PY_PRELUDE+='
def by_time(v):
    return {(re.sub(r"\.\d+", "", s["time"]), s["hostname"]): s for s in v}
def cells(path):
    rows = open(path).read().splitlines()
    head = rows[0]
    a, b = head.index("Reasons"), head.index("Paths")
    return {r[:8]: r[a:b].strip() for r in rows[2:-2] if HEX8.match(r[:8])}
'

ok init
# h1: a pinned December, one in January, two in February, two on Mar 1,
# Mar 2 (Monday, ISO week 10) and Mar 9 (Monday, week 11)
backup_at h1 "2025-12-01 12:00:00" --tag pin
backup_at h1 "2026-01-15 12:00:00"
backup_at h1 "2026-02-10 12:00:00"
backup_at h1 "2026-02-20 12:00:00"
backup_at h1 "2026-03-01 08:00:00"
backup_at h1 "2026-03-01 12:00:00"
backup_at h1 "2026-03-02 12:00:00"
backup_at h1 "2026-03-09 12:00:00"
# h2: its own group, two on one day
backup_at h2 "2026-03-05 12:00:00"
backup_at h2 "2026-03-05 13:00:00"
[[ $(snapshot_count) == 10 ]] || fail "expected 10 snapshots"

POLICY=(--keep-last 1 --keep-daily 2 --keep-weekly 2 --keep-monthly 3
	--keep-tag pin)
# the reasons worked out by hand: (time, host) -> matches; [] is removed.
# h2's 12:00 shares its day, week and month with 13:00, but it is the
# oldest of its group and those rules have budget left
EXPECT='
want = {
    ("2026-03-09T12:00:00Z", "h1"): ["last snapshot", "daily snapshot",
                                     "weekly snapshot", "monthly snapshot"],
    ("2026-03-02T12:00:00Z", "h1"): ["daily snapshot", "weekly snapshot"],
    ("2026-03-01T12:00:00Z", "h1"): [],
    ("2026-03-01T08:00:00Z", "h1"): [],
    ("2026-02-20T12:00:00Z", "h1"): ["monthly snapshot"],
    ("2026-02-10T12:00:00Z", "h1"): [],
    ("2026-01-15T12:00:00Z", "h1"): ["monthly snapshot"],
    ("2025-12-01T12:00:00Z", "h1"): ["tag pin"],
    ("2026-03-05T13:00:00Z", "h2"): ["last snapshot", "daily snapshot",
                                     "weekly snapshot", "monthly snapshot"],
    ("2026-03-05T12:00:00Z", "h2"): ["oldest daily snapshot",
                                     "oldest weekly snapshot",
                                     "oldest monthly snapshot"],
}
'

# without a policy: no Reasons column, no keep/reasons keys
ok snapshots
grep -q Reasons "$OUT" && fail "Reasons column without a policy"
ok --json snapshots
py 'assert all("keep" not in s and "reasons" not in s for s in doc())'

# JSON: keep and reasons as worked out
ok --json snapshots "${POLICY[@]}"
cp "$OUT" "$T/snap.json"
py "$EXPECT"'
got = by_time(doc())
assert sorted(got) == sorted(want), sorted(got)
for k, m in want.items():
    s = got[k]
    assert s["keep"] is bool(m) and s["reasons"] == m, (k, s["keep"], s["reasons"])
'

# table: the same reasons, joined by ", ", or "(would be removed)"
ok snapshots "${POLICY[@]}"
out_has '^ID +Time +Host +Tags +Reasons +Paths$'
out_has '^10 snapshots$'
cp "$OUT" "$T/snap.txt"
OUT=$T/snap.json py "$EXPECT"'
c = cells(args[0])
for k, m in want.items():
    sid = by_time(doc())[k]["short_id"]
    want_cell = ", ".join(m) if m else "(would be removed)"
    assert c[sid] == want_cell, (k, c[sid], want_cell)
assert len(c) == 10, c
' "$T/snap.txt"
[[ $(snapshot_count) == 10 ]] || fail "snapshots with a policy removed snapshots"

# agreement with forget --dry-run --json, for several policies, groupings
# and filters: every listed snapshot is kept by forget iff snapshots says
# so, with the same matches
agree() {
	ok --json forget --dry-run "$@"
	cp "$OUT" "$T/forget.json"
	ok --json snapshots "$@"
	py '
f = json.load(open(args[0]))
keep, removed = {}, set()
for g in f:
    for r in g["reasons"]:
        keep[r["snapshot"]["id"]] = r["matches"]
    removed |= {s["id"] for s in g["remove"]}
    assert len(g["reasons"]) == len(g["keep"]), g
snaps = doc()
assert {s["id"] for s in snaps} == set(keep) | removed, "listings differ"
for s in snaps:
    if s["id"] in keep:
        assert s["keep"] is True and s["reasons"] == keep[s["id"]], s
    else:
        assert s["keep"] is False and s["reasons"] == [], s
' "$T/forget.json"
}
agree "${POLICY[@]}"
agree "${POLICY[@]}" --group-by ''
agree --keep-within 8d --keep-within-weekly 30d
agree --keep-daily 1 --keep-yearly 2 --host h1
agree --keep-hourly 3 --group-by host,tags

# one group: the Mar 2 snapshot loses its daily and weekly slots to h2
ok --json snapshots "${POLICY[@]}" --group-by ''
py '
s = by_time(doc())
assert s[("2026-03-02T12:00:00Z", "h1")]["keep"] is False, s
assert s[("2026-03-05T13:00:00Z", "h2")]["reasons"] == ["daily snapshot", "weekly snapshot"], s
'

# keep-within: newer than Mar 9 12:00 - 8d = Mar 1 12:00, not at it
ok snapshots --keep-within 8d --host h1
cp "$OUT" "$T/within.txt"
ok --json snapshots --host h1
py '
c = cells(args[0])
for k, s in by_time(doc()).items():
    kept = k[0] > "2026-03-01T12:00:00Z"
    assert c[s["short_id"]] == ("within 8d" if kept else "(would be removed)"), (k, c)
' "$T/within.txt"

# a policy that keeps nothing of a group is shown, not refused
ok --json snapshots --keep-tag nosuchtag
py 'assert all(s["keep"] is False and s["reasons"] == [] for s in doc())'
rc_is 1 forget --dry-run --keep-tag nosuchtag

# usage errors
rc_is 1 snapshots --keep-daily -2
err_has 'bad count'
rc_is 1 snapshots --keep-within 3x
err_has 'bad duration'
rc_is 1 snapshots --group-by host
err_has 'needs a policy'
rc_is 1 snapshots --group-by nosuchkey --keep-last 1
ok help snapshots
out_has '--keep-daily'
out_has 'Reasons'

[[ $(snapshot_count) == 10 ]] || fail "expected 10 snapshots at the end"
note "ok"
