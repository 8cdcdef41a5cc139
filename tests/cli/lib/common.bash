# shellcheck shell=bash
# Shared helpers for tests/cli/*.sh (sourced; not a test itself).
#
# Environment: CAIRN is the binary under test, CAIRN_TEST_TMP a scratch
# directory.  Each script gets its own directory $T, removed at exit unless
# CAIRN_TEST_KEEP=1.  Exit status: 0 pass, 77 skip, anything else fail.

set -u
set -o pipefail

if [[ -z ${CAIRN:-} || ! -x ${CAIRN} ]]; then
	echo "SKIP: CAIRN does not name an executable" >&2
	exit 77
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 is needed to read JSON" >&2
	exit 77
fi

mkdir -p "${CAIRN_TEST_TMP:-/tmp}"
T=$(mktemp -d "${CAIRN_TEST_TMP:-/tmp}/cli.XXXXXX")
T=$(cd "$T" && pwd -P)
cleanup() {
	if [[ ${CAIRN_TEST_KEEP:-0} == 1 ]]; then
		echo "kept $T" >&2
	else
		chmod -R u+rwX "$T" 2>/dev/null
		rm -rf "$T"
	fi
}
trap cleanup EXIT

OUT=$T/stdout
ERR=$T/stderr
REPO=$T/repo
export CAIRN_REPOSITORY=$REPO
export CAIRN_PASSWORD=test-password-1
unset CAIRN_PASSWORD_FILE CAIRN_NEW_PASSWORD
TEST_NAME=$(basename "$0" .sh)

fail() {
	echo "FAIL [$TEST_NAME]: $*" >&2
	exit 1
}

note() {
	echo "[$TEST_NAME] $*" >&2
}

show_output() {
	sed -n '1,30s/^/  stdout: /p' "$OUT" >&2
	sed -n '1,30s/^/  stderr: /p' "$ERR" >&2
}

# rc_is N ARGS...: runs cairn ARGS (stdout in $OUT, stderr in $ERR) and
# fails unless it exits with status N.
rc_is() {
	local want=$1 rc=0
	shift
	"$CAIRN" "$@" >"$OUT" 2>"$ERR" || rc=$?
	if [[ $rc != "$want" ]]; then
		echo "FAIL [$TEST_NAME]: 'cairn $*' exited $rc, expected $want" >&2
		show_output
		exit 1
	fi
}

# ok ARGS...: rc_is 0.
ok() {
	rc_is 0 "$@"
}

# fails ARGS...: cairn must exit non-zero.
fails() {
	local rc=0
	"$CAIRN" "$@" >"$OUT" 2>"$ERR" || rc=$?
	if [[ $rc == 0 ]]; then
		echo "FAIL [$TEST_NAME]: 'cairn $*' succeeded, expected failure" >&2
		show_output
		exit 1
	fi
}

# out_has REGEX / err_has REGEX: the last command's stdout / stderr
# matches the extended regular expression.
out_has() {
	grep -Eq -- "$1" "$OUT" || { show_output; fail "stdout lacks /$1/"; }
}
err_has() {
	grep -Eq -- "$1" "$ERR" || { show_output; fail "stderr lacks /$1/"; }
}
out_empty() {
	[[ ! -s $OUT ]] || { show_output; fail "stdout is not empty"; }
}

# py CODE [ARGS...]: runs Python CODE after a prelude: out is the path of
# the last stdout, args the extra arguments, lines() / doc() parse it as
# JSON lines / one JSON document.  A failed assert fails the test.
PY_PRELUDE='
import datetime, json, re, sys
out = sys.argv[1]
args = sys.argv[2:]
def lines():
    with open(out) as f:
        return [json.loads(l) for l in f if l.strip()]
def doc():
    with open(out) as f:
        return json.load(f)
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX8 = re.compile(r"^[0-9a-f]{8}$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
def epoch(t):
    assert RFC3339.match(t), t
    t = re.sub(r"\.\d+", "", t).replace("Z", "+00:00")
    return int(datetime.datetime.fromisoformat(t).timestamp())
'
py() {
	local code=$1
	shift
	python3 -c "$PY_PRELUDE"$'\n'"$code" "$OUT" "$@" ||
		{ show_output; fail "python check failed"; }
}

# backup_at HOST TIME [OPTIONS...]: a backup of a line of stdin on host
# HOST, dated TIME (local time).
backup_at() {
	local host=$1 time=$2
	shift 2
	echo "$host $time" | "$CAIRN" backup --stdin -H "$host" --time "$time" \
		"$@" >"$OUT" 2>"$ERR" || fail "backup failed: $(cat "$ERR")"
}

# snapshot_count: number of snapshots in the repository.
snapshot_count() {
	"$CAIRN" snapshots --json 2>"$ERR" |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' ||
		fail "snapshots --json failed"
}

# gen_tree DIR: a small tree with text and random files, an empty file,
# an empty directory, nested directories, a symlink and awkward names.
# Prints the number of regular files.
gen_tree() {
	local d=$1 i
	mkdir -p "$d/sub/deeper" "$d/empty dir" "$d/other"
	for i in 1 2 3 4 5; do
		printf 'text file %d\n' "$i" >"$d/text$i.txt"
		head -c $((i * 37000)) /dev/urandom >"$d/sub/rand$i.bin"
	done
	: >"$d/empty"
	head -c 3000000 /dev/urandom >"$d/sub/deeper/big.bin"
	yes 'compressible line of text' | head -c 500000 >"$d/other/yes.txt"
	printf 'spaces\n' >"$d/other/name with spaces"
	printf 'unicode\n' >"$d/other/caf$(printf '\xc3\xa9')"
	ln -s ../text1.txt "$d/sub/link"
	find "$d" -type f | wc -l
}
