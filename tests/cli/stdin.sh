#!/usr/bin/env bash
# stdin.sh: backups of standard input: round trip, deduplication of a
# repeated stream, and the name given with --stdin-filename.
source "$(dirname "$0")/lib/common.bash"

ok init
head -c 20000000 /dev/urandom >"$T/rand"

ok --json backup --stdin --stdin-filename rand.bin <"$T/rand"
py '
s = lines()[-1]
assert s["message_type"] == "summary", s
assert HEX64.match(s["snapshot_id"]), s
assert s["total_bytes_processed"] == 20000000, s
assert s["data_added"] >= 20000000, s
'
ok ls latest
out_has '^/rand\.bin$'
ok ls --json latest
py '
n = [l for l in lines() if l["message_type"] == "node"]
assert len(n) == 1 and n[0]["name"] == "rand.bin" and n[0]["path"] == "/rand.bin", n
assert n[0]["type"] == "file" and n[0]["size"] == 20000000, n
'
"$CAIRN" dump latest /rand.bin >"$T/back" 2>"$ERR" || fail "dump failed: $(cat "$ERR")"
cmp "$T/rand" "$T/back" || fail "dump differs from the input"

# the same stream again adds (next to) nothing
ok --json backup --stdin --stdin-filename rand.bin <"$T/rand"
py '
s = lines()[-1]
assert s["message_type"] == "summary", s
assert s["data_added"] < 65536, "second identical backup added %d bytes" % s["data_added"]
'
[[ $(snapshot_count) == 2 ]] || fail "expected 2 snapshots"

# the same data through a pipe of a command: deduplicated too
ok --json backup --stdin-from-command --stdin-filename rand.bin -- cat "$T/rand"
py 'assert lines()[-1]["data_added"] < 65536, lines()[-1]'

# default name, tiny and empty streams
printf 'abc' | "$CAIRN" backup --stdin >"$OUT" 2>"$ERR" || fail "backup --stdin failed: $(cat "$ERR")"
ok ls latest
out_has '^/stdin$'
ok dump latest /stdin
[[ $(cat "$OUT") == abc ]] || fail "dump /stdin gave '$(cat "$OUT")'"
ok backup --stdin --stdin-filename empty.txt </dev/null
ok dump latest empty.txt
out_empty

# usage errors
rc_is 1 backup --stdin "$T/rand"
rc_is 1 backup --stdin --stdin-filename a/b </dev/null
rc_is 1 backup --stdin --stdin-from-command -- true

note "ok"
