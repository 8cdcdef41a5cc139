#!/usr/bin/env bash
# roundtrip.sh: a tree full of hard cases survives backup and restore
# exactly: empty and sparse files, 10,000 small files, 100 nested levels,
# awkward names (unicode, spaces, newlines, leading dashes), symlinks
# (absolute, relative, dangling), hard links, a fifo, a socket (skipped
# with a warning), permission bits including setgid, and nanosecond
# mtimes.  Then: an unchanged tree adds nothing, a changed file is the
# only change, restore --include/--exclude select subsets, and dump gives
# a file back byte for byte.
source "$(dirname "$0")/lib/common.bash"
source "$(dirname "$0")/lib/reliability.bash"

S=$T/src
mkdir -p "$S"

# ---- the tree --------------------------------------------------------------

# 10,000 small files in 100 directories, with varied small contents
python3 - "$S/many" <<'EOF' || fail "cannot generate the small files"
import os, sys
root = sys.argv[1]
for d in range(100):
    dd = os.path.join(root, "d%03d" % d)
    os.makedirs(dd)
    for f in range(100):
        n = d * 100 + f
        with open(os.path.join(dd, "f%05d.dat" % n), "wb") as fh:
            fh.write(b"small file %d\n" % n * (n % 7))
EOF

# empty files and an empty directory
: >"$S/empty1"
mkdir -p "$S/emptydir" "$S/e"
: >"$S/e/empty2"

# a 50 MB sparse file with a few bytes written
truncate -s 50M "$S/sparse"
printf 'head' | dd of="$S/sparse" conv=notrunc status=none
printf 'middle' | dd of="$S/sparse" bs=1 seek=$((20 * 1024 * 1024 + 3)) conv=notrunc status=none
printf 'tail' | dd of="$S/sparse" bs=1 seek=$((50 * 1024 * 1024 - 4)) conv=notrunc status=none

# 100 nested levels
deep=$S/deep
for i in $(seq 1 100); do
	deep=$deep/l$i
done
mkdir -p "$deep"
echo "at the bottom" >"$deep/bottom.txt"

# awkward names
mkdir -p "$S/names"
echo unicode >"$S/names/caf$(printf '\xc3\xa9')-$(printf '\xe6\x97\xa5\xe6\x9c\xac')"
echo spaces >"$S/names/  two  spaces  "
echo newline >"$S/names/new"$'\n'"line"
echo dash >"$S/names/-rf"
echo dashes >"$S/names/--help"
echo tab >"$S/names/tab"$'\t'"name"
mkdir -p "$S/names/-dir with space"
echo inside >"$S/names/-dir with space/x"

# symlinks: absolute (inside and outside the tree), relative, dangling,
# to a directory
mkdir -p "$S/links"
echo target >"$S/links/target.txt"
ln -s "$S/links/target.txt" "$S/links/absolute"
ln -s /etc/hostname "$S/links/outside"
ln -s target.txt "$S/links/relative"
ln -s ../names "$S/links/to-dir"
ln -s does/not/exist "$S/links/dangling"

# hard links: a group of three across directories, and a pair
mkdir -p "$S/hl/a" "$S/hl/b"
head -c 100000 /dev/urandom >"$S/hl/a/one"
ln "$S/hl/a/one" "$S/hl/b/two"
ln "$S/hl/a/one" "$S/hl/three"
echo pair >"$S/hl/p1"
ln "$S/hl/p1" "$S/hl/p2"

