#!/usr/bin/env bash
# replicas.sh: a repository kept on three stores at once (two local
# directories and a moto S3 bucket; three local directories when moto
# cannot run).
#   1. init and two backups reach every store; check --replicas
#      --read-data is clean.
#   2. On one store, about 10% of the objects (data/, index/, snapshots/,
#      keys/; several packs among them) are deleted and another 10% get
#      one byte flipped: check --replicas --read-data names exactly those
#      (table, error lines and --json); repair copies them all back; then
#      the stores agree, every snapshot restores byte-identical from each
#      store alone, and the damaged directory equals a healthy one.
#   3. A whole store is lost (rm -rf): commands on the three stores still
#      work, repair fills the directory made at open, check is clean.
#   4. Quorum: with one store unwritable (its data/ a file; with S3 also a
#      closed port), a backup with the default quorum (all) fails and
#      claims no snapshot; with --quorum 2 it succeeds; repair then
#      brings the third store level.
#   5. Reads fail over: every pack of the first store corrupt, a restore
#      from it and a second store is exact and prints no error; with one
#      of those packs also lost on the second store, repair takes the
#      third store's copy (hash-verified), never the corrupt one.
#   6. --repository-file (comments, blank lines, "quorum 2", "option")
#      and CAIRN_REPOSITORY_FILE.
#   7. --json of check --replicas parses and names the stores.
#   8. The per-store table tells the stores apart (store names there are
#      cut to 40 characters, so two long local paths look alike).
# CAIRN_TEST_SEED fixes the choice of damaged objects.
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/reliability.bash"
unset CAIRN_REPOSITORY CAIRN_REPOSITORY_FILE

SERVERS=$(cd "$(dirname "$0")/../servers" && pwd -P)
SEED=${CAIRN_TEST_SEED:-$((RANDOM * 32768 + RANDOM))}
note "seed $SEED (CAIRN_TEST_SEED)"
T_START=$(date +%s.%N)

S3_STARTED=
S3_PID=
stop_all() {
	local rc=$?
	if [[ -n $S3_STARTED ]]; then
		"$SERVERS/s3.sh" stop "$T/s3srv" >/dev/null 2>&1 || true
		if [[ -n $S3_PID ]] && kill -0 "$S3_PID" 2>/dev/null; then
			kill "$S3_PID" 2>/dev/null || true
		fi
	fi
	cleanup
	exit "$rc"
}
trap stop_all EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

now() { date +%s.%N; }
since() { python3 -c "import sys; print(round($(now) - $1, 1))"; }

# ---- the stores ---------------------------------------------------------------

S1=$T/s1
S2=$T/s2
S3_IS_S3=0
rc=0
"$SERVERS/s3.sh" start moto 0 "$T/s3srv" >"$T/s3start.out" 2>&1 || rc=$?
if [[ $rc == 0 ]]; then
	S3_STARTED=1
	set -a
	# shellcheck disable=SC1091
	source "$T/s3srv/env"
	set +a
	export AWS_REGION=${S3_REGION:-us-east-1}
	S3=s3:$S3_ENDPOINT/$S3_BUCKET/replicas-$$-$RANDOM
	S3_IS_S3=1
	note "third store: $S3 (moto, PID $S3_PID)"
else
	[[ $rc == 77 ]] || fail "s3.sh start moto failed: $(cat "$T/s3start.out")"
	S3=$T/s3local
	note "moto cannot run here ($(tail -n 1 "$T/s3start.out")); third store is local: $S3"
fi
ALL=(-r "$S1" -r "$S2" -r "$S3")

# ---- helpers ------------------------------------------------------------------

# table_row IDX FILE: the counts of the IDX-th store (0-based) in the last
# per-store table of FILE, as "read=R missing=M corrupt=C unreadable=U
# [repaired=P]".
table_row() {
	python3 - "$@" <<-'EOF' || { show_output; fail "no per-store table on stderr"; }
	import re, sys
	idx, path = int(sys.argv[1]), sys.argv[2]
	lines = open(path, errors="replace").read().splitlines()
	hdr = [i for i, l in enumerate(lines)
	       if re.match(r"^store\s+read\s+missing\s+corrupt\s+unreadable", l)]
	assert hdr, "no table"
	cols = lines[hdr[-1]].split()[1:]
	row = lines[hdr[-1] + 1 + idx]
	nums = row.split()[-len(cols):]
	assert all(n.isdigit() for n in nums), row
	print(" ".join("%s=%s" % kv for kv in zip(cols, nums)))
	EOF
}

