#!/usr/bin/env bash
# s3.sh: repositories in S3 buckets, against moto (SigV4 verification on)
# and s3rver, each in turn (one that cannot run here is skipped; the test
# is skipped when neither runs):
#   - init, backup of a tree (300 small files in nested directories, a
#     20 MiB random file, an empty file, a symlink), snapshots, ls,
#     restore (identical), dump of one file, check --read-data, a second
#     backup with changes, forget --keep-last 1 --prune (phase one: a
#     deletion record, nothing deleted), check, restore, stats;
#   - init on an existing repository is refused (exit 1);
#   - two repositories in one bucket, one's prefix a string prefix of the
#     other's, do not see each other;
#   - a wrong secret: exit 1 and a message about credentials at once (no
#     retrying); an unknown bucket or prefix: exit 10 ("does not exist");
#     an endpoint that is down (a closed port): exit 1, within
#     retry.max-time, with a message that says what failed;
#   - moto only: with --object-lock-days 1 --object-lock-mode governance
#     the objects carry the lock (HEAD shows GOVERNANCE and a
#     retain-until date a day ahead); objects of the other bucket do not;
#   - credentials from a shared credentials file and a profile;
#   - moto only: every listing asks for a prefix, never the whole bucket
#     (read from the server's request log);
#   - the secret is never in a cairn process's argv nor in anything cairn
#     prints (every run's stdout and stderr are kept and searched).
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/reliability.bash"
source "$(dirname "$0")/lib/servers.bash"
servers_trap
need_curl_sigv4

# every run of cairn keeps a copy of its stdout and stderr in $T/all.*
CAIRN_REAL=$CAIRN
mkdir -p "$T/bin"
cat >"$T/bin/cairn" <<EOF
#!/usr/bin/env bash
set -o pipefail
{ { "$CAIRN_REAL" "\$@" 2>&1 1>&3 3>&- | tee -a "$T/all.stderr" >&2; exit \${PIPESTATUS[0]}; } 3>&1 |
	tee -a "$T/all.stdout"; }
EOF
chmod +x "$T/bin/cairn"
CAIRN=$T/bin/cairn

# ---- the tree ----------------------------------------------------------------

S=$T/src
python3 - "$T/src.orig" <<'EOF' || fail "cannot generate the tree"
import os, random, sys
root = sys.argv[1]
r = random.Random(7)
for d in range(10):
    for e in range(3):
        dd = os.path.join(root, "d%d" % d, "e%d" % e)
        os.makedirs(dd)
        for f in range(10):
            with open(os.path.join(dd, "f%02d.txt" % f), "wb") as fh:
                fh.write(b"file %d/%d/%d\n" % (d, e, f) * r.randint(1, 3000))
with open(os.path.join(root, "big.bin"), "wb") as fh:
    fh.write(r.randbytes(20 << 20))
open(os.path.join(root, "empty"), "wb").close()
os.makedirs(os.path.join(root, "deep", "a", "b", "c"))
with open(os.path.join(root, "deep", "a", "b", "c", "leaf"), "w") as fh:
    fh.write("leaf\n")
os.symlink("d0/e0/f00.txt", os.path.join(root, "link"))
EOF
NFILES=$(find "$T/src.orig" -type f | wc -l)
note "tree: $NFILES regular files, $(du -sh --apparent-size "$T/src.orig" | cut -f1)"

# a port nothing listens on
CLOSED_PORT=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# ---- one server ----------------------------------------------------------------

s3_suite() {
	local kind=$1 t0 id1 id2 k rc
	s3_start "$kind" "srv-$kind" || exit $?
	note "$kind on $S3_ENDPOINT"
	s3_creds
	echo "$SK" >>"$T/secrets"
	rm -rf "$S"
	cp -a "$T/src.orig" "$S" || fail "cannot copy the tree"
	local B=s3:$S3_ENDPOINT/$S3_BUCKET
	export CAIRN_REPOSITORY=$B/repo-a

	# -- init, backup, look, restore, dump, check
	ok init --pack-size 4M
	out_has "^created cairn repository [0-9a-f]+ at s3:"
	rc_is 1 init
	err_has 'already exists'
	t0=$(now)
	ok --json backup "$S"
	note "$kind: first backup $(since "$t0") s"
	py '
s = [l for l in lines() if l["message_type"] == "summary"][-1]
assert s["files_new"] == int(args[0]) and s["files_failed"] == 0, s
' "$NFILES"
	ok snapshots --json
	py 'assert len(doc()) == 1, doc()'
	id1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["id"])' "$OUT")
	ok ls latest
	for p in "$S/big.bin" "$S/empty" "$S/link" "$S/deep/a/b/c/leaf" "$S/d9/e2/f09.txt"; do
		grep -qxF -- "$p" "$OUT" || { show_output; fail "ls lacks $p"; }
	done
	ok --json ls latest "$S/link"
	py '
