#!/usr/bin/env bash
# ipfs.sh: repositories on an IPFS node (js-ipfs from tests/servers/ipfs.sh,
# Kubo RPC API, offline on 127.0.0.1; skipped when it cannot run).
#   1. init on ipfs:API/cairn-test-<random>, a backup of a tree with
#      multi-MiB files, snapshots, an exact restore, check --read-data.
#   2. A second backup, forget --keep-last 1, prune (phase one records
#      the unused packs), check and restore still clean.
#   3. A second repository under another MFS directory is separate.
#   4. A repository on a local directory and the node: a pack deleted and
#      one corrupted locally, repair copies them from IPFS, check
#      --replicas --read-data is clean, the local store alone restores.
#   5. The node paused (SIGSTOP): a command fails within timeout.stall and
#      retry.max-time plus slack, naming the store.
#   6. The node stopped: a command fails within retry.max-time=3 plus
#      slack, naming the store; the times are printed.
#   7. With the node stopped, a repository on a local directory and the
#      node still reads from the local directory (fail-over).
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/reliability.bash"
unset CAIRN_REPOSITORY CAIRN_REPOSITORY_FILE

SERVERS=$(cd "$(dirname "$0")/../servers" && pwd -P)
T_START=$(date +%s.%N)

IPFS_STARTED=
IPFS_PID=
stop_all() {
	local rc=$?
	if [[ -n $IPFS_STARTED ]]; then
		if [[ -n $IPFS_PID ]]; then
			kill -CONT "$IPFS_PID" 2>/dev/null || true
		fi
		"$SERVERS/ipfs.sh" stop "$T/ipfs" >/dev/null 2>&1 || true
		if [[ -n $IPFS_PID ]] && kill -0 "$IPFS_PID" 2>/dev/null; then
			kill "$IPFS_PID" 2>/dev/null || true
		fi
	fi
	cleanup
	exit "$rc"
}
trap stop_all EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

now() { date +%s.%N; }
since() { python3 -c "import sys; print(round($(now) - $1, 2))"; }

command -v curl >/dev/null 2>&1 || { echo "SKIP: curl is missing" >&2; exit 77; }

t0=$(now)
rc=0
"$SERVERS/ipfs.sh" start 0 "$T/ipfs" >"$T/ipfs-start.out" 2>&1 || rc=$?
if [[ $rc == 77 ]]; then
	echo "SKIP: $(tail -n 1 "$T/ipfs-start.out")" >&2
	exit 77
fi
[[ $rc == 0 ]] || fail "ipfs.sh start failed: $(cat "$T/ipfs-start.out")"
IPFS_STARTED=1
# shellcheck disable=SC1091
source "$T/ipfs/env"
# shellcheck disable=SC2153 # IPFS_API comes from the env file
note "js-ipfs (PID $IPFS_PID) on $IPFS_API, started in $(since "$t0") s"

# the store's own unit test (tests/test_backend_ipfs.c) needs a node: run
# it here, where one is up
UNIT=$(dirname "$CAIRN")/tests/test_backend_ipfs
if [[ -x $UNIT ]]; then
	CAIRN_IPFS_API=$IPFS_API "$UNIT" >"$T/unit.out" 2>&1 ||
		{ cat "$T/unit.out" >&2; fail "test_backend_ipfs failed against $IPFS_API"; }
	note "test_backend_ipfs passed against the node"
fi

# mfs_ls DIR: the names in an MFS directory of the node
mfs_ls() {
	curl -sf --max-time 30 -X POST "$IPFS_API/api/v0/files/ls?arg=$1" |
		python3 -c 'import json,sys; print("\n".join(e["Name"] for e in json.load(sys.stdin).get("Entries") or []))'
}

# snap_ids STORE-ARGS...: the snapshot IDs seen through those stores
snap_ids() {
	"$CAIRN" "$@" --json snapshots >"$OUT" 2>"$ERR" || { show_output; fail "snapshots on $* failed"; }
	python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(open(sys.argv[1]))))' "$OUT"
}

RND=$$-$RANDOM
R1=ipfs:$IPFS_API/cairn-test-$RND
R2=ipfs:$IPFS_API/cairn-other-$RND
RR=ipfs:$IPFS_API/cairn-replica-$RND

# ---- 1. init, backup, restore, check ----------------------------------------------

SRC=$T/src
nfiles=$(gen_tree "$SRC")
head -c $((6 * 1024 * 1024 + 4321)) /dev/urandom >"$SRC/six-mib.bin"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$SRC/sub/four-mib.bin"
note "tree: $((nfiles + 2)) files, $(du -sh --apparent-size "$SRC" | cut -f1)"

