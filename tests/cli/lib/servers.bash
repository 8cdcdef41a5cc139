# shellcheck shell=bash
# Helpers for the CLI tests that need network servers (s3.sh,
# s3_faults.sh); sourced after common.bash, whose fail/note/... it uses.
#
# Servers come from tests/servers/ (s3.sh: moto, s3rver; faultproxy.py)
# and listen on 127.0.0.1 only.  Each one keeps its state under $T
# ($T/<name>/env for an S3 server, $T/<name>.pid for a proxy), so that
# servers_stop_all, installed as the EXIT trap by servers_trap, stops
# every one by its PID, also those started in a subshell.

SERVERS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../servers" && pwd -P)
EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# servers_stop_all: stops every proxy and S3 server started under $T
servers_stop_all() {
	local f pid
	for f in "$T"/*.proxy.pid; do
		[[ -f $f ]] || continue
		pid=$(cat "$f")
		if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
			grep -q faultproxy.py; then
			kill "$pid" 2>/dev/null
			for _ in $(seq 1 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
		fi
		rm -f "$f"
	done
	for f in "$T"/*/env; do
		[[ -f $f ]] || continue
		"$SERVERS/s3.sh" stop "$(dirname "$f")" || true
		rm -f "$f"
	done
}

# servers_trap: the EXIT trap stops the servers, then removes $T
servers_trap() {
	trap 'rc=$?; servers_stop_all; cleanup; exit $rc' EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
}

# s3_start KIND NAME: starts an S3 server (moto, s3rver) with its state in
# $T/NAME; returns 0 (its settings are then in the shell: S3_ENDPOINT,
# S3_BUCKET, S3_LOCK_BUCKET, S3_REGION, S3_KIND, AK, SK; nothing is
# exported), 77 when it cannot run here, and fails the test otherwise.
s3_start() {
	local kind=$1 dir=$T/$2 rc=0
	"$SERVERS/s3.sh" start "$kind" 0 "$dir" 2>"$T/$2.start.err" || rc=$?
	if [[ $rc == 77 ]]; then
		note "$kind cannot run here: $(tail -n 1 "$T/$2.start.err")"
		return 77
	fi
	[[ $rc == 0 ]] || fail "s3.sh start $kind: $(cat "$T/$2.start.err")"
	S3_ENDPOINT=$(srv_get "$dir/env" S3_ENDPOINT)
	# shellcheck disable=SC2034 # for the caller
	{
		S3_BUCKET=$(srv_get "$dir/env" S3_BUCKET)
		S3_LOCK_BUCKET=$(srv_get "$dir/env" S3_LOCK_BUCKET)
		S3_REGION=$(srv_get "$dir/env" S3_REGION)
		S3_KIND=$(srv_get "$dir/env" S3_KIND)
	}
	AK=$(srv_get "$dir/env" AWS_ACCESS_KEY_ID)
	SK=$(srv_get "$dir/env" AWS_SECRET_ACCESS_KEY)
	[[ -n $S3_ENDPOINT && -n $AK && -n $SK ]] || fail "incomplete $dir/env"
}

srv_get() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

# s3_creds: exports the server's keys (AK, SK) as the only credentials
s3_creds() {
	export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_SHARED_CREDENTIALS_FILE
	unset AWS_REGION AWS_DEFAULT_REGION
}

# s3_curl METHOD URL [CURL ARGS...]: a request signed with AK/SK (curl's
# own SigV4); the body on stdout; fails the test when curl fails
s3_curl() {
	local method=$1 url=$2
	shift 2
	curl -sS --max-time 30 -X "$method" --aws-sigv4 "aws:amz:${S3_REGION:-us-east-1}:s3" \
		--user "$AK:$SK" -H "x-amz-content-sha256: $EMPTY_SHA256" "$@" "$url" ||
		fail "curl $method $url failed"
}

# s3_keys BUCKET PREFIX: the keys under PREFIX, one a line (first 1000)
s3_keys() {
	local q
	q=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$2")
	# the query pre-sorted and pre-encoded: it is signed as written
	s3_curl GET "$S3_ENDPOINT/$1?list-type=2&prefix=$q" |
		python3 -c '
import re, sys
for k in re.findall(r"<Key>([^<]*)</Key>", sys.stdin.read()):
    print(k)'
}

