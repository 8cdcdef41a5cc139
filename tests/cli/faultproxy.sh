#!/usr/bin/env bash
# faultproxy.sh: the fault-injecting proxy (tests/servers/faultproxy.py) in
# front of moto with SigV4 verification: signed requests pass through it
# unchanged, every fault kind does what it says when switched on at run
# time through the control endpoint, the plan is reproducible from its
# seed, and with rate 0 a 20 MiB object goes through byte-identical.
# Needs python3 with moto and curl with --aws-sigv4 (skips otherwise);
# cairn itself is not used.
CAIRN=${CAIRN:-/bin/true}
source "$(dirname "$0")/lib/common.bash"
set -euo pipefail

SERVERS=$(cd "$(dirname "$0")/../servers" && pwd -P)
EH=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

command -v curl >/dev/null 2>&1 || { echo "SKIP: curl is missing" >&2; exit 77; }
curl_help=$(curl --help all 2>/dev/null) || true
[[ $curl_help == *--aws-sigv4* ]] || { echo "SKIP: curl lacks --aws-sigv4" >&2; exit 77; }

PROXY_PID=
stop_all() {
	local rc=$?
	if [[ -n $PROXY_PID ]]; then
		kill "$PROXY_PID" 2>/dev/null || true
		wait "$PROXY_PID" 2>/dev/null || true
	fi
	if [[ -f $T/s3/env ]]; then
		"$SERVERS/s3.sh" stop "$T/s3" || true
	fi
	if [[ $rc != 0 && $rc != 77 ]]; then
		sed -n '1,60s/^/  proxy: /p' "$T/proxy.log" >&2 2>/dev/null || true
	fi
	cleanup
	exit "$rc"
}
trap stop_all EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

rc=0
"$SERVERS/s3.sh" start moto 0 "$T/s3" 2>"$ERR" || rc=$?
if [[ $rc == 77 ]]; then
	echo "SKIP: $(cat "$ERR")" >&2
	exit 77
fi
[[ $rc == 0 ]] || fail "s3.sh start moto: $(cat "$ERR")"
# shellcheck disable=SC1091
source "$T/s3/env"

python3 "$SERVERS/faultproxy.py" --listen 127.0.0.1:0 \
	--upstream "${S3_ENDPOINT#http://}" --seed 1 --rate 0 \
	--pidfile "$T/proxy.pid" >"$T/proxy.out" 2>"$T/proxy.log" &
PROXY_PID=$!
for ((i = 0; i < 100; i++)); do
	grep -q '^listening ' "$T/proxy.out" 2>/dev/null && break
	kill -0 "$PROXY_PID" 2>/dev/null || fail "the proxy died: $(cat "$T/proxy.log")"
	sleep 0.1