t0=$(now)
ok -r "$R1" init --pack-size 1M
note "init: $(since "$t0") s"
mfs_ls / | grep -x >/dev/null "cairn-test-$RND" || fail "no MFS directory cairn-test-$RND"
mfs_ls "/cairn-test-$RND" | grep -x >/dev/null config || fail "no config in the MFS directory"
rc_is 1 -r "$R1" init
err_has 'exist'

t0=$(now)
ok -r "$R1" backup "$SRC"
note "backup: $(since "$t0") s"
snap1=$(sed -nE 's/^snapshot ([0-9a-f]{8}) saved$/\1/p' "$OUT")
[[ -n $snap1 ]] || { show_output; fail "no snapshot saved"; }
ok -r "$R1" --json snapshots
py '
s = doc()
assert len(s) == 1 and s[0]["short_id"] == args[0] and s[0]["paths"] == [args[1]], s
' "$snap1" "$SRC"
npacks=$(mfs_ls "/cairn-test-$RND/data" | wc -l)
note "$npacks entries under data/ on the node"

t0=$(now)
ok -r "$R1" restore latest --target "$T/r1"
note "restore: $(since "$t0") s"
tree_compare "$SRC" "$T/r1$SRC"
rm -rf "$T/r1"

t0=$(now)
ok -r "$R1" check --read-data
out_has 'no errors were found'
note "check --read-data: $(since "$t0") s"

# ---- 2. forget and prune ------------------------------------------------------------

rm -f "$SRC/six-mib.bin"
echo 'second backup' >"$SRC/second.txt"
ok -r "$R1" backup "$SRC"
snap2=$(sed -nE 's/^snapshot ([0-9a-f]{8}) saved$/\1/p' "$OUT")
ok -r "$R1" forget --keep-last 1
[[ $(snap_ids -r "$R1") == "$snap2"* ]] || fail "forget --keep-last 1 did not keep $snap2 alone"
t0=$(now)
ok -r "$R1" --json prune
note "prune: $(since "$t0") s"
py '
p = doc()
assert p["message_type"] == "prune" and not p["dry_run"], p
assert p["snapshots"] == 1, p
assert p["marked_packs"] >= 1, p          # the 6 MiB file is no longer needed
assert p["deleted_packs"] == 0, p         # phase two waits for the grace period
'
mpacks=$(sed -nE 's/.*"marked_packs":([0-9]+).*/\1/p' "$OUT")
mfs_ls "/cairn-test-$RND/marks" | grep . >/dev/null || fail "prune recorded nothing under marks/"
ok -r "$R1" --json prune --dry-run
py '
p = doc()
assert p["waiting_packs"] == int(args[0]) and p["marked_packs"] == 0, p
' "$mpacks"
ok -r "$R1" check --read-data
out_has 'no errors were found'
ok -r "$R1" restore latest --target "$T/r2"
tree_compare "$SRC" "$T/r2$SRC"
rm -rf "$T/r2"
note "forget + prune phase one: $mpacks packs recorded, check and restore clean"

# ---- 3. a second repository in another MFS directory ----------------------------------

CAIRN_PASSWORD=other-password ok -r "$R2" init
echo 'in the other repository' | CAIRN_PASSWORD=other-password ok -r "$R2" backup --stdin --stdin-filename other.txt
other=$(CAIRN_PASSWORD=other-password snap_ids -r "$R2")
[[ $(wc -w <<<"$other") == 1 ]] || fail "the second repository has $(wc -w <<<"$other") snapshots"
[[ $(snap_ids -r "$R1") == "$snap2"* ]] || fail "the first repository changed"
[[ $other != "$snap2"* ]] || fail "the second repository shows the first one's snapshot"
rc_is 12 -r "$R2" snapshots
CAIRN_PASSWORD=other-password "$CAIRN" -r "$R2" dump latest other.txt >"$T/dumped" 2>"$ERR" ||
	fail "dump from the second repository failed: $(cat "$ERR")"
[[ $(cat "$T/dumped") == 'in the other repository' ]] || fail "the second repository's data differs"
note "second repository under /cairn-other-$RND is separate"

# ---- 4. replicated: a local directory and the node ------------------------------------

