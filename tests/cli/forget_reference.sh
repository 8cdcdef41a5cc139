#!/usr/bin/env bash
# forget_reference.sh: the reference tool's documented forget examples,
# reproduced on the command line: a backup every Sunday for twelve weeks
# and keep-daily 4; keep-last 1 over two backups a minute apart; the
# oldest snapshot kept, and marked, while a rule has budget left; and
# keep-last 1 over the snapshots a --tag filter selects.
source "$(dirname "$0")/lib/common.bash"
export TZ=UTC
# tm(s): a snapshot's time without nanoseconds; group(host): that host's
# group of a forget --json listing
PY_PRELUDE+='
def tm(s):
    return re.sub(r"\.\d+", "", s["time"])
def group(host):
    g = [x for x in doc() if x["host"] == host]
    assert len(g) == 1, doc()
    return g[0]
'

ok init

# ---- twelve Sundays, 2019-09-01 to 2019-11-17 at 11:00
SUNDAYS=(2019-09-01 2019-09-08 2019-09-15 2019-09-22 2019-09-29 2019-10-06
	2019-10-13 2019-10-20 2019-10-27 2019-11-03 2019-11-10 2019-11-17)
for d in "${SUNDAYS[@]}"; do
	backup_at mopped "$d 11:00:00"
done
[[ $(snapshot_count) == 12 ]] || fail "expected 12 snapshots"

# keep-daily 4: the last four Sundays, each a daily snapshot; 8 go
ok forget --keep-daily 4 --dry-run --host mopped
out_has '^keep 4 snapshots'
out_has '^remove 8 snapshots'
for d in 2019-10-27 2019-11-03 2019-11-10 2019-11-17; do
	out_has "^  [0-9a-f]{8}  $d 11:00:00  mopped  \(daily snapshot\)$"
done
ok --json forget --dry-run --keep-daily 4 --host mopped
py '
g = group("mopped")
keep = sorted(tm(s) for s in g["keep"])
assert keep == ["2019-10-27T11:00:00Z", "2019-11-03T11:00:00Z",
                "2019-11-10T11:00:00Z", "2019-11-17T11:00:00Z"], keep
gone = sorted(tm(s) for s in g["remove"])
assert gone == [d + "T11:00:00Z" for d in args], gone
assert [r["matches"] for r in g["reasons"]] == [["daily snapshot"]] * 4, g
' "${SUNDAYS[@]:0:8}"
[[ $(snapshot_count) == 12 ]] || fail "a dry run removed snapshots"
ok forget --keep-daily 4 --host mopped
ok --json snapshots --host mopped
py '
t = [tm(s) for s in doc()]
assert t == [d + "T11:00:00Z" for d in args], t
' "${SUNDAYS[@]:8}"

# ---- keep-last 1 over two backups of one group a minute apart
backup_at kasimir "2017-02-21 10:48:33"
backup_at kasimir "2017-02-21 10:49:18"
# budget left at the oldest: it stays, marked as such
ok --json forget --dry-run --keep-hourly 5 --host kasimir
py '
g = group("kasimir")
m = {tm(r["snapshot"]): r["matches"] for r in g["reasons"]}
assert m == {"2017-02-21T10:49:18Z": ["hourly snapshot"],
             "2017-02-21T10:48:33Z": ["oldest hourly snapshot"]}, m
assert g["remove"] == [], g
'
ok forget --keep-last 1 --host kasimir
out_has '^keep 1 snapshot'
out_has '^  [0-9a-f]{8}  2017-02-21 10:49:18  kasimir  \(last snapshot\)$'
out_has '^remove 1 snapshot'
out_has '^  [0-9a-f]{8}  2017-02-21 10:48:33  kasimir$'
ok --json snapshots --host kasimir
py 't = [tm(s) for s in doc()]; assert t == ["2017-02-21T10:49:18Z"], t'

# ---- keep-last 1 over what a tag filter selects; the rest is untouched
backup_at luigi "2015-05-08 21:40:00" --tag foo
backup_at luigi "2015-05-08 21:41:00" --tag foo --tag bar
backup_at luigi "2015-05-08 21:42:00" --tag bar
backup_at luigi "2015-05-08 21:43:00"
backup_at luigi "2015-05-08 21:44:00" --tag foo
# both tags: one snapshot has them, and it stays
ok --json forget --dry-run --tag foo,bar --keep-last 1
py '
g = group("luigi")
assert [tm(s) for s in g["keep"]] == ["2015-05-08T21:41:00Z"], g["keep"]
assert g["remove"] == [], g["remove"]
'
# tag foo: all but the latest of those having it
ok forget --tag foo --keep-last 1
ok --json snapshots --host luigi
py '
t = sorted(tm(s) for s in doc())
assert t == ["2015-05-08T21:42:00Z", "2015-05-08T21:43:00Z",
             "2015-05-08T21:44:00Z"], t
'

[[ $(snapshot_count) == 8 ]] || fail "expected 8 snapshots at the end"
note "ok"