n = [l for l in lines() if l.get("message_type") == "node"]
assert len(n) == 1 and n[0]["type"] == "symlink" and n[0]["link_target"] == "d0/e0/f00.txt", n
'
	t0=$(now)
	ok restore latest --target "$T/dst-$kind"
	note "$kind: restore $(since "$t0") s"
	diff -r --no-dereference "$S" "$T/dst-$kind$S" >&2 || fail "diff -r: the restore differs"
	tree_compare "$S" "$T/dst-$kind$S"
	rm -rf "$T/dst-$kind"
	"$CAIRN" dump latest "$S/big.bin" 2>"$ERR" | cmp - "$S/big.bin" ||
		fail "dump of big.bin differs: $(cat "$ERR")"
	"$CAIRN" dump latest "$S/empty" >"$OUT" 2>"$ERR" || fail "dump of an empty file failed"
	out_empty
	ok check --read-data
	out_has '^no errors were found$'

	# -- a second backup with changes
	echo "changed" >>"$S/d3/e1/f04.txt"
	rm "$S/d5/e0/f01.txt" "$S/big.bin"
	head -c 3000000 /dev/urandom >"$S/new.bin"
	ok --json backup "$S"
	py '
s = [l for l in lines() if l["message_type"] == "summary"][-1]
assert s["files_new"] == 1 and s["files_changed"] == 1, s
assert s["files_unmodified"] == int(args[0]) - 3, s
assert 3000000 <= s["data_added"] < 4000000, s
' "$NFILES"
	id2=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1]["snapshot_id"])' "$OUT")
	[[ $(snapshot_count) == 2 ]] || fail "expected 2 snapshots"

	# -- forget + prune, phase one: a deletion record, nothing deleted yet
	s3_keys "$S3_BUCKET" repo-a/data/ >"$T/packs-before"
	ok --json forget --keep-last 1 --prune
	py '
d = lines()
f, p = d[0], d[-1]
assert [s["id"] for g in f for s in g["remove"]] == [args[0]], f
assert [s["id"] for g in f for s in g["keep"]] == [args[1]], f
assert p["message_type"] == "prune" and p["snapshots"] == 1, p
assert p["marked_packs"] >= p["unused_packs"] > 0 and p["deleted_packs"] == 0, p
' "$id1" "$id2"
	note "$kind: prune marked $(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1])][-1]["marked_packs"])' "$OUT") packs"
	s3_keys "$S3_BUCKET" repo-a/data/ >"$T/packs-after"
	[[ -z $(comm -23 "$T/packs-before" "$T/packs-after") ]] || fail "prune phase one deleted packs"
	[[ $(s3_keys "$S3_BUCKET" repo-a/marks/ | grep -c '^repo-a/marks/[0-9a-f]\{64\}$') == 1 ]] ||
		fail "prune phase one should leave one deletion record under repo-a/marks/"
	[[ $(snapshot_count) == 1 ]] || fail "forget should leave 1 snapshot"
	ok check --read-data
	out_has '^no errors were found$'
	ok restore latest --target "$T/dst2-$kind"
	tree_compare "$S" "$T/dst2-$kind$S"
	rm -rf "$T/dst2-$kind"

	ok --json stats
	py '
