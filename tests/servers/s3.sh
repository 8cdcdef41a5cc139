#!/usr/bin/env bash
# s3.sh: starts and stops a local S3 server for the tests, on 127.0.0.1.
#
#   s3.sh start moto PORT DIR     moto 5.x with SigV4 verification on;
#                                 buckets cairn and cairn-lock (Object Lock)
#   s3.sh start s3rver PORT DIR   npm @20minutes/s3rver 4.0.4 (verifies SigV4,
#                                 fixed keys S3RVER/S3RVER); bucket cairn
#   s3.sh stop DIR                stops the server started with DIR
#
# PORT may be 0 (or "auto") to pick a free port.  start writes DIR/env, a
# file to source:
#   S3_PID S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY S3_BUCKET
#   S3_LOCK_BUCKET (moto only) S3_REGION S3_KIND
# and the server log to DIR/<kind>.log.  Exit status: 0 ok, 77 the server
# cannot run here (moto not importable, node/npm missing, npm install
# impossible), 1 any other failure.
set -euo pipefail

# shellcheck disable=SC2034
SRV_NAME=s3.sh # used by lib.bash
# shellcheck source=lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

EH=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# a server started here is stopped again if start fails half-way
STARTED_PID=
on_exit() {
	local rc=$?
	if [[ $rc != 0 && -n $STARTED_PID ]]; then
		kill "$STARTED_PID" 2>/dev/null || true
	fi
	exit "$rc"
}
trap on_exit EXIT

usage() {
	echo "usage: s3.sh start moto|s3rver PORT DIR | s3.sh stop DIR" >&2
	exit 2
}

# signed METHOD URL [CURL ARGS...]: a SigV4-signed S3 request with the
# keys in AK/SK; prints the body, then a line with the HTTP status.
signed() {
	local method=$1 url=$2
	shift 2
	curl -sS --max-time 30 -X "$method" --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$AK:$SK" -H "x-amz-content-sha256: $EH" "$@" \
		-w '\n%{http_code}\n' "$url"
}

# expect_status WANT METHOD URL [CURL ARGS...]
expect_status() {
	local want=$1 out code
	shift
	out=$(signed "$@") || srv_die "curl failed: $*"
	code=$(tail -n 1 <<<"$out")
	[[ $code == "$want" ]] || srv_die "$1 $2: HTTP $code, expected $want: $(head -c 600 <<<"$out")"
}

write_env() {
	local dir=$1 kind=$2 pid=$3 port=$4 lock=$5 v
	for v in "$AK" "$SK"; do
		[[ $v =~ ^[A-Za-z0-9/+=._-]+$ ]] || srv_die "unexpected characters in a key"
	done
	{
		echo "S3_PID=$pid"
		echo "S3_ENDPOINT=http://127.0.0.1:$port"
		echo "AWS_ACCESS_KEY_ID=$AK"
		echo "AWS_SECRET_ACCESS_KEY=$SK"
		echo "S3_BUCKET=cairn"
		[[ -z $lock ]] || echo "S3_LOCK_BUCKET=$lock"
		echo "S3_REGION=us-east-1"
		echo "S3_KIND=$kind"
	} >"$dir/env.tmp"
	mv "$dir/env.tmp" "$dir/env"
}