# row_is IDX WANT: the IDX-th table row of $ERR starts with WANT
row_is() {
	local got
	got=$(table_row "$1" "$ERR")
	[[ $got == "$2"* ]] || { show_output; fail "store $1 table row: got '$got', want '$2...'"; }
}

# count_snaps STORE-ARGS...: the number of snapshots seen through those stores
count_snaps() {
	"$CAIRN" "$@" --json snapshots 2>"$ERR" >"$OUT" || { show_output; fail "snapshots on $* failed"; }
	python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$OUT"
}

# restore_same WANT SNAP STORE-ARGS...: SNAP restores from those stores
# exactly like the tree WANT, with nothing on stderr that looks like a
# problem
restore_same() {
	local want=$1 snap=$2
	shift 2
	rm -rf "$T/rst"
	"$CAIRN" "$@" restore "$snap" --target "$T/rst" >"$OUT" 2>"$ERR" ||
		{ show_output; fail "restore $snap from [$*] failed"; }
	if grep -Eiq 'error|warn|fail|corrupt|cannot|sanitizer' "$ERR"; then
		show_output
		fail "restore $snap from [$*] printed a problem"
	fi
	tree_compare "$want" "$T/rst$SRC"
	rm -rf "$T/rst"
}

# restore_all LABEL STORE-ARGS...: every snapshot taken so far is exact
restore_all() {
	local label=$1 i
	shift
	for i in "${!SNAPS[@]}"; do
		restore_same "${WANTS[$i]}" "${SNAPS[$i]}" "$@"
	done
	note "$label: ${#SNAPS[@]} snapshots restore byte-identical"
}

# check_clean: check --replicas --read-data on the three stores passes
check_clean() {
	ok "${ALL[@]}" check --replicas --read-data
	out_has 'no errors were found'
	local i
	for i in 0 1 2; do
		row_is "$i" "read=$1 missing=0 corrupt=0 unreadable=0"
	done
}

# object_count DIR: objects of a local store (config, keys, snapshots,
# index, data, dicts, marks)
object_count() {
	find "$1" -type f | wc -l
}

# same_dirs A B: two local stores hold the same files, bytes and modes
same_dirs() {
	diff -r "$1" "$2" >&2 || fail "$1 and $2 differ"
	diff <(cd "$1" && find . -printf '%y %m %P\n' | LC_ALL=C sort) \
		<(cd "$2" && find . -printf '%y %m %P\n' | LC_ALL=C sort) >&2 ||
		fail "$1 and $2 differ in entries or modes"
}

