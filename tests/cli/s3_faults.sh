#!/usr/bin/env bash
# s3_faults.sh: an S3 repository reached through the fault-injecting proxy
# (tests/servers/faultproxy.py) in front of moto with SigV4 verification,
# with -o retry.max-time=60 -o timeout.stall=3 -o timeout.connect=2:
#   1. 10% of the requests fail (500, 503, reset-before, reset-after,
#      truncate, flip, put500): backup of ~60 MiB of mixed data in 1 MiB
#      packs, restore (identical), check --read-data (clean), a second
#      backup, forget --keep-last 1 --prune (phase one), check (clean);
#      at least 30 faults, flip among them, must have been injected;
#   2. flipped bits: at 30% flips restore and check --read-data succeed
#      and give the right data (reads are retried); a flipped answer for
#      the config or a listing (40 / 12 seeds, one flip each), or up to 4
#      for a key, snapshot or index file, still gives the right result;
#      at 100% flips nothing is accepted: restore and check fail (never
#      "no errors"), no restored file has wrong content, every pack read
#      whole is reported corrupt, and unreadable key files are not
#      reported as a wrong password (exit 12);
#   3. a stalled answer is cut after timeout.stall and the command gives
#      up within retry.max-time (snapshots, < 20 s);
#   4. an answer at 1 KiB/s is cut by timeout.min-speed: a dump fails
#      within 30 s when every pack read trickles, and succeeds when the
#      first two do;
#   5. 503 with Retry-After for 2 s, then none: a command started in the
#      503 phase succeeds;
#   6. half of the uploads answered 500 after the server stored them: a
#      backup succeeds (the retry finds the object exists), one snapshot
#      is added, check is clean.
# Figures (faults injected per kind, times) are printed for quoting.
# Assertions that fail go on to the next part; the test fails at the end.
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/reliability.bash"
source "$(dirname "$0")/lib/servers.bash"
servers_trap
need_curl_sigv4

T_START=$(now)
rc=0
s3_start moto srv || rc=$?
[[ $rc == 77 ]] && { echo "SKIP: moto cannot run here" >&2; exit 77; }
s3_creds
proxy_start px "${S3_ENDPOINT#http://}"
PFX=faults
export CAIRN_REPOSITORY=s3:$PROXY/$S3_BUCKET/$PFX
O=(-o retry.max-time=60 -o timeout.stall=3 -o timeout.connect=2)
ALL7='["500", "503", "reset-before", "reset-after", "truncate", "flip", "put500"]'
# part 2a's flip rate and seed.  A read from a network store is tried at
# most 5 times when its bytes fail their check (src/backends/backend.c,
# RETRY_CORRUPT_MAX_REMOTE): 5 flips in a row lose it, with probability
# 0.1^5 = 1e-5 per read at this rate (at 0.3 it was 0.24%, and runs of 5
# in the proxy's seeded stream made some seeds fail every time).
FLIP_RATE=0.1
FLIP_SEED=677

# soft_fail MSG: a failed assertion that lets the test go on
soft_fail() {
	echo "FAIL [$TEST_NAME]: $*" >&2
	echo "$*" >>"$T/soft-failures"
}

# step WHAT ARGS...: cairn "${O[@]}" ARGS must succeed; prints the time
# and the faults injected so far
step() {
	local what=$1
	shift
	timed_rc "${O[@]}" "$@"
	if [[ $RC != 0 ]]; then
		show_output
		proxy_report "$what (failed)"
		fail "$what: exit $RC"
	fi
	proxy_report "$what in $SECS s; so far"
}

# restored_ok SRC DST: every regular file under DST is identical to its
# source, or a prefix of it (a partial file); prints the counts
restored_ok() {
	python3 - "$1" "$2" <<-'EOF'
	import os, sys
	src, dst = sys.argv[1], sys.argv[2]
	same = partial = 0
	bad = []
	for d, _, files in os.walk(dst):
	    for f in files:
	        p = os.path.join(d, f)
	        if os.path.islink(p) or not os.path.isfile(p):
	            continue
	        rel = os.path.relpath(p, dst)
	        s = os.path.join(src, rel)
	        got = open(p, "rb").read()
	        want = open(s, "rb").read() if os.path.isfile(s) else None
	        if want == got:
	            same += 1
	        elif want is not None and want.startswith(got):
	            partial += 1
	        else:
	            bad.append(rel)
	print("%d identical, %d partial, %d wrong" % (same, partial, len(bad)))
	for b in bad[:10]:
	    print("  wrong content: " + b, file=sys.stderr)
	sys.exit(1 if bad else 0)
	EOF
}

