# shellcheck shell=bash
# Helpers for the prune tests (prune*.sh); sourced after common.bash.
#
# A fake wall clock shared by every cairn process of a test: clock_setup
# replaces CAIRN with a wrapper that preloads libfaketime reading the
# offset from one file on every call, so that clock_set moves the clock
# of running processes too (a writer stopped with SIGSTOP sees the jump
# when it resumes).  The monotonic clock and file times stay real.

# clock_setup: skips the test when libfaketime is missing; fails when the
# fake clock does not reach cairn.
clock_setup() {
	local lib=
	for lib in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 \
		/usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1 \
		/usr/local/lib/faketime/libfaketime.so.1; do
		[[ -e $lib ]] && break
		lib=
	done
	if [[ -z $lib ]]; then
		echo "SKIP: libfaketime is not installed (tests/deps.sh installs faketime)" >&2
		exit 77
	fi
	CLOCK_FILE=$T/clock
	echo +0 >"$CLOCK_FILE"
	CAIRN_REAL=$CAIRN
	mkdir -p "$T/bin"
	# NO_FAKE_STAT: file times stay real, else backups record shifted
	# mtimes.  verify_asan_link_order: the sanitizer runtime would refuse
	# a library preloaded before it.
	cat >"$T/bin/cairn" <<-EOF
	#!/bin/sh
	LD_PRELOAD="$lib\${LD_PRELOAD:+:\$LD_PRELOAD}" \\
	FAKETIME_TIMESTAMP_FILE="$CLOCK_FILE" FAKETIME_NO_CACHE=1 \\
	FAKETIME_DONT_FAKE_MONOTONIC=1 NO_FAKE_STAT=1 \\
	ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0" \\
	exec "$CAIRN_REAL" "\$@"
	EOF
	chmod +x "$T/bin/cairn"
	CAIRN=$T/bin/cairn
	# the check: a backup 100 days ahead records that time
	local real
	real=$(date +%s)
	clock_set +100d
	echo clock | CAIRN_REPOSITORY=$T/clockcheck "$CAIRN" init >"$OUT" 2>"$ERR" ||
		{ show_output; fail "init under libfaketime failed"; }
	echo clock | CAIRN_REPOSITORY=$T/clockcheck "$CAIRN" --json backup --stdin \
		>"$OUT" 2>"$ERR" || { show_output; fail "backup under libfaketime failed"; }
	py '
s = [l for l in lines() if l["message_type"] == "summary"][0]
shift = epoch(s["backup_start"]) - int(args[0])
assert 100 * 86400 - 60 < shift < 100 * 86400 + 600, "clock shifted by %d s" % shift
' "$real"
	rm -rf "$T/clockcheck"
	clock_set +0
}

# prune_test_init: the fake clock (clock_setup) and a repository with
# small packs (1 MiB), so that a few MiB of data make many packs
prune_test_init() {
	clock_setup
	ok init --pack-size 1M
}

# clock_set OFFSET: moves the shared clock to real time + OFFSET ("+25h",
# "+3d")
clock_set() {
	printf '%s\n' "$1" >"$CLOCK_FILE.new" || fail "cannot move the clock"
	mv "$CLOCK_FILE.new" "$CLOCK_FILE" || fail "cannot move the clock"
}

# gen SEED KIB: KIB kibibytes of pseudo-random bytes determined by SEED
gen() {
	python3 -c '
import random, sys
sys.stdout.buffer.write(random.Random(int(sys.argv[1])).randbytes(int(sys.argv[2]) << 10))
' "$1" "$2" || fail "cannot generate data"
}

# gen_files DIR SEED COUNT KIB: COUNT files f01... of KIB KiB of random
# data each in DIR (created)
gen_files() {
	mkdir -p "$1"
	python3 - "$@" <<-'EOF' || fail "cannot generate files"
	import os, random, sys
	d, seed, n, kib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
	r = random.Random(seed)
	for i in range(1, n + 1):
	    with open(os.path.join(d, "f%02d" % i), "wb") as f:
	        f.write(r.randbytes(kib << 10))
	EOF
}

# repo_listing: every file of $REPO with its size, one a line, sorted
repo_listing() {
	(cd "$REPO" && find . -type f -printf '%p %s\n' | LC_ALL=C sort)
}

# dir_bytes DIR: the total size of the files under DIR
dir_bytes() {
	find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}

# json_field NAME: the field NAME of the one JSON document in $OUT
json_field() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
		"$OUT" "$1" || { show_output; fail "no field $1 in the JSON output"; }
}

# snapshot_id_by_tag TAG: the full id of the one snapshot tagged TAG
snapshot_id_by_tag() {
	"$CAIRN" snapshots --json --tag "$1" 2>"$ERR" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert len(s) == 1, "%d snapshots tagged %s" % (len(s), sys.argv[1])
print(s[0]["id"])' "$1" || fail "no single snapshot tagged $1"
}

# restore_compare SNAP SRC: restores SNAP and compares it with the tree
# SRC (an absolute path, as backed up)
restore_compare() {
	rm -rf "$T/restore"
	ok restore "$1" --target "$T/restore"
	tree_compare "$2" "$T/restore$2"
	rm -rf "$T/restore"
}

# dump_compare SNAP NAME FILE: the stream NAME of SNAP equals FILE
dump_compare() {
	"$CAIRN" dump "$1" "/$2" 2>"$ERR" | cmp -s - "$3" ||
		{ show_output; fail "snapshot $1: /$2 differs from $3"; }
}

# gen_trees_ab: $T/srcA, 30 files f01..f30 and q/ (8 files), and $T/srcB,
# the even files of srcA, q/ and new/ (3 new files), all of 200 KiB; once
# a snapshot of srcA is forgotten, a snapshot of srcB leaves srcA's packs
# partly used (or wholly: q/)
gen_trees_ab() {
	gen_files "$T/srcA" 1 30 200
	gen_files "$T/srcA/q" 4 8 200
	cp -a "$T/srcA" "$T/srcB"
	rm -f "$T"/srcB/f{01..30..2}
	gen_files "$T/srcB/new" 2 3 200
}

# start_stalled HEAD TAIL NAME ARGS...: starts `cairn --json backup ARGS
# --stdin-from-command` in the background, whose command writes the file
# HEAD, stalls until resume_stalled, then writes the file TAIL; stdout
# and stderr go to $T/NAME.out and $T/NAME.err.  Returns once HEAD is
# written and cairn had a second to take it in; PID is the backup's.
start_stalled() {
	local head=$1 tail=$2 name=$3
	shift 3
	rm -f "$T/started" "$T/go"
	# shellcheck disable=SC2016 # $1... are for the inner shell
	"$CAIRN" --json backup "$@" --stdin-from-command -- sh -c \
		'cat "$1" && : >"$2" && while [ ! -e "$3" ]; do sleep 0.05; done && cat "$4"' \
		sh "$head" "$T/started" "$T/go" "$tail" >"$T/$name.out" 2>"$T/$name.err" &
	PID=$!
	for _ in $(seq 1 400); do
		[[ -e $T/started ]] && break
		sleep 0.05
	done
	[[ -e $T/started ]] || fail "$name: the backup's command did not start"
	sleep 1
}

# resume_stalled: lets the command of start_stalled finish (continuing
# the backup first if it was stopped) and waits; RC gets the exit status
resume_stalled() {
	kill -CONT "$PID" 2>/dev/null
	touch "$T/go"
	RC=0
	# shellcheck disable=SC2034 # RC is for the caller
	wait "$PID" || RC=$?
	rm -f "$T/go" "$T/started"
}