# need_curl_sigv4: skips the test without curl --aws-sigv4
need_curl_sigv4() {
	command -v curl >/dev/null 2>&1 || { echo "SKIP: curl is missing" >&2; exit 77; }
	curl --help all 2>/dev/null | grep -q -- --aws-sigv4 ||
		{ echo "SKIP: curl lacks --aws-sigv4" >&2; exit 77; }
}

# proxy_start NAME UPSTREAM (host:port): starts faultproxy.py at rate 0;
# sets PROXY (its http:// URL).  Its log is $T/NAME.proxy.log (every
# request in it with CAIRN_TEST_PROXY_VERBOSE=1; keep it with
# CAIRN_TEST_KEEP=1).
proxy_start() {
	local name=$1 up=$2 pid i v=()
	[[ ${CAIRN_TEST_PROXY_VERBOSE:-0} == 1 ]] && v=(--verbose)
	python3 "$SERVERS/faultproxy.py" --listen 127.0.0.1:0 --upstream "$up" \
		--seed 1 --rate 0 --pidfile "$T/$name.proxy.pid" "${v[@]}" \
		>"$T/$name.proxy.out" 2>"$T/$name.proxy.log" &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^listening ' "$T/$name.proxy.out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || fail "the proxy died: $(cat "$T/$name.proxy.log")"
		sleep 0.1
	done
	PROXY=http://$(sed -n 's/^listening //p' "$T/$name.proxy.out")
	[[ $PROXY != http:// ]] || fail "the proxy did not start"
	[[ -s $T/$name.proxy.pid ]] || fail "the proxy wrote no PID file"
}

# proxy_plan JSON: changes the proxy's fault plan
proxy_plan() {
	curl -sSf --max-time 10 -X POST --data-binary "$1" "$PROXY/__fault__/config" \
		>/dev/null || fail "proxy control request $1 failed"
}

# proxy_stats: the proxy's statistics (JSON) on stdout
proxy_stats() {
	curl -sSf --max-time 10 "$PROXY/__fault__/stats" || fail "proxy stats request failed"
}

# proxy_faults [KIND]: the number of faults of KIND (all kinds when
# omitted) injected since the last reset_stats, those that did not apply
# (counted as "skipped") left out
proxy_faults() {
	proxy_stats | python3 -c '
import json, sys
s = json.load(sys.stdin)
k = sys.argv[1:]
kinds = k if k else list(s["faults"])
print(sum(s["faults"].get(x, 0) - s["skipped"].get(x, 0) for x in kinds))' "$@"
}

# proxy_report WHAT: prints (note) the faults injected per kind and the
# number of requests
proxy_report() {
	local line
	line=$(proxy_stats | python3 -c '
import json, sys
s = json.load(sys.stdin)
inj = {k: v - s["skipped"].get(k, 0) for k, v in s["faults"].items()}
parts = ["%s %d" % (k, v) for k, v in sorted(inj.items()) if v]
sk = ["%s %d" % (k, v) for k, v in sorted(s["skipped"].items()) if v]
print("%d requests, %d faults injected (%s)%s" % (s["requests"] - s["control"],
      sum(inj.values()), ", ".join(parts) or "none",
      "; not applicable: " + ", ".join(sk) if sk else ""))')
	note "$1: $line"
}

# now: seconds since the epoch, with nanoseconds.  since T0: seconds
# elapsed since T0, one decimal
now() {
	date +%s.%N
}
since() {
	python3 -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$1"
}
# lt A B: A < B (decimals)
lt() {
	python3 -c 'import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))' "$1" "$2"
}

# timed_rc ARGS...: runs cairn ARGS (stdout in $OUT, stderr in $ERR);
# RC gets its exit status, SECS the seconds it took
# shellcheck disable=SC2034 # RC and SECS are for the caller
timed_rc() {
	local t0
	t0=$(now)
	RC=0
	"$CAIRN" "$@" >"$OUT" 2>"$ERR" || RC=$?
	SECS=$(since "$t0")
}