# ---- the data: ~60 MiB, mixed ------------------------------------------------

S=$T/src
python3 - "$S" <<'EOF' || fail "cannot generate the data"
import os, random, sys
root = sys.argv[1]
r = random.Random(11)
os.makedirs(os.path.join(root, "random"))
for i in range(5):                       # 30 MiB incompressible
    with open(os.path.join(root, "random", "r%d.bin" % i), "wb") as f:
        f.write(r.randbytes(6 << 20))
with open(os.path.join(root, "text.txt"), "wb") as f:   # 20 MiB compressible
    f.write(b"".join(b"line %08d of a compressible text file\n" % (i % 50000)
                     for i in range(20 << 20 >> 5))[: 20 << 20])
block = r.randbytes(1 << 20)             # 5 MiB, deduplicated to 1
with open(os.path.join(root, "dup.bin"), "wb") as f:
    for _ in range(5):
        f.write(block)
for d in range(10):                      # 200 small files, ~5 MiB
    dd = os.path.join(root, "small", "d%d" % d)
    os.makedirs(dd)
    for i in range(20):
        with open(os.path.join(dd, "f%02d" % i), "wb") as f:
            f.write(r.randbytes(r.randint(0, 50000)))
open(os.path.join(root, "empty"), "wb").close()
EOF
note "data: $(find "$S" -type f | wc -l) files, $(du -sh --apparent-size "$S" | cut -f1)"

# ---- 1. 10% of all requests fail -------------------------------------------------

part1() {
	proxy_plan '{"rate": 0, "reset_stats": true}'
	ok "${O[@]}" init --pack-size 1M --chunk-size-files 64K,256K,1M
	proxy_plan '{"rate": 0.1, "faults": '"$ALL7"', "seed": 1, "reset_stats": true}'
	step "1: backup" backup "$S"
	rm -rf "$T/dst1"
	step "1: restore" restore latest --target "$T/dst1"
	tree_compare "$S" "$T/dst1$S"
	rm -rf "$T/dst1"
	step "1: check --read-data" check --read-data
	out_has '^no errors were found$'
	# changes: one file rewritten in part, one removed, one added
	python3 - "$S" <<-'EOF' || fail "cannot change the data"
	import os, random, sys
	root = sys.argv[1]
	r = random.Random(12)
	with open(os.path.join(root, "random", "r1.bin"), "r+b") as f:
	    f.seek(3 << 20)
	    f.write(r.randbytes(1 << 20))
	os.remove(os.path.join(root, "random", "r4.bin"))
	with open(os.path.join(root, "random", "r5.bin"), "wb") as f:
	    f.write(r.randbytes(4 << 20))
	EOF
	step "1: second backup" backup "$S"
	step "1: forget --keep-last 1 --prune" --json forget --keep-last 1 --prune
	py '
p = lines()[-1]
assert p["message_type"] == "prune" and p["snapshots"] == 1, p
assert p["marked_packs"] > 0 and p["deleted_packs"] == 0, p
'
	step "1: check --read-data" check --read-data
	out_has '^no errors were found$'
	rm -rf "$T/dst1"
	step "1: restore" restore latest --target "$T/dst1"
	tree_compare "$S" "$T/dst1$S"
	rm -rf "$T/dst1"
	proxy_report "1: total"
	# flips drawn, and among them those applied: a flip passes answers
	# other than 200 unchanged, and most reads are ranged (206)
	local all flip drawn
	all=$(proxy_faults)
	flip=$(proxy_faults flip)
	drawn=$(proxy_stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["faults"]["flip"])')
	note "1: flips drawn $drawn, applied to a body $flip"
	((all >= 30)) || soft_fail "part 1: only $all faults injected (expected >= 30)"
	((drawn >= 3)) || soft_fail "part 1: only $drawn flips drawn (expected >= 3)"
	proxy_plan '{"rate": 0}'
}

# ---- 2. flipped bits ------------------------------------------------------------

