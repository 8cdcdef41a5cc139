# shellcheck shell=bash
# Helpers for the reliability tests (roundtrip.sh, corruption.sh, crash.sh);
# sourced after common.bash, whose fail/note/ok/... it uses.

# tree_compare SRC DST [SKIP...]: compares two trees entry by entry: type,
# permission bits, owner, size, mtime in nanoseconds, symlink target,
# SHA-256 of file content, and which paths are hard links of one another.
# SKIP are paths relative to SRC that are expected to be absent from DST
# (a socket, say).  The mtime of SRC and DST themselves is compared too.
# Prints each difference and fails the test when there is any.
tree_compare() {
	python3 - "$@" <<-'EOF' || fail "restored tree differs from the source"
	import hashlib, os, stat, sys
	src, dst = (os.fsencode(a) for a in sys.argv[1:3])
	skip = {os.fsencode(a) for a in sys.argv[3:]}

	def walk(root):
	    """relative path (bytes) -> lstat result, for root and below."""
	    out = {b"": os.lstat(root)}
	    stack = [b""]
	    while stack:
	        rel = stack.pop()
	        full = os.path.join(root, rel) if rel else root
	        for name in os.listdir(full):
	            r = os.path.join(rel, name) if rel else name
	            st = os.lstat(os.path.join(root, r))
	            out[r] = st
	            if stat.S_ISDIR(st.st_mode):
	                stack.append(r)
	    return out

	def digest(path):
	    h = hashlib.sha256()
	    with open(path, "rb") as f:
	        for block in iter(lambda: f.read(1 << 20), b""):
	            h.update(block)
	    return h.hexdigest()

	a, b = walk(src), walk(dst)
	bad = []
	def report(rel, what):
	    bad.append("%r: %s" % (rel.decode(errors="backslashreplace"), what))

	for rel in sorted(set(a) | set(b)):
	    if rel in skip:
	        if rel in b:
	            report(rel, "should not have been restored")
	        continue
	    if rel not in b:
	        report(rel, "missing from the restore")
	        continue
	    if rel not in a:
	        report(rel, "restored but not in the source")
	        continue
	    x, y = a[rel], b[rel]
	    if stat.S_IFMT(x.st_mode) != stat.S_IFMT(y.st_mode):
	        report(rel, "type %o != %o" % (stat.S_IFMT(x.st_mode), stat.S_IFMT(y.st_mode)))
	        continue
	    if not stat.S_ISLNK(x.st_mode) and stat.S_IMODE(x.st_mode) != stat.S_IMODE(y.st_mode):
	        report(rel, "mode %o != %o" % (stat.S_IMODE(x.st_mode), stat.S_IMODE(y.st_mode)))
	    if os.geteuid() == 0 and (x.st_uid, x.st_gid) != (y.st_uid, y.st_gid):
	        report(rel, "owner %d:%d != %d:%d" % (x.st_uid, x.st_gid, y.st_uid, y.st_gid))
	    if x.st_mtime_ns != y.st_mtime_ns:
	        report(rel, "mtime %d != %d" % (x.st_mtime_ns, y.st_mtime_ns))
	    if stat.S_ISLNK(x.st_mode):
	        ta, tb = os.readlink(os.path.join(src, rel)), os.readlink(os.path.join(dst, rel))
	        if ta != tb:
	            report(rel, "link target %r != %r" % (ta, tb))
	    elif stat.S_ISREG(x.st_mode):
	        if x.st_size != y.st_size:
	            report(rel, "size %d != %d" % (x.st_size, y.st_size))
	        elif digest(os.path.join(src, rel)) != digest(os.path.join(dst, rel)):
	            report(rel, "content differs")

	# hard links: the groups of paths sharing an inode must be the same
	def groups(tree):
	    g = {}
	    for rel, st in tree.items():
	        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1 and rel not in skip:
	            g.setdefault((st.st_dev, st.st_ino), set()).add(rel)
	    return sorted(sorted(v) for v in g.values())
	ga, gb = groups(a), groups(b)
	if ga != gb:
	    bad.append("hard-link groups differ: %r != %r" % (ga, gb))

	for line in bad[:50]:
	    print("  " + line, file=sys.stderr)
	if len(bad) > 50:
	    print("  ... and %d more" % (len(bad) - 50), file=sys.stderr)
	sys.exit(1 if bad else 0)
	EOF
}

# flip_bit FILE OFFSET [BIT]: inverts one bit of FILE in place (the file
# is made writable first; objects are stored read-only).
flip_bit() {
	chmod u+w "$1"
	python3 - "$1" "$2" "${3:-0}" <<-'EOF' || fail "cannot flip a bit in $1"
	import sys
	path, off, bit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	with open(path, "r+b") as f:
	    f.seek(off)
	    b = f.read(1)
	    assert len(b) == 1, "offset %d past the end of %s" % (off, path)
	    f.seek(off)
	    f.write(bytes([b[0] ^ (1 << bit)]))
	EOF
}

# file_size FILE
file_size() {
	stat -c %s "$1"
}

# repo_copy NAME: a fresh copy of the clean repository $REPO at $T/NAME
# (removed first); prints its path.
repo_copy() {
	local dst=$T/$1
	chmod -R u+rwX "$dst" 2>/dev/null
	rm -rf "$dst"
	cp -a "$REPO" "$dst" || fail "cannot copy the repository"
	printf '%s\n' "$dst"
}
