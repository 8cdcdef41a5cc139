#!/usr/bin/env bash
# json.sh: --json output is machine-clean and consistent across commands.
source "$(dirname "$0")/lib/common.bash"

nfiles=$(gen_tree "$T/data")

ok --json init
py '
d = lines()
assert len(d) == 1 and d[0]["message_type"] == "initialized" and HEX64.match(d[0]["id"]), d
'
ok snapshots --json
py 'assert doc() == []'

# backup: JSON lines only; the last is the summary with the snapshot id
ok backup --json -v "$T/data"
py '
l = lines()
kinds = {x["message_type"] for x in l}
assert kinds <= {"status", "verbose_status", "error", "notice", "summary"}, kinds
assert "verbose_status" in kinds, kinds
s = l[-1]
assert s["message_type"] == "summary", s
assert [x for x in l if x["message_type"] == "summary"] == [s]
for k in ("files_new", "files_changed", "files_unmodified", "dirs_new",
          "dirs_changed", "dirs_unmodified", "data_blobs", "tree_blobs",
          "data_added", "data_added_packed", "total_files_processed",
          "total_bytes_processed", "total_duration", "snapshot_id"):
    assert k in s, "summary lacks " + k
assert s["files_new"] == int(args[0]) and s["files_unmodified"] == 0, s
assert HEX64.match(s["snapshot_id"]), s
for x in l:
    if x["message_type"] == "status":
        assert 0 <= x["percent_done"] <= 1, x
        for k in ("total_files", "files_done", "total_bytes", "bytes_done"):
            assert k in x, (k, x)
' "$nfiles"
id1=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["snapshot_id"])' "$OUT")

ok snapshots --json
py '
s = doc()
assert len(s) == 1 and s[0]["id"] == args[0], (s, args[0])
assert s[0]["summary"]["files_new"] == int(args[1])
' "$id1" "$nfiles"

# an unchanged second backup: everything unmodified, parent recorded
ok --json -q backup "$T/data"
py '
l = lines()
assert all(x["message_type"] != "status" for x in l), "status lines with -q"
s = l[-1]
assert s["message_type"] == "summary", s
assert s["files_unmodified"] == int(args[0]) and s["files_new"] == 0, s
assert s["files_changed"] == 0 and s["data_added"] == 0, s
' "$nfiles"
id2=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["snapshot_id"])' "$OUT")
ok snapshots --json
py '
s = doc()
assert [x["id"] for x in s] == [args[0], args[1]], s
assert s[1].get("parent") == args[0], s[1]
' "$id1" "$id2"

# one changed file
echo changed >>"$T/data/text2.txt"
ok backup --json "$T/data"
py '
s = lines()[-1]
assert s["files_changed"] == 1 and s["files_unmodified"] == int(args[0]) - 1, s
' "$nfiles"

# ls --json: the snapshot line first
ok ls --json "$id1"
py '
l = lines()
assert l[0]["message_type"] == "snapshot" and l[0]["id"] == args[0], l[0]
assert all(x["message_type"] == "node" for x in l[1:]) and len(l) > int(args[1])
' "$id1" "$nfiles"

# check, stats, key list and version as JSON documents
ok check --json
py 'd = doc(); assert d["num_errors"] == 0, d'
ok stats --json
py 'd = doc(); assert d["snapshots_count"] == 3 and d["total_file_count"] == 3 * int(args[0]), d' "$nfiles"
ok key list --json
py 'd = doc(); assert len(d) == 1 and d[0]["current"] is True, d'
ok version --json
py 'd = doc(); assert d["version"] and d["format"] == 2, d'

# errors: stdout stays empty, stderr holds one JSON line
CAIRN_PASSWORD=wrong rc_is 12 --json snapshots
out_empty
python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert d["message_type"] == "exit_error" and d["code"] == 12, d
' "$ERR" || fail "no JSON exit_error on stderr"

note "ok"