# flips_b WHAT REGEX LIMIT NSEEDS COMMAND: for seeds 1..NSEEDS, at most
# LIMIT answers to requests matching REGEX are flipped while cairn
# COMMAND runs; every run must succeed (snapshots: with all $nsnap
# snapshots).  Prints the outcomes.
flips_b() {
	local what=$1 re=$2 lim=$3 nseeds=$4 cmd=$5 seed good=0 n res=() flipped=0
	for ((seed = 1; seed <= nseeds; seed++)); do
		proxy_plan "$(python3 -c 'import json, sys; print(json.dumps({"rate": 1.0, "faults": ["flip"], "match": sys.argv[1], "limit": int(sys.argv[2]), "seed": int(sys.argv[3]), "reset_stats": True}))' "$re" "$lim" "$seed")"
		RC=0
		"$CAIRN" "${O[@]}" --json "$cmd" >"$OUT" 2>"$ERR" || RC=$?
		flipped=$((flipped + $(proxy_faults flip)))
		if [[ $RC != 0 ]]; then
			res+=("seed-$seed:exit-$RC")
			echo "seed $seed: $(tail -n 1 "$ERR")" >>"$T/flips_b.$what"
			continue
		fi
		if [[ $cmd == snapshots ]]; then
			n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT")
			if [[ $n != "$nsnap" ]]; then
				res+=("seed-$seed:$n-of-$nsnap-snapshots")
				continue
			fi
		fi
		good=$((good + 1))
	done
	note "2b: $what, at most $lim flipped per run, $nseeds seeds: $good right, $flipped answers flipped in all${res:+; failed: ${res[*]}}"
	((flipped >= nseeds)) || fail "2b: $what: fewer flips than runs ($flipped)"
	if ((good != nseeds)); then
		soft_fail "2b: $what: $((nseeds - good)) of $nseeds runs with at most $lim flipped answer(s) failed: ${res[*]}; $(sort -u "$T/flips_b.$what" 2>/dev/null | head -n 3 | tr '\n' ' ')"
	fi
}

part2() {
	local pf=/$S3_BUCKET/$PFX n seed out
	# 2a. FLIP_RATE of the answers flipped: the reads are retried
	proxy_plan '{"rate": '"$FLIP_RATE"', "faults": ["flip"], "seed": '"$FLIP_SEED"', "reset_stats": true}'
	rm -rf "$T/dst2"
	timed_rc "${O[@]}" restore latest --target "$T/dst2"
	proxy_report "2a: restore at $FLIP_RATE flips: exit $RC in $SECS s"
	if [[ $RC != 0 ]]; then
		soft_fail "2a: restore at $FLIP_RATE flips: exit $RC: $(tail -n 1 "$ERR")"
	elif ! (tree_compare "$S" "$T/dst2$S"); then
		soft_fail "2a: restore at $FLIP_RATE flips gave different data"
	fi
	[[ ! -d $T/dst2 ]] || out=$(restored_ok "$S" "$T/dst2$S") ||
		fail "2a: a flipped bit reached a restored file: $out"
	rm -rf "$T/dst2"
	proxy_plan '{"seed": '"$FLIP_SEED"', "reset_stats": true}'
	timed_rc "${O[@]}" check --read-data
	proxy_report "2a: check --read-data at $FLIP_RATE flips: exit $RC in $SECS s"
	if [[ $RC != 0 ]] || ! grep -q '^no errors were found$' "$OUT"; then
		soft_fail "2a: check --read-data at $FLIP_RATE flips: exit $RC: $(grep -m3 -e '^error' -e '^cairn' "$ERR" | tr '\n' ' ')"
	fi
	n=$(proxy_faults flip)
	((n >= 5)) || soft_fail "2a: only $n flips injected by check --read-data (expected >= 5)"

	# 2b. a few flipped answers for one kind of object, under several
	# seeds (the flipped bit differs): read again, the command succeeds
	# with the right result.  Content-addressed objects are read up to 5
	# times (4 flips), the config up to 3 times (1 flip here).
	local nsnap
	proxy_plan '{"rate": 0, "match": null, "limit": null}'
	nsnap=$(snapshot_count)
	flips_b "config" "^GET $pf/config\$" 1 40 snapshots
	flips_b "key listing" "list-type=2&max-keys=[0-9]*&prefix=$PFX%2Fkeys" 1 12 snapshots
	flips_b "snapshot listing" "list-type=2&max-keys=[0-9]*&prefix=$PFX%2Fsnapshots" 1 12 snapshots
	flips_b "key" "^GET $pf/keys/" 4 3 snapshots
	flips_b "snapshot" "^GET $pf/snapshots/" 4 3 snapshots
	flips_b "index" "^GET $pf/index/" 4 3 check
	proxy_plan '{"rate": 0, "match": null, "limit": null}'

	# 2c. every answer flipped: nothing wrong is ever accepted
	proxy_plan '{"rate": 1.0, "faults": ["flip"], "seed": 4, "reset_stats": true}'
	rm -rf "$T/dst3"
	timed_rc "${O[@]}" restore latest --target "$T/dst3"
	proxy_report "2c: restore at 100% flips: exit $RC in $SECS s: $(tail -n 1 "$ERR")"
	[[ $RC != 0 ]] || fail "2c: restore succeeded with every answer flipped"
	if [[ -d $T/dst3 ]]; then
		out=$(restored_ok "$S" "$T/dst3$S") || fail "2c: a flipped bit reached a restored file: $out"
		note "2c: restored files: $out"
	else
		note "2c: restore wrote nothing"
	fi
	rm -rf "$T/dst3"
	timed_rc "${O[@]}" check --read-data
	note "2c: check --read-data at 100% flips: exit $RC: $(tail -n 1 "$ERR")"
	[[ $RC != 0 ]] || fail "2c: check --read-data passed with every answer flipped"
	grep -q 'no errors' "$OUT" && fail "2c: check said 'no errors' with every answer flipped"
	# every pack read whole is flipped (ranged reads, HTTP 206, are passed
	# by the proxy): check reports each
	proxy_plan '{"rate": 1.0, "faults": ["flip"], "match": "^GET '"$pf"'/data/", "seed": 5, "reset_stats": true}'
	timed_rc "${O[@]}" check --read-data
	n=$(grep -c '^error: pack [0-9a-f]*: data is corrupt' "$ERR")
	proxy_report "2c: check --read-data, every whole pack flipped: exit $RC in $SECS s, $n packs reported corrupt"
	[[ $RC == 1 ]] || fail "2c: check --read-data with flipped packs: exit $RC, expected 1"
	grep -q 'no errors' "$OUT" && fail "2c: check said 'no errors' with flipped packs"
	((n > 0)) || fail "2c: check reported no corrupt pack"
	grep -Eq "(^| )$n errors? found" "$OUT" "$ERR" ||
		soft_fail "2c: check's count of errors is not $n: $(tail -n 1 "$ERR")"
	# every key file read flipped: an error, but not "wrong password"
	proxy_plan '{"rate": 1.0, "faults": ["flip"], "match": "^GET '"$pf"'/keys/", "seed": 6, "reset_stats": true}'
	timed_rc "${O[@]}" snapshots
	note "2c: every key file read flipped: snapshots exit $RC: $(tail -n 1 "$ERR")"
	[[ $RC != 0 ]] || fail "2c: snapshots succeeded with every key file flipped"
	[[ $RC != 12 ]] || soft_fail "2c: key files that fail their hash check are reported as a wrong password (exit 12): $(tail -n 1 "$ERR")"
	proxy_plan '{"rate": 0, "match": null}'
	ok "${O[@]}" check --read-data
	out_has '^no errors were found$'
}

