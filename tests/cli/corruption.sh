#!/usr/bin/env bash
# corruption.sh: damage to each kind of object is found and never turns
# into silently wrong data.  One bit is flipped in a copy of a clean
# repository, per case: in a data pack (record, and sealed key), a tree
# pack, an index file, a snapshot file, the key file and the config; a
# pack is truncated, a pack and an index file are deleted.  check (and
# check --read-data) must report each, naming the object; restore and
# dump must fail for what they cannot read and restore everything else
# exactly.  Also: a wrong password and a missing repository.
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/reliability.bash"

# pack_type FILE: 0 data, 1 tree (the trailer is plaintext: format.md 7)
pack_type() {
	python3 -c 'import sys; b = open(sys.argv[1], "rb").read(); print(b[-11])' "$1"
}

# packs_of REPO TYPE: the pack files of one type, largest first
packs_of() {
	local p
	for p in "$1"/data/*/*; do
		[[ $(pack_type "$p") == "$2" ]] && printf '%s %s\n' "$(file_size "$p")" "$p"
	done | sort -rn | cut -d' ' -f2
}

# restored_ok SRC TARGET ERRFILE: every file of SRC is in the restore at
# TARGET (snapshot paths are absolute) with the same content, unless an
# error line of ERRFILE ("error: <path>: ...") names it or a directory
# above it.  Prints the number of files that were reported.
restored_ok() {
	python3 - "$@" <<-'EOF' || fail "a restored file is wrong without an error"
	import hashlib, os, re, sys
	src, target, errfile = sys.argv[1:4]
	reported = set()
	with open(errfile, errors="replace") as f:
	    for line in f:
	        m = re.match(r"^error: (.+?): (cannot|unsafe|content|directory|verification)", line)
	        if m:
	            reported.add(m.group(1).strip("/"))
	def covered(rel):
	    parts = rel.split("/")
	    return any("/".join(parts[:i]) in reported for i in range(1, len(parts) + 1))
	def digest(p):
	    with open(p, "rb") as f:
	        return hashlib.sha256(f.read()).hexdigest()
	nrep = 0
	bad = []
	for d, dirs, files in os.walk(src):
	    for name in files:
	        full = os.path.join(d, name)
	        rel = full.lstrip("/")
	        if covered(rel):
	            nrep += 1
	            continue
	        got = os.path.join(target, rel)
	        if not os.path.isfile(got):
	            bad.append(rel + ": missing, no error reported")
	        elif digest(got) != digest(full):
	            bad.append(rel + ": content differs, no error reported")
	for b in bad:
	    print("  " + b, file=sys.stderr)
	print(nrep)
	sys.exit(1 if bad else 0)
	EOF
}

# first_error_path ERRFILE: the path of the first "error: <path>: ..." line
first_error_path() {
	sed -nE 's/^error: (.+): cannot restore content: .*/\1/p' "$1" | head -n 1
}

# ---- a clean repository with several packs ------------------------------------

D=$T/data
mkdir -p "$D/sub" "$D/other"
head -c 3000000 /dev/urandom >"$D/rand.bin"
head -c 2000000 /dev/urandom >"$D/sub/rand2.bin"
yes 'compressible text, compressible text' | head -c 3000000 >"$D/text.txt"
for i in $(seq 1 20); do
	echo "small file $i" >"$D/other/s$i"
done