# a fifo, and a unix socket (not backed up)
mkfifo "$S/fifo"
# (bound by a relative name: socket paths are limited to 107 bytes)
(cd "$S" && python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")') ||
	fail "cannot make a socket"
[[ -S $S/sock ]] || fail "no socket made"

# a random file large enough for several chunks, and a compressible one
head -c 5000000 /dev/urandom >"$S/random.bin"
yes 'the same line again' | head -c 3000000 >"$S/text.txt"

# permissions
mkdir -p "$S/perm/private" "$S/perm/setgid"
echo a >"$S/perm/p644"
echo b >"$S/perm/p600"
echo c >"$S/perm/p755"
echo d >"$S/perm/private/inside"
echo e >"$S/perm/setgid/inside"
chmod 0644 "$S/perm/p644"
chmod 0600 "$S/perm/p600"
chmod 0755 "$S/perm/p755"
chmod 0700 "$S/perm/private"
chmod 2755 "$S/perm/setgid"
[[ $(stat -c %a "$S/perm/setgid") == 2755 ]] || fail "cannot set setgid"

# mtimes with nanoseconds, on files, directories and symlinks; last,
# because creating entries changes their directory's mtime
touch -d '2001-02-03 04:05:06.123456789' "$S/random.bin" "$S/names/-rf"
touch -d '1999-12-31 23:59:59.999999999' "$S/perm/p600"
touch -h -d '2010-10-10 10:10:10.000000001' "$S/links/relative"
touch -d '2005-05-05 05:05:05.5' "$S/perm/private" "$S/e"
touch -d '1970-01-01 00:00:01.000000007' "$S/empty1"
[[ $(stat -c %y "$S/random.bin") == *'04:05:06.123456789'* ]] ||
	fail "touch did not keep nanoseconds"

nfiles=$(find "$S" -type f -printf . | wc -c)
note "tree: $nfiles regular files, $(du -sh --apparent-size "$S" | cut -f1) apparent"

# ---- backup, restore, compare ------------------------------------------------

ok init
t0=$(date +%s.%N)
ok backup "$S"
t1=$(date +%s.%N)
note "first backup: $(python3 -c "print(round($t1 - $t0, 1))") s"
err_has "warning: $S/sock: .*(socket|special)"
out_has '^snapshot [0-9a-f]{8} saved$'

ok snapshots --json
py '
sm = doc()[0]["summary"]
assert sm["files_new"] == int(args[0]), sm
assert sm["files_unmodified"] == 0 and sm["files_changed"] == 0, sm
' "$nfiles"

t0=$(date +%s.%N)
ok restore latest --target "$T/dst"
t1=$(date +%s.%N)
note "restore: $(python3 -c "print(round($t1 - $t0, 1))") s"
R=$T/dst$S
[[ -p $R/fifo ]] || fail "the fifo was not restored as a fifo"
[[ ! -e $R/sock ]] || fail "the socket was restored"
[[ $(stat -c %i "$R/hl/a/one") == $(stat -c %i "$R/hl/b/two") &&
	$(stat -c %i "$R/hl/a/one") == $(stat -c %i "$R/hl/three") ]] ||
	fail "hard links were not restored as one inode"
[[ $(stat -c %h "$R/hl/a/one") == 3 ]] || fail "link count is not 3"
for f in random.bin names/-rf perm/p600 empty1; do
	[[ $(stat -c %y "$S/$f") == $(stat -c %y "$R/$f") ]] ||
		fail "mtime of $f: $(stat -c %y "$S/$f") != $(stat -c %y "$R/$f")"
done
[[ $(stat -c %a "$R/perm/setgid") == 2755 ]] || fail "setgid bit lost"
tree_compare "$S" "$R" sock

# sparse: the content is compared above; whether holes survive is
# reported, not required
alloc=$(du --block-size=1 "$R/sparse" | cut -f1)
src_alloc=$(du --block-size=1 "$S/sparse" | cut -f1)
if ((alloc <= 25 * 1024 * 1024)); then
	note "sparse file restored sparse: $alloc bytes allocated of 50 MiB (source: $src_alloc)"
else
	note "sparse file restored dense: $alloc bytes allocated of 50 MiB (source: $src_alloc)"
fi

# ---- an unchanged tree adds nothing ------------------------------------------

ok --json backup "$S"
py '
s = [o for o in lines() if o.get("message_type") == "summary"][-1]
assert s["data_added"] == 0, s
assert s["files_new"] == 0 and s["files_changed"] == 0, s
assert s["files_unmodified"] == int(args[0]), s
assert s["dirs_new"] == 0 and s["dirs_changed"] == 0, s
' "$nfiles"

# ---- one changed file is the only change --------------------------------------

echo "changed content" >>"$S/many/d042/f04217.dat"
ok --json -v backup "$S"
py '
l = lines()
s = [o for o in l if o.get("message_type") == "summary"][-1]
assert s["files_changed"] == 1 and s["files_new"] == 0, s
assert s["files_unmodified"] == int(args[0]) - 1, s
assert 0 < s["data_added"] < 100000, s
mod = [o["item"] for o in l if o.get("message_type") == "verbose_status"
       and o.get("action") != "unchanged"]
assert mod == [args[1]], mod
' "$nfiles" "$S/many/d042/f04217.dat"

ok restore latest --target "$T/dst2" --include "$S/many/d042/*"
cmp "$S/many/d042/f04217.dat" "$T/dst2$S/many/d042/f04217.dat" ||
	fail "the changed file was not restored from the latest snapshot"

# ---- restore --include / --exclude ----------------------------------------------

ok restore latest --target "$T/inc" --include "$S/hl/*" --include "$S/names/-rf"
(cd "$T/inc$S" && find . -mindepth 1 | LC_ALL=C sort) >"$T/got"
printf '%s\n' ./hl ./hl/a ./hl/a/one ./hl/b ./hl/b/two ./hl/p1 ./hl/p2 \
	./hl/three ./names ./names/-rf | LC_ALL=C sort >"$T/want"
diff -u "$T/want" "$T/got" >&2 || fail "--include restored the wrong set"

ok restore latest --target "$T/exc" --exclude "$S/many" --exclude '*.txt' \
	--exclude "$S/deep"
[[ ! -e $T/exc$S/many && ! -e $T/exc$S/deep ]] || fail "--exclude of a directory ignored"
[[ ! -e $T/exc$S/text.txt && ! -e $T/exc$S/links/target.txt ]] ||
	fail "--exclude of a pattern ignored"
cmp "$S/random.bin" "$T/exc$S/random.bin" || fail "--exclude lost a file"
[[ -p $T/exc$S/fifo && -L $T/exc$S/links/dangling ]] || fail "--exclude lost an entry"

# ---- dump --------------------------------------------------------------------

for f in sparse random.bin "names/new"$'\n'"line" empty1 "hl/b/two"; do
	"$CAIRN" dump latest "$S/$f" >"$T/dumped" 2>"$ERR" ||
		fail "dump of $f failed: $(cat "$ERR")"
	cmp "$S/$f" "$T/dumped" || fail "dump of $f differs"
done
fails dump latest "$S/fifo"
fails dump latest "$S/sock"

ok check --read-data
note "ok"
