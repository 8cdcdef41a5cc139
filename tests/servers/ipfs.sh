#!/usr/bin/env bash
# ipfs.sh: starts and stops a local IPFS node (js-ipfs 0.66.1, Kubo-style
# RPC API) for the tests, offline and on 127.0.0.1 only.
#
#   ipfs.sh start PORT DIR   repo in DIR/repo, API on 127.0.0.1:PORT, the
#                            gateway on another free port, no swarm
#   ipfs.sh stop DIR         stops the node started with DIR
#
# PORT may be 0 (or "auto") to pick a free port.  start writes DIR/env, a
# file to source:
#   IPFS_PID IPFS_API IPFS_GATEWAY IPFS_PATH IPFS_KIND=js-ipfs
# and the daemon log to DIR/daemon.log.  The npm packages (about 1000,
# 290 MB; a cold install takes about 3 minutes) are cached, see lib.bash.
# Exit status: 0 ok, 77 the node cannot run here (node/npm missing, npm
# install impossible), 1 any other failure.
set -euo pipefail

# shellcheck disable=SC2034
SRV_NAME=ipfs.sh # used by lib.bash
# shellcheck source=lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

usage() {
	echo "usage: ipfs.sh start PORT DIR | ipfs.sh stop DIR" >&2
	exit 2
}

STARTED_PID=
on_exit() {
	local rc=$?
	if [[ $rc != 0 && -n $STARTED_PID ]]; then
		kill "$STARTED_PID" 2>/dev/null || true
	fi
	exit "$rc"
}
trap on_exit EXIT

start() {
	local port=$1 dir=$2 nm cli gw log pid api
	nm=$(srv_npm_install ipfs) || exit $?
	cli=$nm/node_modules/ipfs/src/cli.js
	[[ -f $cli ]] || srv_die "$cli is missing"
	port=$(srv_resolve_port "$port") || exit 1
	gw=$(srv_free_port)
	while [[ $gw == "$port" ]]; do gw=$(srv_free_port); done
	export IPFS_PATH=$dir/repo
	rm -rf "$IPFS_PATH"
	log=$dir/daemon.log
	node "$cli" init --profile test >"$dir/init.log" 2>&1 ||
		{ cat "$dir/init.log" >&2; srv_die "jsipfs init failed"; }
	# one edit of the repo config instead of a slow "jsipfs config" per key
	node -e '
const fs = require("fs");
const [file, api, gw] = process.argv.slice(1);
const c = JSON.parse(fs.readFileSync(file, "utf8"));
c.Addresses = c.Addresses || {};
c.Addresses.API = "/ip4/127.0.0.1/tcp/" + api;
c.Addresses.Gateway = "/ip4/127.0.0.1/tcp/" + gw;
c.Addresses.RPC = "";
c.Addresses.Swarm = [];
c.Addresses.Announce = [];
c.Addresses.NoAnnounce = [];
c.Addresses.Delegates = [];
c.Bootstrap = [];
c.Discovery = c.Discovery || {};
c.Discovery.MDNS = { Enabled: false, Interval: 10 };
c.Discovery.webRTCStar = { Enabled: false };
fs.writeFileSync(file, JSON.stringify(c, null, 2));
' "$IPFS_PATH/config" "$port" "$gw" || srv_die "cannot edit $IPFS_PATH/config"
	api=http://127.0.0.1:$port
	node "$cli" daemon --offline --enable-preload=false </dev/null >"$log" 2>&1 &
	pid=$!
	STARTED_PID=$pid
	srv_wait_ready "$pid" 90 "$log" curl -sf --max-time 2 -X POST "$api/api/v0/version"
	{
		echo "IPFS_PID=$pid"
		echo "IPFS_API=$api"
		echo "IPFS_GATEWAY=http://127.0.0.1:$gw"
		echo "IPFS_PATH=$IPFS_PATH"
		echo "IPFS_KIND=js-ipfs"
	} >"$dir/env.tmp"
	mv "$dir/env.tmp" "$dir/env"
	srv_log "js-ipfs (PID $pid) API on $api"
}

stop() {
	local dir=$1 pid
	[[ -f $dir/env ]] || srv_die "$dir/env does not exist"
	pid=$(srv_env_get "$dir/env" IPFS_PID)
	# the daemon renames itself to "ipfs" (process.title)
	srv_stop "$pid" ipfs
}

[[ $# -ge 1 ]] || usage
case $1 in
start)
	[[ $# == 3 ]] || usage
	mkdir -p "$3"
	dir=$(cd "$3" && pwd -P)
	rm -f "$dir/env"
	start "$2" "$dir"
	;;
stop)
	[[ $# == 2 ]] || usage
	stop "$2"
	;;
*) usage ;;
esac