# flip_middle FILE: one byte in the middle of FILE inverted; mode kept
flip_middle() {
	local mode
	mode=$(stat -c %a "$1")
	chmod u+w "$1"
	python3 - "$1" <<-'EOF' || fail "cannot corrupt $1"
	import sys
	p = sys.argv[1]
	b = bytearray(open(p, "rb").read())
	assert b, p
	b[len(b) // 2] ^= 0xFF
	open(p, "r+b").write(b)
	EOF
	chmod "$mode" "$1"
}

# ---- 1. init, two backups, clean ------------------------------------------------

SRC=$T/src
python3 - "$SRC" "$SEED" <<'EOF' || fail "cannot generate the tree"
import os, random, sys
root, rnd = sys.argv[1], random.Random(int(sys.argv[2]))
for d in range(14):
    dd = os.path.join(root, "dir%02d" % d, "sub%d" % (d % 3))
    os.makedirs(dd)
    for f in range(25):
        p = os.path.join(dd, "file%03d.%s" % (f, "txt" if f % 4 == 0 else "bin"))
        n = rnd.randrange(0, 96 * 1024)
        if f % 4 == 0:
            data = (("line %d of %s\n" % (f, p)).encode() * (n // 20 + 1))[:n]
        else:
            data = os.urandom(n)
        with open(p, "wb") as fh:
            fh.write(data)
for i in range(5):
    with open(os.path.join(root, "big%d.bin" % i), "wb") as fh:
        fh.write(os.urandom((3 + i) * 1024 * 1024 + 12345))
EOF
mkdir -p "$SRC/empty dir"
ln -s dir00 "$SRC/link"
note "tree: $(find "$SRC" -type f | wc -l) files, $(du -sh --apparent-size "$SRC" | cut -f1)"

t0=$(now)
ok "${ALL[@]}" init --pack-size 1M
[[ -f $S1/config && -f $S2/config ]] || fail "init did not create both local stores"
[[ $S3_IS_S3 == 1 || -f $S3/config ]] || fail "init did not create the third store"
note "init: $(since "$t0") s"

SNAPS=()
WANTS=()
# backup_snap WANT-COPY STORE-ARGS...: a backup of $SRC; the tree is
# frozen into WANT-COPY for later comparisons
backup_snap() {
	local want=$1
	shift
	ok "$@" backup "$SRC"
	local id
	id=$(sed -nE 's/^snapshot ([0-9a-f]{8}) saved$/\1/p' "$OUT")
	[[ -n $id ]] || { show_output; fail "no snapshot id in the backup output"; }
	cp -a "$SRC" "$want"
	SNAPS+=("$id")
	WANTS+=("$want")
}

t0=$(now)
backup_snap "$T/want1" "${ALL[@]}"
note "backup 1 on three stores: $(since "$t0") s"

# changes: 20 files grown, 10 removed, 40 new, a new big file
python3 - "$SRC" "$SEED" <<'EOF' || fail "cannot change the tree"
import os, random, sys
root, rnd = sys.argv[1], random.Random(int(sys.argv[2]) + 1)
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
               if not f.startswith("big"))
rnd.shuffle(files)
for p in files[:20]:
    with open(p, "ab") as fh:
        fh.write(os.urandom(5000))
for p in files[20:30]:
    os.remove(p)
os.makedirs(os.path.join(root, "new"))
for i in range(40):
    with open(os.path.join(root, "new", "n%02d" % i), "wb") as fh:
        fh.write(os.urandom(rnd.randrange(1, 64 * 1024)))
with open(os.path.join(root, "new", "big.bin"), "wb") as fh:
    fh.write(os.urandom(3 * 1024 * 1024))
EOF
t0=$(now)
backup_snap "$T/want2" "${ALL[@]}"
note "backup 2 on three stores: $(since "$t0") s"
[[ $(count_snaps "${ALL[@]}") == 2 ]] || fail "expected 2 snapshots"

npacks=$(find "$S1/data" -type f | wc -l)
((npacks >= 15)) || fail "expected many packs, got $npacks"
NOBJ=$(object_count "$S1")
note "$NOBJ objects per store, $npacks packs"

t0=$(now)
check_clean "$NOBJ"
note "check --replicas --read-data (clean): $(since "$t0") s"
same_dirs "$S1" "$S2"

# ---- 2. 10% deleted and 10% corrupt on one store ------------------------------

python3 - "$S2" "$SEED" "$T/deleted" "$T/corrupted" <<'EOF' || fail "cannot choose the damage"
import math, os, random, sys
store, seed, fdel, fcor = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rnd = random.Random(seed + 2)
objs = []
for kind in ("data", "index", "snapshots", "keys"):
    for d, _, fs in os.walk(os.path.join(store, kind)):
        objs += [os.path.relpath(os.path.join(d, f), store) for f in fs]
objs.sort()
n = max(math.ceil(len(objs) / 10), 5)
packs = [o for o in objs if o.startswith("data/")]
other = [o for o in objs if not o.startswith("data/")]
assert len(packs) >= 8 and len(other) >= 2, (len(packs), len(other))
def pick(packs, other):
    # n at random, but at least 3 packs and 1 object that is not a pack
    s = rnd.sample(packs, 3) + rnd.sample(other, 1)
    rest = [o for o in packs + other if o not in s]
    return s + rnd.sample(rest, n - len(s))
dele = pick(packs, other)
packs = [o for o in packs if o not in dele]
other = [o for o in other if o not in dele]
cor = pick(packs, other)
assert not set(dele) & set(cor)
def name(o):
    # the object's name in cairn's reports: data/<hh>/<id> is data/<id>
    parts = o.split("/")
    return parts[0] + "/" + parts[-1]
for f, l in ((fdel, dele), (fcor, cor)):
    open(f, "w").write("".join(o + "\n" for o in sorted(l)))
    open(f + ".names", "w").write("".join(name(o) + "\n" for o in sorted(l)))
def kinds(l):
    return ", ".join("%s %d" % (k, sum(o.startswith(k + "/") for o in l))
                     for k in ("data", "index", "snapshots", "keys"))
print("[replicas] of %d objects in data/ index/ snapshots/ keys/: deleting %d (%s), corrupting %d (%s)"
      % (len(objs), len(dele), kinds(dele), len(cor), kinds(cor)), file=sys.stderr)
EOF
NDEL=$(wc -l <"$T/deleted")
NCOR=$(wc -l <"$T/corrupted")
while read -r o; do rm -f "$S2/$o" || fail "cannot delete $o"; done <"$T/deleted"
while read -r o; do flip_middle "$S2/$o"; done <"$T/corrupted"
note "store 2: $NDEL objects deleted, $NCOR corrupted"

t0=$(now)
rc_is 1 "${ALL[@]}" check --replicas --read-data
note "check --replicas --read-data (damaged): $(since "$t0") s"
row_is 0 "read=$NOBJ missing=0 corrupt=0 unreadable=0"
row_is 1 "read=$((NOBJ - NDEL)) missing=$NDEL corrupt=$NCOR unreadable=0"
row_is 2 "read=$NOBJ missing=0 corrupt=0 unreadable=0"
err_has 'run "cairn repair"'
# the error lines name exactly the damaged objects
diff <(sed -nE "s|^error: (.+): $S2: missing\$|\1|p" "$ERR" | LC_ALL=C sort) \
	<(LC_ALL=C sort "$T/deleted.names") >&2 || fail "the missing objects named differ from those deleted"
diff <(sed -nE "s|^error: (.+): $S2: corrupt copy.*|\1|p" "$ERR" | LC_ALL=C sort) \
	<(LC_ALL=C sort "$T/corrupted.names") >&2 || fail "the corrupt objects named differ from those corrupted"
[[ $(grep -c "^error: .*: $S1: \|^error: .*: $S3: " "$ERR") == 0 ]] ||
	fail "errors reported on a healthy store"

rc_is 1 --json "${ALL[@]}" check --replicas --read-data
py '
l = lines()
r = l[0]
assert r["message_type"] == "replicas", r
want = int(args[0]), int(args[1]), int(args[2])
nobj, ndel, ncor = want
assert (r["objects"], r["missing"], r["corrupt"], r["unreadable"]) == (nobj, ndel, ncor, 0), r
s = r["stores"]
assert [x["location"] for x in s] == args[3:6], s
assert (s[1]["missing"], s[1]["corrupt"], s[1]["read"]) == (ndel, ncor, nobj - ndel), s[1]
for x in (s[0], s[2]):
    assert (x["missing"], x["corrupt"], x["unreadable"], x["read"]) == (0, 0, 0, nobj), x
' "$NOBJ" "$NDEL" "$NCOR" "$S1" "$S2" "$S3"

# a dry run changes nothing
before=$(cd "$S2" && find . -type f -printf '%P %s\n' | LC_ALL=C sort | md5sum)
rc_is 1 "${ALL[@]}" repair --dry-run
after=$(cd "$S2" && find . -type f -printf '%P %s\n' | LC_ALL=C sort | md5sum)
[[ $before == "$after" ]] || fail "repair --dry-run changed the store"

t0=$(now)
ok --json "${ALL[@]}" repair
note "repair: $(since "$t0") s"
py '
r = lines()[0]
n = int(args[0])
assert r["message_type"] == "replicas", r
assert r["repaired"] == n and r["unrepairable"] == 0, r
assert [x["repaired"] for x in r["stores"]] == [0, n, 0], r["stores"]
' "$((NDEL + NCOR))"
nrep=$(grep -c "^notice: .*: $S2: repaired\$" "$ERR")
[[ $nrep == $((NDEL + NCOR)) ]] || { show_output; fail "repair reported $nrep repaired, expected $((NDEL + NCOR))"; }
note "repaired $nrep objects ($NDEL missing + $NCOR corrupt)"

check_clean "$NOBJ"
ok "${ALL[@]}" repair --dry-run
same_dirs "$S1" "$S2"
t0=$(now)
restore_all "store 1 alone" -r "$S1"
restore_all "store 2 alone (repaired)" -r "$S2"
restore_all "store 3 alone" -r "$S3"
note "restores from each store alone: $(since "$t0") s"

# ---- 3. a whole store lost ------------------------------------------------------

chmod -R u+w "$S1"
rm -rf "$S1"
[[ $(count_snaps "${ALL[@]}") == 2 ]] || fail "the snapshots are not seen with store 1 gone"
[[ -d $S1 ]] || fail "the lost store was not made again at open"
restore_all "store 1 lost, three stores given" "${ALL[@]}"
rc_is 1 "${ALL[@]}" check --replicas
row_is 0 "read=0 missing=$NOBJ corrupt=0"
t0=$(now)
ok "${ALL[@]}" repair
note "repair of a lost store ($NOBJ objects): $(since "$t0") s"
row_is 0 "read=0 missing=$NOBJ corrupt=0 unreadable=0 repaired=$NOBJ"
check_clean "$NOBJ"
same_dirs "$S1" "$S2"

# ---- 4. quorum ----------------------------------------------------------------

# (a) store 2 cannot take packs: its data/ is a file
echo 'more data' >"$SRC/new/after-quorum-1"
head -c 1500000 /dev/urandom >"$SRC/new/after-quorum-1.bin"
mv "$S2/data" "$S2/data.saved"
echo 'not a directory' >"$S2/data"
ls "$S1/snapshots" >"$T/snaps-before"
rc_is 1 "${ALL[@]}" backup "$SRC"
if grep -Eq 'snapshot [0-9a-f]{8} saved' "$OUT"; then
	show_output
	fail "a backup below quorum claimed a snapshot"
fi
note "default quorum, store 2 unwritable: exit 1, '$(tail -n 1 "$ERR")'"
for s in "$S1" "$S3"; do
	[[ $(count_snaps -r "$s") == 2 ]] || fail "a failed backup left a snapshot on $s"
done
diff "$T/snaps-before" <(ls "$S1/snapshots") >&2 || fail "a failed backup wrote to $S1/snapshots"

ok "${ALL[@]}" --quorum 2 backup "$SRC"
id=$(sed -nE 's/^snapshot ([0-9a-f]{8}) saved$/\1/p' "$OUT")
[[ -n $id ]] || { show_output; fail "--quorum 2 backup claimed no snapshot"; }
cp -a "$SRC" "$T/want3"
SNAPS+=("$id")
WANTS+=("$T/want3")
for s in "$S1" "$S3"; do
	[[ $(count_snaps -r "$s") == 3 ]] || fail "the --quorum 2 snapshot is not on $s"
done
note "--quorum 2, store 2 unwritable: snapshot $id saved on the two others"

rm -f "$S2/data"
mv "$S2/data.saved" "$S2/data"
rc_is 1 "${ALL[@]}" check --replicas --read-data
missing2=$(table_row 1 "$ERR" | sed -nE 's/.*missing=([0-9]+).*/\1/p')
((missing2 >= 1)) || fail "store 2 lacks nothing after the --quorum 2 backup"
NOBJ=$(object_count "$S1")
ok "${ALL[@]}" repair
row_is 1 "read=$((NOBJ - missing2)) missing=$missing2 corrupt=0 unreadable=0 repaired=$missing2"
note "store 2 back: $missing2 objects repaired"
check_clean "$NOBJ"
same_dirs "$S1" "$S2"
restore_same "$T/want3" "$id" -r "$S2"

# (b) with S3: the third store's endpoint is a closed port
if [[ $S3_IS_S3 == 1 ]]; then
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	DEAD=s3:http://127.0.0.1:$port/$S3_BUCKET/${S3#s3:"$S3_ENDPOINT"/"$S3_BUCKET"/}
	echo 'more data' >"$SRC/new/after-quorum-2"
	t0=$(now)
	rc_is 1 -r "$S1" -r "$S2" -r "$DEAD" -o retry.max-time=1 backup "$SRC"
	note "default quorum, S3 on a closed port: exit 1 in $(since "$t0") s, '$(tail -n 1 "$ERR")'"
	if grep -Eq 'snapshot [0-9a-f]{8} saved' "$OUT"; then
		show_output
		fail "a backup below quorum claimed a snapshot"
	fi
	[[ $(count_snaps "${ALL[@]}") == 3 ]] || fail "a failed backup left a snapshot"
	t0=$(now)
	ok -r "$S1" -r "$S2" -r "$DEAD" -o retry.max-time=1 --quorum 2 backup "$SRC"
	note "--quorum 2, S3 on a closed port: saved in $(since "$t0") s"
	id=$(sed -nE 's/^snapshot ([0-9a-f]{8}) saved$/\1/p' "$OUT")
	[[ -n $id ]] || fail "no snapshot id"
	cp -a "$SRC" "$T/want4"
	SNAPS+=("$id")
	WANTS+=("$T/want4")
	[[ $(count_snaps -r "$S3") == 3 ]] || fail "S3 got the snapshot through a closed port?"
	rc_is 1 "${ALL[@]}" check --replicas
	missing3=$(table_row 2 "$ERR" | sed -nE 's/.*missing=([0-9]+).*/\1/p')
	((missing3 >= 2)) || fail "S3 lacks too little: $missing3"
	NOBJ=$(object_count "$S1")
	ok "${ALL[@]}" repair
	row_is 2 "read=$((NOBJ - missing3)) missing=$missing3 corrupt=0 unreadable=0 repaired=$missing3"
	note "S3 back: $missing3 objects repaired"
	check_clean "$NOBJ"
	restore_same "$T/want4" "$id" -r "$S3"
fi

# ---- 5. reads fail over ----------------------------------------------------------

np=0
while read -r p; do
	flip_middle "$p"
	np=$((np + 1))
done < <(find "$S1/data" -type f)
note "store 1: all $np packs corrupted"
t0=$(now)
restore_all "store 1 corrupt, -r s1 -r s2" -r "$S1" -r "$S2"
note "fail-over restores: $(since "$t0") s"
# and one of those packs lost on store 2 as well: its only good copy is on
# store 3, and repair must take that one, not store 1's corrupt copy
lost=$(find "$S2/data" -type f | LC_ALL=C sort | head -n 1)
rm -f "$lost"
rc_is 1 "${ALL[@]}" check --replicas --read-data
row_is 0 "read=$NOBJ missing=0 corrupt=$np unreadable=0"
row_is 1 "read=$((NOBJ - 1)) missing=1 corrupt=0 unreadable=0"
ok "${ALL[@]}" repair
row_is 0 "read=$NOBJ missing=0 corrupt=$np unreadable=0 repaired=$np"
row_is 1 "read=$((NOBJ - 1)) missing=1 corrupt=0 unreadable=0 repaired=1"
cmp "$lost" "$S1/${lost#"$S2"/}" || fail "repair copied a corrupt copy to store 2"
note "repair: $np corrupt packs on store 1 and 1 pack lost on store 2 healed from good copies"
check_clean "$NOBJ"
same_dirs "$S1" "$S2"

# ---- 6. --repository-file and CAIRN_REPOSITORY_FILE --------------------------------

RF=$T/stores.txt
{
	echo '# the stores of the replicas test'
	echo "$S1"
	echo ''
	echo "   $S2   "
	echo "$S3"
	echo '  # a comment after the stores'
	echo 'quorum 2'
	echo 'option retry.max-time=30'
} >"$RF"
nsnap=${#SNAPS[@]}
[[ $(count_snaps --repository-file "$RF") == "$nsnap" ]] || fail "--repository-file sees another repository"
ok --repository-file "$RF" check --replicas
row_is 2 "read=0 missing=0 corrupt=0"
CAIRN_REPOSITORY_FILE=$RF ok check --replicas
row_is 1 "read=0 missing=0 corrupt=0"
# quorum 2 from the file: a backup with store 2 unwritable succeeds
echo 'from the repository file' >"$SRC/new/from-file"
mv "$S2/data" "$S2/data.saved"
echo 'not a directory' >"$S2/data"
CAIRN_REPOSITORY_FILE=$RF ok backup "$SRC"
out_has '^snapshot [0-9a-f]{8} saved$'
id=$(sed -nE 's/^snapshot ([0-9a-f]{8}) saved$/\1/p' "$OUT")
cp -a "$SRC" "$T/want5"
SNAPS+=("$id")
WANTS+=("$T/want5")
rm -f "$S2/data"
mv "$S2/data.saved" "$S2/data"
CAIRN_REPOSITORY_FILE=$RF rc_is 1 check --replicas
CAIRN_REPOSITORY_FILE=$RF ok repair
NOBJ=$(object_count "$S1")
check_clean "$NOBJ"
restore_same "$T/want5" "$id" -r "$S2"
# -r wins over the environment's file
[[ $(CAIRN_REPOSITORY_FILE=$RF count_snaps -r "$S1") == "${#SNAPS[@]}" ]] || fail "-r with CAIRN_REPOSITORY_FILE"
# a quorum above the number of stores is refused
sed 's/^quorum 2$/quorum 4/' "$RF" >"$T/bad.txt"
rc_is 1 --repository-file "$T/bad.txt" snapshots
err_has 'quorum'
rc_is 1 --repository-file "$T/nonexistent.txt" snapshots
err_has 'nonexistent.txt'
note "repository file: $((${#SNAPS[@]})) snapshots, quorum 2 backup with a store down"

# ---- 7. --json of check --replicas ------------------------------------------------

ok --json "${ALL[@]}" check --replicas --read-data
python3 -m json.tool --json-lines "$OUT" >/dev/null || fail "python3 -m json.tool rejects the output"
if command -v jq >/dev/null 2>&1; then
	jq -s . "$OUT" >/dev/null || fail "jq rejects the output"
fi
py '
l = lines()
assert [o["message_type"] for o in l] == ["replicas", "summary"], l
r, s = l
assert [x["location"] for x in r["stores"]] == args[:3], r
assert r["objects"] == int(args[3]), r
for k in ("missing", "corrupt", "unreadable", "repaired", "unrepairable"):
    assert r[k] == 0, (k, r)
for x in r["stores"]:
    assert x["read"] == r["objects"] and x["missing"] == x["corrupt"] == 0, x
assert s["num_errors"] == 0 and s["snapshots"] == int(args[4]), s
# packs that a failed backup left unindexed are noticed, not read
assert s["packs_read"] == s["packs"] - s["num_notices"], s
' "$S1" "$S2" "$S3" "$NOBJ" "${#SNAPS[@]}"

# every snapshot, once more, from each store alone
restore_all "end, store 1 alone" -r "$S1"
restore_all "end, store 3 alone" -r "$S3"
note "check --replicas --json parses (json.tool, jq); all snapshots restore from each store"

# ---- 8. the per-store table tells the stores apart ------------------------------------

ok "${ALL[@]}" check --replicas
python3 - "$ERR" <<-'EOF' || fail "the per-store table shows two stores under one name"
import re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
h = [i for i, l in enumerate(lines) if re.match(r"^store\s+read\s+missing", l)][-1]
names = [l.split()[0] for l in lines[h + 1:h + 4]]
print("  table names: %r" % names, file=sys.stderr)
sys.exit(len(set(names)) != len(names))
EOF

note "ok: $(python3 -c "import sys; print(round($(date +%s.%N) - $T_START))") s in all"