# ---- 3. stall ---------------------------------------------------------------------

part3() {
	proxy_plan '{"rate": 1.0, "faults": ["stall"], "seed": 7, "reset_stats": true}'
	timed_rc "${O[@]}" -o timeout.stall=2 -o retry.max-time=5 snapshots
	proxy_report "3: snapshots, every answer stalled, timeout.stall=2 retry.max-time=5: exit $RC in $SECS s"
	note "3: $(tail -n 1 "$ERR")"
	proxy_plan '{"rate": 0}'
	[[ $RC != 0 ]] || fail "3: snapshots succeeded although every answer stalled"
	lt "$SECS" 20 || fail "3: snapshots took $SECS s to give up (expected < 20)"
	lt 4 "$SECS" || fail "3: snapshots gave up after $SECS s, before two stall timeouts"
	(($(proxy_faults stall) >= 2)) || fail "3: fewer than 2 stalls injected (no retry?)"
}

# ---- 4. trickle ---------------------------------------------------------------------

part4() {
	local f=random/r0.bin
	local TO=(-o timeout.stall=2 -o timeout.min-speed=4096)
	proxy_plan '{"rate": 1.0, "faults": ["trickle"], "match": "^GET /'"$S3_BUCKET/$PFX"'/data/", "seed": 8, "reset_stats": true}'
	local t0
	t0=$(now)
	RC=0
	"$CAIRN" "${O[@]}" "${TO[@]}" -o retry.max-time=10 dump latest "$S/$f" >"$T/dumped" 2>"$ERR" || RC=$?
	SECS=$(since "$t0")
	proxy_report "4: dump, every pack read at 1 KiB/s, retry.max-time=10: exit $RC in $SECS s"
	note "4: $(tail -n 1 "$ERR")"
	[[ $RC != 0 ]] || fail "4: the dump succeeded although every pack read trickled"
	lt "$SECS" 30 || fail "4: the dump took $SECS s (expected < 30)"
	(($(proxy_faults trickle) >= 2)) || fail "4: fewer than 2 trickled answers (no retry?)"
	# the first two pack reads trickle, the retries do not
	proxy_plan '{"limit": 2, "reset_stats": true}'
	t0=$(now)
	RC=0
	"$CAIRN" "${O[@]}" "${TO[@]}" dump latest "$S/$f" >"$T/dumped" 2>"$ERR" || RC=$?
	SECS=$(since "$t0")
	proxy_report "4: dump, the first 2 pack reads at 1 KiB/s: exit $RC in $SECS s"
	proxy_plan '{"rate": 0, "match": null, "limit": null}'
	[[ $RC == 0 ]] || fail "4: the dump failed after two trickled reads: $(tail -n 1 "$ERR")"
	cmp -s "$T/dumped" "$S/$f" || fail "4: the dump differs"
	lt "$SECS" 30 || fail "4: the dump took $SECS s (expected < 30)"
}