ok init --pack-size 1M
ok backup "$D"
snap1=$(sed -nE 's/^snapshot ([0-9a-f]{8}) saved$/\1/p' "$OUT")
ok check --read-data
mapfile -t DATA_PACKS < <(packs_of "$REPO" 0)
mapfile -t TREE_PACKS < <(packs_of "$REPO" 1)
((${#DATA_PACKS[@]} >= 3)) || fail "expected several data packs, got ${#DATA_PACKS[@]}"
((${#TREE_PACKS[@]} >= 1)) || fail "no tree pack"
note "${#DATA_PACKS[@]} data packs, ${#TREE_PACKS[@]} tree packs"

# with_copy NAME: $C becomes a fresh copy of the clean repository
with_copy() {
	C=$(repo_copy "$1")
}

# a path in the copy that corresponds to one in $REPO
in_copy() {
	printf '%s\n' "$C${1#"$REPO"}"
}

# ---- (a) a data pack: one bit in a record, then in the sealed key ------------

for where in record sealed-key; do
	with_copy "data-$where"
	pack=$(in_copy "${DATA_PACKS[0]}")
	id=$(basename "$pack")
	if [[ $where == record ]]; then
		flip_bit "$pack" 1000 3
	else
		flip_bit "$pack" $(($(file_size "$pack") - 16 - 40)) 5
	fi
	# structure only: the pack is not read, so this may pass
	"$CAIRN" -r "$C" check >"$OUT" 2>"$ERR" ||
		note "data pack ($where): plain check already complains"
	rc_is 1 -r "$C" check --read-data
	err_has "pack $id"
	err_has '^cairn: [0-9]+ errors? found'

	# restore: the files in that pack fail, loudly; the rest are exact
	rc_is 1 -r "$C" restore latest --target "$T/r-$where"
	err_has 'error: .*: cannot restore content: '
	err_has 'could not be restored'
	nrep=$(restored_ok "$D" "$T/r-$where" "$ERR")
	((nrep >= 1)) || fail "no file was reported as unrestorable"
	bad=$(first_error_path "$ERR")
	[[ -n $bad ]] || fail "no file named in the restore errors"

	# restoring just that file, and dumping it, fail too
	rc_is 1 -r "$C" restore latest --target "$T/r1-$where" --include "/$bad"
	err_has "error: $bad: "
	"$CAIRN" -r "$C" dump latest "/$bad" >"$T/dumped" 2>"$ERR" &&
		fail "dump of a damaged file succeeded"
	err_has 'corrupt|not found'
	if cmp -s "$T/dumped" "/$bad"; then
		fail "dump of a damaged file failed but wrote it all"
	fi
done

# ---- (b) a tree pack ------------------------------------------------------------

with_copy tree
pack=$(in_copy "${TREE_PACKS[0]}")
flip_bit "$pack" 100 0
rc_is 1 -r "$C" check
err_has 'error: snapshot [0-9a-f]{8}: tree [0-9a-f]{64}: .*corrupt'
rc_is 1 -r "$C" check --read-data
err_has "pack $(basename "$pack")"
rc_is 1 -r "$C" restore latest --target "$T/r-tree"
err_has 'cannot load tree'
restored_ok "$D" "$T/r-tree" "$ERR" >/dev/null

# ---- (c) an index file ------------------------------------------------------------

with_copy index
idx=$(ls "$C"/index/*)
flip_bit "$idx" 200 1
rc_is 1 -r "$C" check
err_has "index $(basename "$idx")"

# ---- (d) a snapshot file ------------------------------------------------------------

with_copy snapshot
snapf=$(ls "$C"/snapshots/*)
flip_bit "$snapf" 50 2
rc_is 1 -r "$C" check
err_has "snapshot $(basename "$snapf")"
# listing fails or leaves the damaged snapshot out, and says so
"$CAIRN" -r "$C" snapshots >"$OUT" 2>"$ERR" ||
	note "snapshots exits $? with a damaged snapshot"
grep -q "^$snap1" "$OUT" && fail "a damaged snapshot is listed as fine"
[[ -s $ERR ]] || fail "snapshots is silent about a damaged snapshot"

# ---- (e) the key file ----------------------------------------------------------------

with_copy key
keyf=$(ls "$C"/keys/*)
flip_bit "$keyf" 300 4
"$CAIRN" -r "$C" ls latest >"$OUT" 2>"$ERR"
rc=$?
[[ $rc == 12 || $rc == 1 ]] || { show_output; fail "damaged key file: exit $rc, expected 12 or 1"; }
out_empty
err_has 'password|key|corrupt'

# a second key file for the same password still opens the repository
with_copy key2
CAIRN_NEW_PASSWORD=$CAIRN_PASSWORD ok -r "$C" key add
newkey=$(sed -nE 's/^saved new key ([0-9a-f]{64})$/\1/p' "$OUT")
for k in "$C"/keys/*; do
	[[ $(basename "$k") == "$newkey" ]] || flip_bit "$k" 100 0
done
ok -r "$C" ls latest
out_has "$D/rand.bin"

# ---- (f) the config ------------------------------------------------------------------

for off in 5 30 200; do
	with_copy "config-$off"
	flip_bit "$C/config" "$off" 1
	rc_is 1 -r "$C" snapshots
	err_has 'corrupt|unsupported'
	out_empty
done

# ---- a truncated pack, a deleted pack, a deleted index file -------------------------

with_copy truncated
pack=$(in_copy "${DATA_PACKS[1]}")
chmod u+w "$pack"
truncate -s -10 "$pack"
rc_is 1 -r "$C" check
err_has "pack $(basename "$pack")"
rc_is 1 -r "$C" check --read-data
err_has "pack $(basename "$pack")"
rc_is 1 -r "$C" restore latest --target "$T/r-trunc"
restored_ok "$D" "$T/r-trunc" "$ERR" >/dev/null

with_copy deleted-pack
pack=$(in_copy "${DATA_PACKS[0]}")
rm -f "$pack"
rc_is 1 -r "$C" check
err_has "pack $(basename "$pack") is named in the index but missing"
rc_is 1 -r "$C" restore latest --target "$T/r-delpack"
nrep=$(restored_ok "$D" "$T/r-delpack" "$ERR")
((nrep >= 1)) || fail "no file reported after deleting a pack"

with_copy deleted-index
rm -f "$C"/index/*
rc_is 1 -r "$C" check
err_has 'not referenced by any index'
err_has 'error: snapshot [0-9a-f]{8}: tree [0-9a-f]{64}: not found'

# ---- wrong password, missing repository ------------------------------------------------

CAIRN_PASSWORD=not-the-password rc_is 12 ls latest
out_empty
err_has 'wrong password'
CAIRN_PASSWORD=not-the-password rc_is 12 dump latest "$D/text.txt"
out_empty
rc_is 10 -r "$T/no-such-repo" snapshots
out_empty
rc_is 10 -r "$T/no-such-repo" check

# ---- one damaged snapshot must not hide the others -------------------------------------

# the clean repository gets a second snapshot; the first is damaged
echo "second" >"$D/second.txt"
ok backup "$D"
snap2=$(sed -nE 's/^snapshot ([0-9a-f]{8}) saved$/\1/p' "$OUT")
with_copy two-snapshots
flip_bit "$(ls "$C"/snapshots/"$snap1"*)" 60 0
rc_is 1 -r "$C" check
err_has "snapshot $snap1"
"$CAIRN" -r "$C" restore "$snap2" --target "$T/r-snap2" >"$OUT" 2>"$ERR" || {
	show_output
	fail "ENGINE: restore of an intact snapshot fails because another snapshot file is damaged"
}
cmp "$D/second.txt" "$T/r-snap2$D/second.txt" || fail "snapshot $snap2 restored wrong"

note "ok"