done
PROXY=http://$(sed -n 's/^listening //p' "$T/proxy.out")
[[ $PROXY != http:// ]] || fail "the proxy did not start"
# the PID of python itself (python3 may be a wrapper script)
PROXY_PID=$(cat "$T/proxy.pid")
B=$PROXY/$S3_BUCKET

SIG=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")
CODE='' CRC='' SIZE='' TIME=''
# req OUTFILE CURL ARGS...: a signed request; sets CODE (HTTP status),
# CRC (curl's exit status), SIZE (bytes downloaded) and TIME (seconds);
# response headers in $T/headers.
req() {
	local out=$1 w
	shift
	CRC=0
	w=$(curl -sS "${SIG[@]}" -D "$T/headers" -o "$out" \
		-w '%{http_code} %{size_download} %{time_total}' "$@" 2>"$T/curl.err") || CRC=$?
	read -r CODE SIZE TIME <<<"$w"
}
# get KEY OUTFILE [CURL ARGS...] / put FILE KEY [CURL ARGS...]
get() {
	local key=$1 out=$2
	shift 2
	req "$out" -H "x-amz-content-sha256: $EH" "$@" "$B/$key"
}
put() {
	local file=$1 key=$2
	shift 2
	req /dev/null -H "x-amz-content-sha256: $(sha256sum <"$file" | cut -d' ' -f1)" \
		-T "$file" "$@" "$B/$key"
}
# plan JSON: changes the fault plan.  stat EXPR: a Python expression on
# the stats document s.
plan() {
	curl -sSf -X POST --data-binary "$1" "$PROXY/__fault__/config" >"$OUT" ||
		fail "control request $1 failed"
}
stat() {
	curl -sSf "$PROXY/__fault__/stats" >"$OUT" || fail "stats request failed"
	python3 -c 'import json, sys
s = json.load(open(sys.argv[1]))
if not eval(sys.argv[2]):
    sys.exit("stats: %s is false in %s" % (sys.argv[2], json.dumps(s)))' "$OUT" "$1" ||
		fail "stats check $1"
}
want() { # want CODE CRC WHAT
	[[ $CODE == "$1" && $CRC == "$2" ]] ||
		fail "$3: HTTP $CODE, curl status $CRC (expected $1 / $2): $(cat "$T/curl.err")"
}
lt() { python3 -c 'import sys; sys.exit(not float(sys.argv[1]) < float(sys.argv[2]))' "$1" "$2"; }

head -c 65536 /dev/urandom >"$T/obj"
head -c 2000 /dev/urandom >"$T/small"

# --- rate 0: signed requests pass, the signature is still checked --------
put "$T/obj" obj
want 200 0 "PUT through the proxy"
put "$T/small" small
want 200 0 "PUT small"
get obj "$T/back"
want 200 0 "GET through the proxy"
cmp -s "$T/obj" "$T/back" || fail "GET through the proxy changed the object"
req "$T/back" -H "x-amz-content-sha256: $EH" "$B?list-type=2&max-keys=10&prefix=o"
want 200 0 "LIST through the proxy"
grep -q '<Key>obj</Key>' "$T/back" || fail "LIST lacks obj"
SIG=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:wrong-secret")
get obj "$T/back"
want 403 0 "a wrong secret through the proxy"
SIG=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")
# the client connection is kept alive although moto closes each one
w=$(curl -sS "${SIG[@]}" -H "x-amz-content-sha256: $EH" -o "$T/back" -o "$T/back2" \
	-w '%{http_code} %{num_connects}\n' "$B/obj" "$B/obj") || fail "two GETs on one connection"
[[ $w == $'200 1\n200 0' ]] || fail "two GETs on one connection: '$w' (status, new connections)"
cmp -s "$T/obj" "$T/back" || fail "first GET on a kept-alive connection differs"
cmp -s "$T/obj" "$T/back2" || fail "second GET on a kept-alive connection differs"
stat 's["requests"] == 7 and s["forwarded"] == 7 and sum(s["faults"].values()) == 0'
note "pass-through ok"

# --- each fault kind, with rate 1 ------------------------------------------
plan '{"rate": 1.0, "faults": ["500"], "seed": 1, "reset_stats": true}'
get obj "$T/back"
want 500 0 "fault 500"
grep -q '<Code>InternalError</Code>' "$T/back" || fail "500 without an S3 error body"
put "$T/obj" obj
want 500 0 "fault 500 on a PUT"

plan '{"faults": ["503"]}'
get obj "$T/back"
want 503 0 "fault 503"
grep -qi '^Retry-After: 1' "$T/headers" || fail "503 without Retry-After: 1"
grep -q '<Code>SlowDown</Code>' "$T/back" || fail "503 without SlowDown"

plan '{"faults": ["reset-before"]}'
get obj "$T/back"
[[ $CODE == 000 && ($CRC == 56 || $CRC == 52) ]] ||
	fail "reset-before: HTTP $CODE, curl status $CRC: $(cat "$T/curl.err")"

plan '{"faults": ["reset-after"]}'
get obj "$T/back"
[[ $CODE == 200 && $CRC == 56 ]] || fail "reset-after: HTTP $CODE, curl status $CRC: $(cat "$T/curl.err")"
((SIZE < 65536)) || fail "reset-after delivered the whole body"

plan '{"faults": ["truncate"]}'
get obj "$T/back"
want 200 18 "truncate"
((SIZE < 65536)) || fail "truncate delivered the whole body"
grep -qi '^Content-Length: 65536' "$T/headers" || fail "truncate changed Content-Length"
cmp -s "$T/back" <(head -c "$SIZE" "$T/obj") || fail "truncate: the prefix differs"

plan '{"faults": ["flip"]}'
get obj "$T/back"
want 200 0 "flip"
[[ $SIZE == 65536 ]] || fail "flip changed the length"
cmp -l "$T/obj" "$T/back" >"$T/cmp" || true
[[ $(wc -l <"$T/cmp") == 1 ]] || fail "flip changed $(wc -l <"$T/cmp") bytes"
read -r _ a b <"$T/cmp"
x=$((8#$a ^ 8#$b))
((x != 0 && (x & (x - 1)) == 0)) || fail "flip changed more than one bit ($a -> $b)"
# flip leaves a non-200 answer alone (counted as skipped)
get missing "$T/back"
want 404 0 "flip on a 404"

plan '{"faults": ["trickle"]}'
get small "$T/back"
want 200 0 "trickle"
cmp -s "$T/small" "$T/back" || fail "trickle changed the object"
lt 1.5 "$TIME" || fail "trickle: 2000 bytes took only $TIME s at 1 KiB/s"
get obj "$T/back" --max-time 2
[[ $CRC == 28 ]] || fail "trickle of 64 KiB within 2 s: curl status $CRC"
((SIZE < 4096)) || fail "trickle sent $SIZE bytes in 2 s"

plan '{"faults": ["stall"]}'
get obj "$T/back" --max-time 2
want 000 28 "stall"
if ! lt 1.8 "$TIME" || ! lt "$TIME" 4; then
	fail "stall: curl gave up after $TIME s"
fi

plan '{"faults": ["put500"]}'
get obj "$T/back"
want 200 0 "put500 leaves a GET alone"
put "$T/small" stored-anyway
want 500 0 "put500"
plan '{"rate": 0}'
get stored-anyway "$T/back"
want 200 0 "GET after put500"
cmp -s "$T/small" "$T/back" || fail "put500 did not store the object"

stat 'all(s["faults"][k] == n for k, n in {"500": 2, "503": 1, "reset-before": 1,
	"reset-after": 1, "truncate": 1, "flip": 2, "trickle": 2, "stall": 1,
	"put500": 2}.items()) and s["skipped"]["flip"] == 1 and s["skipped"]["put500"] == 1'
note "fault kinds ok"

# --- limit and match --------------------------------------------------------
plan '{"rate": 1.0, "faults": ["500"], "limit": 1}'
get obj "$T/back"
want 500 0 "limit 1, first request"
get obj "$T/back"
want 200 0 "limit 1, second request"
plan '{"rate": 1.0, "faults": ["503"], "limit": null, "match": "^PUT "}'
get obj "$T/back"
want 200 0 "match ^PUT, a GET"
put "$T/small" small
want 503 0 "match ^PUT, a PUT"
plan '{"match": null, "rate": 0}'

# --- the plan is reproducible from its seed ---------------------------------
codes() {
	local i s=
	for ((i = 0; i < 30; i++)); do
		get small /dev/null
		s+="$CODE "
	done
	echo "$s"
}
plan '{"rate": 0.5, "faults": ["500", "503"], "seed": 42, "reset_stats": true}'
run1=$(codes)
plan '{"seed": 42}'
run2=$(codes)
[[ $run1 == "$run2" ]] || fail "same seed, different faults: '$run1' vs '$run2'"
[[ $run1 == *200* && $run1 == *500* && $run1 == *503* ]] || fail "rate 0.5 gave '$run1'"
stat 's["requests"] == 60 and s["faults"]["500"] + s["faults"]["503"] == 2 * '"$(grep -o '50[03]' <<<"$run1" | wc -l)"
note "seeded plan ok: $run1"

# --- rate 0: 20 MiB through the proxy, both ways ------------------------------
plan '{"rate": 0}'
head -c $((20 << 20)) /dev/urandom >"$T/big"
put "$T/big" big
want 200 0 "20 MiB PUT"
put_time=$TIME
get big "$T/back"
want 200 0 "20 MiB GET"
cmp -s "$T/big" "$T/back" || fail "20 MiB object changed through the proxy"
note "20 MiB: PUT ${put_time}s, GET ${TIME}s"
# a chunked upload (curl -T - sends Transfer-Encoding: chunked)
req /dev/null -H "x-amz-content-sha256: $(sha256sum <"$T/obj" | cut -d' ' -f1)" -T - "$B/chunked" <"$T/obj"
want 200 0 "chunked PUT"
get chunked "$T/back"
cmp -s "$T/obj" "$T/back" || fail "chunked PUT changed the object"

# --- control plane errors ---------------------------------------------------
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '{"faults": ["nope"]}' "$PROXY/__fault__/config")
[[ $code == 400 ]] || fail "an unknown fault gave HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary '{"rate": 2}' "$PROXY/__fault__/config")
[[ $code == 400 ]] || fail "rate 2 gave HTTP $code"
grep -q '^faultproxy: stall GET /cairn/obj$' "$T/proxy.log" || fail "no log line for the stall"

note "ok"