L=$T/local
ok -r "$L" -r "$RR" init --pack-size 1M
t0=$(now)
ok -r "$L" -r "$RR" backup "$SRC"
note "backup to local + IPFS: $(since "$t0") s"
ok -r "$L" -r "$RR" check --replicas --read-data
nobj=$(find "$L" -type f | wc -l)
mapfile -t packs < <(find "$L/data" -type f | LC_ALL=C sort)
((${#packs[@]} >= 3)) || fail "expected several packs, got ${#packs[@]}"
rm -f "${packs[0]}"
chmod u+w "${packs[1]}"
python3 - "${packs[1]}" <<'EOF' || fail "cannot corrupt a pack"
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xFF
open(p, "r+b").write(b)
EOF
chmod 0444 "${packs[1]}"
rc_is 1 --json -r "$L" -r "$RR" check --replicas --read-data
py '
r = lines()[0]
assert r["message_type"] == "replicas", r
a, b = r["stores"]
assert (a["missing"], a["corrupt"]) == (1, 1), a
assert (b["missing"], b["corrupt"], b["read"]) == (0, 0, int(args[0])), b
' "$nobj"
t0=$(now)
ok --json -r "$L" -r "$RR" repair
note "repair from IPFS: $(since "$t0") s"
py '
r = lines()[0]
assert r["repaired"] == 2 and r["unrepairable"] == 0, r
assert [s["repaired"] for s in r["stores"]] == [2, 0], r
'
ok -r "$L" -r "$RR" check --replicas --read-data
out_has 'no errors were found'
[[ -f ${packs[0]} ]] || fail "the deleted pack was not copied back"
ok -r "$L" restore latest --target "$T/r3"
tree_compare "$SRC" "$T/r3$SRC"
rm -rf "$T/r3"
note "replicated: 1 pack deleted + 1 corrupted locally, 2 repaired from IPFS, check clean"

# ---- 5. the node paused -----------------------------------------------------------------

kill -STOP "$IPFS_PID" || fail "cannot pause the node"
t0=$(now)
rc=0
"$CAIRN" -r "$R1" -o timeout.stall=2 -o retry.max-time=3 snapshots >"$OUT" 2>"$ERR" || rc=$?
took=$(since "$t0")
kill -CONT "$IPFS_PID"
note "node paused: snapshots failed (exit $rc) in $took s (timeout.stall=2, retry.max-time=3): $(head -n 1 "$ERR")"
[[ $rc == 1 ]] || { show_output; fail "snapshots on a paused node exited $rc"; }
python3 -c "import sys; sys.exit(not $took < 2 + 3 + 2 + 5)" ||
	fail "a paused node held cairn $took s (timeout.stall=2, retry.max-time=3)"
err_has "$R1"
err_has 'did not answer|time'
ok -r "$R1" snapshots

# ---- 6. the node stopped ----------------------------------------------------------------

"$SERVERS/ipfs.sh" stop "$T/ipfs" >"$T/ipfs-stop.out" 2>&1 || fail "ipfs.sh stop: $(cat "$T/ipfs-stop.out")"
IPFS_STARTED=
# (a stopped node may linger as a zombie until its parent reaps it)
if kill -0 "$IPFS_PID" 2>/dev/null &&
	[[ $(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$IPFS_PID/stat" 2>/dev/null) != Z ]]; then
	fail "the node is still running"
fi
! curl -sf --max-time 5 -X POST "$IPFS_API/api/v0/version" >/dev/null 2>&1 ||
	fail "the node still answers after ipfs.sh stop"
for cmd in snapshots "check" "backup $SRC"; do
	t0=$(now)
	rc=0
	# shellcheck disable=SC2086
	"$CAIRN" -r "$R1" -o retry.max-time=3 $cmd >"$OUT" 2>"$ERR" || rc=$?
	took=$(since "$t0")
	note "node stopped: '$cmd' failed (exit $rc) in $took s: $(head -n 1 "$ERR")"
	[[ $rc == 1 ]] || { show_output; fail "'$cmd' on a stopped node exited $rc"; }
	python3 -c "import sys; sys.exit(not $took < 3 + 5)" ||
		fail "'$cmd' took $took s with retry.max-time=3"
	err_has "^cairn: .*$R1"
	if grep -Eiq 'sanitizer|leak' "$ERR"; then show_output; fail "sanitizer report"; fi
done
rc_is 1 --json -r "$R1" -o retry.max-time=3 snapshots
grep -q '"message_type":"exit_error"' "$ERR" || { show_output; fail "no exit_error line with --json"; }

# ---- 7. fail-over to the local store while the node is down -------------------------

rc=0
"$CAIRN" -r "$L" -r "$RR" -o retry.max-time=3 snapshots >"$OUT" 2>"$ERR" || rc=$?
if [[ $rc != 0 ]]; then
	show_output
	named=
	if grep -q "open repository $L:" "$ERR"; then
		named=" (and the error names the healthy local store, not the node)"
	fi
	fail "-r LOCAL -r IPFS with the node down: snapshots exited $rc instead of reading from $L$named"
fi
ok -r "$L" -r "$RR" -o retry.max-time=3 restore latest --target "$T/r4"
tree_compare "$SRC" "$T/r4$SRC"
note "node down: -r local -r ipfs reads from the local store"

note "ok: $(python3 -c "print(round($(now) - $T_START))") s in all"