start_moto() {
	local port=$1 dir=$2 e pid log ia out
	python3 -c 'import moto.server, werkzeug' 2>/dev/null ||
		srv_skip "python3 cannot import moto (pip install 'moto[server]')"
	port=$(srv_resolve_port "$port") || exit 1
	log=$dir/moto.log
	e=http://127.0.0.1:$port
	rm -f "$dir/moto.pid"
	MOTO_PIDFILE=$dir/moto.pid python3 "$SERVERS_DIR/moto_rawurl.py" \
		-H 127.0.0.1 -p "$port" </dev/null >"$log" 2>&1 &
	pid=$!
	STARTED_PID=$pid
	srv_wait_ready "$pid" 30 "$log" curl -sf --max-time 2 "$e/moto-api/"
	# the PID of python itself, should python3 be a wrapper that forks
	pid=$(cat "$dir/moto.pid")
	STARTED_PID=$pid

	# SigV4 verification: an IAM user with a key and an allow-all policy,
	# then reset-auth (moto verifies every request from then on).
	ia=(-sS --max-time 30 --aws-sigv4 "aws:amz:us-east-1:iam"
		--user "AKIAIOSFODNN7EXAMPLE:bootstrap")
	curl "${ia[@]}" -o /dev/null "$e/" -d 'Action=CreateUser&UserName=cairn-ci&Version=2010-05-08' ||
		srv_die "moto CreateUser failed"
	out=$(curl "${ia[@]}" "$e/" -d 'Action=CreateAccessKey&UserName=cairn-ci&Version=2010-05-08') ||
		srv_die "moto CreateAccessKey failed"
	AK=$(sed -n 's:.*<AccessKeyId>\([^<]*\)</AccessKeyId>.*:\1:p' <<<"$out")
	SK=$(sed -n 's:.*<SecretAccessKey>\([^<]*\)</SecretAccessKey>.*:\1:p' <<<"$out")
	[[ -n $AK && -n $SK ]] || srv_die "no key in the CreateAccessKey answer: $out"
	curl "${ia[@]}" -o /dev/null "$e/" --data-urlencode Action=PutUserPolicy \
		--data-urlencode UserName=cairn-ci --data-urlencode PolicyName=all \
		--data-urlencode 'PolicyDocument={"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}' \
		--data-urlencode Version=2010-05-08 || srv_die "moto PutUserPolicy failed"
	curl -sSf --max-time 30 -o /dev/null -X POST -H 'Content-Type: text/plain' \
		--data-binary 0 "$e/moto-api/reset-auth" || srv_die "moto reset-auth failed"

	expect_status 200 PUT "$e/cairn"
	expect_status 200 PUT "$e/cairn-lock" -H 'x-amz-bucket-object-lock-enabled: true'
	# verification really is on: a wrong secret is refused
	SK=$SK-wrong expect_status 403 GET "$e/cairn?list-type=2"
	write_env "$dir" moto "$pid" "$port" cairn-lock
	srv_log "moto (PID $pid) on $e with SigV4 verification"
}

start_s3rver() {
	local port=$1 dir=$2 e pid log nm
	nm=$(srv_npm_install s3rver) || exit $?
	port=$(srv_resolve_port "$port") || exit 1
	log=$dir/s3rver.log
	e=http://127.0.0.1:$port
	mkdir -p "$dir/s3rver-data"
	NODE_PATH=$nm/node_modules NODE_OPTIONS=--openssl-legacy-provider \
		node "$SERVERS_DIR/s3rver/cli.js" -d "$dir/s3rver-data" -a 127.0.0.1 \
		-p "$port" --configure-bucket cairn </dev/null >"$log" 2>&1 &
	pid=$!
	STARTED_PID=$pid
	srv_wait_ready "$pid" 30 "$log" curl -s --max-time 2 -o /dev/null "$e/"
	AK=S3RVER
	SK=S3RVER
	expect_status 200 GET "$e/cairn?list-type=2"
	SK=wrong expect_status 403 GET "$e/cairn?list-type=2"
	write_env "$dir" s3rver "$pid" "$port" ""
	srv_log "s3rver (PID $pid) on $e"
}

stop() {
	local dir=$1 pid kind pattern
	[[ -f $dir/env ]] || srv_die "$dir/env does not exist"
	pid=$(srv_env_get "$dir/env" S3_PID)
	kind=$(srv_env_get "$dir/env" S3_KIND)
	case $kind in
	moto) pattern=moto_rawurl.py ;;
	s3rver) pattern=s3rver/cli.js ;;
	*) srv_die "unknown S3_KIND '$kind' in $dir/env" ;;
	esac
	srv_stop "$pid" "$pattern"
}

[[ $# -ge 1 ]] || usage
case $1 in
start)
	[[ $# == 4 ]] || usage
	mkdir -p "$4"
	dir=$(cd "$4" && pwd -P)
	rm -f "$dir/env"
	case $2 in
	moto) start_moto "$3" "$dir" ;;
	s3rver) start_s3rver "$3" "$dir" ;;
	*) usage ;;
	esac
	;;
stop)
	[[ $# == 2 ]] || usage
	stop "$2"
	;;
*) usage ;;
esac