# ---- 5. 503 with Retry-After, then none ------------------------------------------

part5() {
	local sw t0 nsnap
	nsnap=$(snapshot_count)
	proxy_plan '{"rate": 1.0, "faults": ["503"], "seed": 9, "reset_stats": true}'
	t0=$(now)
	(
		sleep 2
		proxy_plan '{"rate": 0}'
	) &
	sw=$!
	RC=0
	"$CAIRN" "${O[@]}" --json snapshots >"$OUT" 2>"$ERR" || RC=$?
	SECS=$(since "$t0")
	wait "$sw" || fail "5: could not switch the 503s off"
	proxy_report "5: snapshots through 2 s of 503 + Retry-After: 1: exit $RC in $SECS s"
	[[ $RC == 0 ]] || { show_output; fail "5: snapshots failed: exit $RC"; }
	py 'assert len(doc()) == int(args[0]), doc()' "$nsnap"
	(($(proxy_faults 503) >= 2)) || fail "5: fewer than two 503 answers"
	lt 2 "$SECS" || fail "5: snapshots finished in $SECS s, before the 503s ended"
	lt "$SECS" 10 || fail "5: snapshots took $SECS s after 2 s of 503s"
}

# ---- 6. put500: stored, but answered 500 -------------------------------------------

part6() {
	local before
	proxy_plan '{"rate": 0}'
	before=$(snapshot_count)
	python3 - "$S/put500" <<-'EOF' || fail "cannot generate data"
	import os, random, sys
	os.makedirs(sys.argv[1])
	r = random.Random(13)
	for i in range(4):
	    with open(os.path.join(sys.argv[1], "p%d.bin" % i), "wb") as f:
	        f.write(r.randbytes(2 << 20))
	EOF
	proxy_plan '{"rate": 0.5, "faults": ["put500"], "seed": 10, "reset_stats": true}'
	step "6: backup, half of the uploads answered 500 after storing" backup "$S"
	local n
	n=$(proxy_faults put500)
	proxy_plan '{"rate": 0}'
	((n >= 3)) || fail "6: only $n put500 faults injected"
	[[ $(snapshot_count) == $((before + 1)) ]] || fail "6: expected exactly one new snapshot"
	ok "${O[@]}" check --read-data
	out_has '^no errors were found$'
	rm -rf "$T/dst6"
	ok "${O[@]}" restore latest --target "$T/dst6" --include "$S/put500/*"
	tree_compare "$S/put500" "$T/dst6$S/put500"
	rm -rf "$T/dst6"
}

# ---- run the parts ----------------------------------------------------------------

failed=()
for part in 1 2 3 4 5 6; do
	# no fault plan leaks from a part that failed half-way
	proxy_plan '{"rate": 0, "match": null, "limit": null, "reset_stats": true}'
	t0=$(now)
	rc=0
	("part$part") || rc=$?
	note "part $part: exit $rc, $(since "$t0") s"
	[[ $rc == 0 ]] || failed+=("$part")
	if [[ $part == 1 && $rc != 0 ]]; then
		# the others need the repository of part 1
		"$CAIRN" "${O[@]}" snapshots >/dev/null 2>&1 || fail "part 1 left no repository"
	fi
done
note "total $(since "$T_START") s"
if [[ -s $T/soft-failures ]]; then
	echo "FAIL [$TEST_NAME]: failed assertions:" >&2
	sed 's/^/  /' "$T/soft-failures" >&2
fi
((${#failed[@]} == 0)) || fail "parts failed: ${failed[*]}"
[[ ! -s $T/soft-failures ]] || fail "$(wc -l <"$T/soft-failures") failed assertion(s)"
note "ok"