d = doc()
assert d["snapshots_count"] == 1 and d["total_file_count"] == int(args[0]) - 1, d
assert d["pack_count"] > 0 and d["total_size"] > 3000000, d
assert d["prune"]["waiting_size"] > 0, d
' "$NFILES"
	ok stats
	out_has 'Snapshots|snapshots'

	# -- prefixes: repo-a-2 (repo-a is a string prefix of it) and repo-a
	export CAIRN_REPOSITORY=$B/repo-a-2
	rc_is 10 snapshots
	ok init
	echo "other repository" | "$CAIRN" backup --stdin --stdin-filename other >"$OUT" 2>"$ERR" ||
		fail "backup into repo-a-2 failed: $(cat "$ERR")"
	ok --json snapshots
	py 'd = doc(); assert len(d) == 1 and d[0]["paths"] == ["/other"], d'
	ok check
	out_has '^no errors were found$'
	export CAIRN_REPOSITORY=$B/repo-a
	ok --json snapshots
	py 'd = doc(); assert [s["id"] for s in d] == [args[0]], d' "$id2"
	ok check
	out_has '^no errors were found$'

	# -- errors
	local wrong=wrong-secret-$RANDOM$RANDOM
	echo "$wrong" >"$T/wrong-secrets"
	RC=0
	t0=$(now)
	AWS_SECRET_ACCESS_KEY=$wrong "$CAIRN" snapshots >"$OUT" 2>"$ERR" || RC=$?
	SECS=$(since "$t0")
	note "$kind: wrong secret: exit $RC after $SECS s: $(head -n 1 "$ERR")"
	[[ $RC == 1 ]] || { show_output; fail "a wrong secret: exit $RC, expected 1"; }
	err_has 'credentials'
	lt "$SECS" 5 || fail "a wrong secret took $SECS s (retried?)"
	AWS_ACCESS_KEY_ID=AKIANOSUCHKEY000000 "$CAIRN" snapshots >"$OUT" 2>"$ERR" && fail "an unknown access key succeeded"
	err_has 'credentials'

	timed_rc -r "s3:$S3_ENDPOINT/no-such-bucket-$$/x" -o retry.max-time=2 snapshots
	note "$kind: unknown bucket: exit $RC after $SECS s: $(head -n 1 "$ERR")"
	[[ $RC == 10 ]] || { show_output; fail "an unknown bucket: exit $RC, expected 10"; }
	err_has 'does not exist'
	lt "$SECS" 5 || fail "an unknown bucket took $SECS s"
	timed_rc -r "$B/no-such-prefix" -o retry.max-time=2 snapshots
	[[ $RC == 10 ]] || { show_output; fail "an unknown prefix: exit $RC, expected 10"; }
	err_has 'does not exist'

	timed_rc -r "s3:http://127.0.0.1:$CLOSED_PORT/$S3_BUCKET/repo-a" \
		-o retry.max-time=2 -o timeout.connect=1 snapshots
	note "$kind: endpoint down: exit $RC after $SECS s: $(head -n 1 "$ERR")"
	[[ $RC == 1 ]] || { show_output; fail "endpoint down: exit $RC, expected 1"; }
	err_has "127\.0\.0\.1:$CLOSED_PORT"
	lt "$SECS" 5 || fail "endpoint down with retry.max-time=2 took $SECS s"
	# what failed should be said: "input/output error" does not
	if ! grep -Eiq 'connect|refused|unreachable|reach' "$ERR"; then
		soft_fail "endpoint down: the message does not say that the connection failed: $(head -n 1 "$ERR")"
	fi

	# -- Object Lock (moto)
	if [[ -n $S3_LOCK_BUCKET ]]; then
		local L=s3:$S3_ENDPOINT/$S3_LOCK_BUCKET/locked
		local LO=(-r "$L" --object-lock-days 1 --object-lock-mode governance)
		ok "${LO[@]}" init
		echo "locked data" | "$CAIRN" "${LO[@]}" backup --stdin --stdin-filename locked \
			>"$OUT" 2>"$ERR" || fail "backup with Object Lock failed: $(cat "$ERR")"
		ok "${LO[@]}" check --read-data
		out_has '^no errors were found$'
		s3_keys "$S3_LOCK_BUCKET" locked/ >"$T/locked-keys"
		grep -q '^locked/data/' "$T/locked-keys" || fail "no pack in the lock bucket: $(cat "$T/locked-keys")"
		for k in "$(grep -m1 '^locked/data/' "$T/locked-keys")" \
			"$(grep -m1 '^locked/snapshots/' "$T/locked-keys")" locked/config; do
			s3_curl HEAD "$S3_ENDPOINT/$S3_LOCK_BUCKET/$k" -I >"$T/head"
			tr -d '\r' <"$T/head" >"$T/head.txt"
			grep -qi '^HTTP/[0-9.]* 200' "$T/head.txt" || fail "HEAD $k: $(cat "$T/head.txt")"
			grep -qix 'x-amz-object-lock-mode: GOVERNANCE' "$T/head.txt" ||
				fail "HEAD $k: no GOVERNANCE lock: $(cat "$T/head.txt")"
			python3 - "$T/head.txt" <<-'EOF' || fail "HEAD $k: retain-until is not a day ahead"
			import datetime, re, sys, time
			h = open(sys.argv[1]).read()
			m = re.search(r"(?im)^x-amz-object-lock-retain-until-date: *(\S+)", h)
			assert m, h
			t = datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
			ahead = t - time.time()
			print("  retain-until %s: %.0f s ahead" % (m.group(1), ahead), file=sys.stderr)
			assert 86400 - 900 < ahead <= 86400 + 60, ahead
			EOF
		done
		note "$kind: Object Lock on $(grep -c . "$T/locked-keys") objects of the lock bucket (3 checked)"
		# the other bucket's objects carry no lock
		k=$(s3_keys "$S3_BUCKET" repo-a/snapshots/ | head -n 1)
		s3_curl HEAD "$S3_ENDPOINT/$S3_BUCKET/$k" -I | tr -d '\r' >"$T/head.txt"
		grep -qi '^x-amz-object-lock-mode:' "$T/head.txt" && fail "an object without lock options is locked"
	fi

	# -- a shared credentials file and a profile
	cat >"$T/credentials" <<-EOF
	[default]
	aws_access_key_id = AKIANOTTHISONE000000
	aws_secret_access_key = not-this-secret
	[cairn-test]
	# a comment
	aws_access_key_id = $AK
	aws_secret_access_key = $SK
	EOF
	chmod 600 "$T/credentials"
	(
		unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
		export AWS_SHARED_CREDENTIALS_FILE=$T/credentials AWS_PROFILE=cairn-test
		ok --json snapshots
		py 'd = doc(); assert [s["id"] for s in d] == [args[0]], d' "$id2"
		echo "via the file" | "$CAIRN" backup --stdin --stdin-filename viafile \
			>"$OUT" 2>"$ERR" || fail "backup with the credentials file failed: $(cat "$ERR")"
		AWS_PROFILE=default rc_is 1 snapshots
		err_has 'credentials'
		AWS_PROFILE=no-such-profile rc_is 1 snapshots
	) || exit 1
	echo "not-this-secret" >>"$T/wrong-secrets"

	# -- the secret is not in any cairn process's argv
	"$CAIRN" backup --stdin-from-command --stdin-filename argv -- sh -c 'sleep 3; echo argv' \
		>"$T/argv.out" 2>"$T/argv.err" &
	local bpid=$! seen=0 exe p
	exe=$(readlink -f "$CAIRN_REAL")
	while kill -0 "$bpid" 2>/dev/null; do
		for p in /proc/[0-9]*; do
			[[ $(readlink "$p/exe" 2>/dev/null) == "$exe" ]] || continue
			tr '\0' ' ' <"$p/cmdline" >"$T/argv" 2>/dev/null || continue
			[[ -s $T/argv ]] || continue
			seen=$((seen + 1))
			if grep -qF -- "$SK" "$T/argv"; then
				fail "the secret is in the argv of cairn: $(cat "$T/argv")"
			fi
		done
		sleep 0.2
	done
	wait "$bpid" || fail "the backup for the argv check failed: $(cat "$T/argv.err")"
	((seen > 0)) || fail "never saw the cairn process to check its argv"
	note "$kind: argv of cairn read $seen times, no secret in it"
	ok --json snapshots
	py 'assert len(doc()) == 3, doc()'

	# -- listings ask the server for the repository's prefix only (moto
	# logs each request line)
	local log=$T/srv-$kind/moto.log
	if [[ -f $log ]]; then
		local nlist nempty
		nlist=$(grep -c 'list-type=2' "$log")
		nempty=$(grep -Ec 'list-type=2[^ "]*&prefix=( |&|")' "$log")
		note "$kind: $nlist listings in the server log, $nempty of them with an empty prefix"
		((nlist > 0)) || fail "no listing in $log"
		if ((nempty > 0)); then
			soft_fail "$nempty of $nlist listings ask for the whole bucket (prefix= empty), e.g. $(grep -Em1 'list-type=2[^ "]*&prefix=( |&|")' "$log")"
		fi
	fi
	note "$kind: ok"
}

