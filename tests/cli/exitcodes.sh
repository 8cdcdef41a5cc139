#!/usr/bin/env bash
# exitcodes.sh: the documented exit statuses and their messages.
source "$(dirname "$0")/lib/common.bash"

# 10: no repository at the location
rc_is 10 -r "$T/nonexistent" snapshots
err_has 'repository does not exist'
out_empty

# 1: no repository given at all
CAIRN_REPOSITORY='' rc_is 1 snapshots
err_has 'no repository given \(use -r or CAIRN_REPOSITORY\)'

# 1: usage errors
rc_is 1 frobnicate
err_has 'unknown command'
rc_is 1 snapshots --no-such-option
err_has 'unknown option'
rc_is 1 --no-such-global snapshots
rc_is 1 restore latest             # no --target
rc_is 1 check --read-data-subset 0%
rc_is 1 check --read-data-subset 101
rc_is 1 check --read-data-subset 1/5
err_has 'n/t'
rc_is 1 backup                     # nothing to back up
rc_is 1 backup --stdin-from-command sh -c true   # no "--"
rc_is 1
err_has 'usage: cairn'

ok init
mkdir -p "$T/data"
echo one >"$T/data/one"
echo two >"$T/data/two"

# 12: wrong password, and nothing on stdout
CAIRN_PASSWORD=wrong-password rc_is 12 snapshots
out_empty
err_has 'wrong password'
CAIRN_PASSWORD=wrong-password rc_is 12 backup "$T/data"
out_empty
[[ $(snapshot_count) == 0 ]] || fail "a snapshot appeared after a wrong password"

# 1: no password source and stdin not a terminal
env -u CAIRN_PASSWORD "$CAIRN" snapshots </dev/null >"$OUT" 2>"$ERR" && fail "no password accepted"
err_has 'no password given'

# a failing command makes no snapshot
fails backup --stdin-from-command -- false
[[ $(snapshot_count) == 0 ]] || fail "a failed command left a snapshot"
fails backup --stdin-from-command -- sh -c 'echo partial; exit 3'
[[ $(snapshot_count) == 0 ]] || fail "a failed command left a snapshot"

# a succeeding one does, and dump gives its output back
ok backup --stdin-from-command -- sh -c 'echo hi'
out_has '^snapshot [0-9a-f]{8} saved$'
[[ $(snapshot_count) == 1 ]] || fail "no snapshot from the command"
ok dump latest /stdin
[[ $(cat "$OUT") == hi ]] || fail "dump of the command output gave '$(cat "$OUT")'"
ok snapshots --json
py '
s = doc()[0]
assert s["paths"] == ["/stdin"], s["paths"]
assert s.get("source", {}).get("kind") == "command", s.get("source")
'

# 3: a file that cannot be read (root reads everything: skip then)
if [[ $(id -u) != 0 ]]; then
	echo secret >"$T/data/unreadable"
	chmod 000 "$T/data/unreadable"
	rc_is 3 backup "$T/data"
	err_has 'unreadable'
	out_has '^snapshot [0-9a-f]{8} saved$'
	[[ $(snapshot_count) == 2 ]] || fail "no snapshot after a partial backup"
	ok ls latest
	out_has "^$T/data/one$"
	chmod 600 "$T/data/unreadable"
else
	note "running as root: skipping the unreadable-file case"
fi

# 130: interrupted; no snapshot is written
before=$(snapshot_count)
"$CAIRN" backup --stdin-from-command -- \
	sh -c 'while :; do head -c 1000000 /dev/urandom || exit; sleep 0.05; done' \
	>"$OUT" 2>"$ERR" &
pid=$!
sleep 2
kill -INT "$pid"
rc=0
for _ in $(seq 1 600); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
	kill -KILL "$pid"
	fail "backup did not stop within 60 s of SIGINT"
fi
wait "$pid" || rc=$?
[[ $rc == 130 ]] || { show_output; fail "interrupted backup exited $rc, expected 130"; }
[[ $(snapshot_count) == "$before" ]] || fail "an interrupted backup left a snapshot"

# a snapshot that does not exist
rc_is 1 ls deadbeef
rc_is 1 dump latest /no/such/file

note "ok"
