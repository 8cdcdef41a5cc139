#!/usr/bin/env bash
# basic.sh: init, backup, snapshots (text and JSON), ls, restore, dump,
# stats, check, version and help, with global options in either place.
source "$(dirname "$0")/lib/common.bash"

nfiles=$(gen_tree "$T/data")

ok init
out_has 'created cairn repository'
[[ -f $REPO/config ]] || fail "init made no config"

ok backup "$T/data"
out_has "^Files: $nfiles new, 0 changed, 0 unmodified"
out_has '^Added to the repository: '
out_has "^processed $nfiles files, "
out_has '^snapshot [0-9a-f]{8} saved$'
short=$(sed -nE 's/^snapshot ([0-9a-f]{8}) saved$/\1/p' "$OUT")

ok snapshots
out_has "^$short  "
out_has "$T/data"
out_has '^1 snapshot$'

ok snapshots --json
py '
s = doc()
assert isinstance(s, list) and len(s) == 1, s
s = s[0]
for k in ("id", "short_id", "time", "hostname", "username", "tags",
          "paths", "tree", "program_version", "summary"):
    assert k in s, "missing " + k
assert HEX64.match(s["id"]), s["id"]
assert HEX8.match(s["short_id"]) and s["id"].startswith(s["short_id"])
assert s["short_id"] == args[0], (s["short_id"], args[0])
assert RFC3339.match(s["time"]), s["time"]
assert HEX64.match(s["tree"])
assert s["tags"] == [], s["tags"]
assert s["paths"] == [args[1]], s["paths"]
assert s["hostname"] and s["program_version"].startswith("cairn")
assert "parent" not in s
sm = s["summary"]
for k in ("backup_start", "backup_end", "files_new", "files_changed",
          "files_unmodified", "dirs_new", "dirs_changed", "dirs_unmodified",
          "data_blobs", "tree_blobs", "data_added", "data_added_packed",
          "total_files_processed", "total_bytes_processed"):
    assert k in sm, "summary lacks " + k
assert epoch(sm["backup_start"]) <= epoch(sm["backup_end"])
assert sm["files_new"] == int(args[2]), sm
assert sm["total_files_processed"] == int(args[2]), sm
assert sm["total_bytes_processed"] == int(args[3]), sm
assert sm["data_added"] > 0 and sm["data_blobs"] > 0 and sm["tree_blobs"] > 0
' "$short" "$T/data" "$nfiles" "$(find "$T/data" -type f -exec cat {} + | wc -c)"
full=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["id"])' "$OUT")

# ls: every file and directory of the source, as absolute paths.
ok ls latest
out_has "^snapshot $short of \[$T/data\] at [0-9]{4}-"
(cd "$T/data" && find . -mindepth 1) | sed "s|^\.|$T/data|" | sort >"$T/want"
grep "^$T/data/" "$OUT" | sort >"$T/got"
diff -u "$T/want" "$T/got" >&2 || fail "ls output differs from the source tree"

ok ls --json "$short"
py '
l = lines()
assert l[0]["message_type"] == "snapshot" and l[0]["id"] == args[0], l[0]
nodes = {n["path"]: n for n in l[1:]}
assert all(n["message_type"] == "node" for n in l[1:])
big = nodes[args[1] + "/sub/deeper/big.bin"]
assert big["type"] == "file" and big["size"] == 3000000 and big["name"] == "big.bin"
assert nodes[args[1] + "/sub"]["type"] == "dir"
assert nodes[args[1] + "/sub/link"]["type"] == "symlink"
assert nodes[args[1] + "/empty"]["size"] == 0
for n in l[1:]:
    for k in ("name", "type", "path", "uid", "gid", "size", "mode", "mtime", "ctime"):
        assert k in n, (k, n)
    assert RFC3339.match(n["mtime"]) and n["path"].startswith("/")
' "$full" "$T/data"

# restore everything and compare.
ok restore latest --target "$T/restore"
out_has "^restoring .*$short.* to $T/restore"
diff -r "$T/data" "$T/restore$T/data" >&2 || fail "restored tree differs"
[[ $(readlink "$T/restore$T/data/sub/link") == ../text1.txt ]] ||
	fail "symlink not restored"
[[ -d "$T/restore$T/data/empty dir" ]] || fail "empty directory not restored"

# restore with --include only restores matching paths
ok restore "$short" --target "$T/restore2" --include "$T/data/text*" --verify
[[ -f $T/restore2$T/data/text3.txt ]] || fail "--include lost a match"
[[ ! -e $T/restore2$T/data/sub/rand1.bin ]] || fail "--include restored a non-match"

# dump
"$CAIRN" dump latest "$T/data/sub/deeper/big.bin" >"$T/dumped" 2>"$ERR" ||
	fail "dump failed: $(cat "$ERR")"
cmp "$T/data/sub/deeper/big.bin" "$T/dumped" || fail "dump differs"
"$CAIRN" dump "$full" "$T/data/other/name with spaces" >"$T/dumped" 2>"$ERR" ||
	fail "dump by full id failed: $(cat "$ERR")"
cmp "$T/data/other/name with spaces" "$T/dumped" || fail "dump (2) differs"
fails dump latest "$T/data/no-such-file"

# stats
ok stats
out_has 'Total File Count: +'"$nfiles"
out_has 'Snapshots processed: +1'
ok stats --json latest
py '
s = doc()
for k in ("total_size", "total_file_count", "snapshots_count", "total_blob_count",
          "total_uncompressed_size", "total_stored_size", "compression_ratio",
          "pack_count", "pack_size"):
    assert k in s, k
assert s["total_file_count"] == int(args[0]), s
assert s["snapshots_count"] == 1 and s["pack_count"] >= 1, s
' "$nfiles"

# check
ok check
out_has '^no errors were found$'
ok -q check --read-data
out_empty

# global options after the command, repository from -r only
CAIRN_REPOSITORY='' ok snapshots -r "$REPO" --json
py 'assert len(doc()) == 1'
CAIRN_REPOSITORY='' ok --repo="$REPO" snapshots
out_has '^1 snapshot$'

# tags, host and time; snapshot filters
ok backup --tag nightly --tag a,b --host otherhost --time "2021-03-04 05:06:07" "$T/data/sub"
ok snapshots --json --host otherhost
want=$(date -d "2021-03-04 05:06:07" +%s)
py '
s = doc()
assert len(s) == 1, s
s = s[0]
assert s["hostname"] == "otherhost" and sorted(s["tags"]) == ["a", "b", "nightly"], s
assert epoch(s["time"]) == int(args[0]), (s["time"], args[0])
' "$want"
ok snapshots --tag nightly
out_has '^1 snapshot$'
ok ls --host otherhost latest
out_has "^snapshot [0-9a-f]{8} of \[$T/data/sub\] at 2021-03-04 05:06:07"
rc_is 1 backup --time "2021-02-30 00:00:00" "$T/data"
rc_is 1 ls --host nosuchhost latest

# version and help
ok version
out_has '^cairn [0-9]+\.[0-9]+\.[0-9]+ \(format 2\)'
out_has 'zstd' && out_has 'libsodium' && out_has 'jansson'
ok help
out_has 'backup' && out_has 'restore' && out_has 'snapshots'
ok help restore
out_has 'usage: cairn restore'
ok backup --help
out_has 'usage: cairn backup'
ok key --help
out_has 'cairn key list'

note "ok"