# soft_fail MSG: a failed assertion that lets the test go on (it still
# fails at the end)
soft_fail() {
	echo "FAIL [$TEST_NAME]: $*" >&2
	echo "$*" >>"$T/soft-failures"
}

# ---- both servers --------------------------------------------------------------

ran=0
failed=()
for kind in moto s3rver; do
	rc=0
	(s3_suite "$kind") || rc=$?
	"$SERVERS/s3.sh" stop "$T/srv-$kind" 2>/dev/null || true
	rm -f "$T/srv-$kind/env"
	case $rc in
	0) ran=$((ran + 1)) ;;
	77) note "$kind: skipped" ;;
	*)
		ran=$((ran + 1))
		failed+=("$kind")
		;;
	esac
done
((ran > 0)) || { echo "SKIP: neither moto nor s3rver can run here" >&2; exit 77; }

# ---- the secret in any output ---------------------------------------------------

touch "$T/all.stdout" "$T/all.stderr"
note "kept $(wc -c <"$T/all.stdout") bytes of stdout and $(wc -c <"$T/all.stderr") of stderr"
while read -r secret; do
	[[ -n $secret ]] || continue
	if grep -aqF -- "$secret" "$T/all.stdout" "$T/all.stderr"; then
		soft_fail "a secret appears in cairn's output"
	fi
done < <(cat "$T/secrets" "$T/wrong-secrets" 2>/dev/null)

if ((${#failed[@]})); then
	fail "failed with: ${failed[*]}"
fi
if [[ -s $T/soft-failures ]]; then
	sed 's/^/  /' "$T/soft-failures" >&2
	fail "$(wc -l <"$T/soft-failures") failed assertion(s) above"
fi
note "ok ($ran servers)"
