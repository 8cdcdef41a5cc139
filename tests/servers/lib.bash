# shellcheck shell=bash
# lib.bash: helpers shared by tests/servers/*.sh (sourced, not run): the
# cached npm installs, free ports, waiting for a server and stopping a
# server by its PID.
#
# npm installs live outside the checkout, one directory per content of
# package.json + package-lock.json:
#   ${CAIRN_NPM_CACHE:-/var/cache/cairn-test}/<name>-<12 hex of sha256>/node_modules
# A directory is installed under a temporary name and renamed into place
# when complete (under flock when available), so concurrent starts either
# wait for one install or throw their own copy away; a killed install
# leaves only a temporary directory behind.

SERVERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

srv_log() {
	echo "${SRV_NAME:-servers}: $*" >&2
}

# srv_die MSG: fails (exit 1).  srv_skip MSG: the server cannot run on
# this machine (exit 77, which the tests treat as a skip).
srv_die() {
	srv_log "error: $*"
	exit 1
}
srv_skip() {
	srv_log "unavailable: $*"
	exit 77
}

# srv_cache_root: prints the cache root, created if needed.
srv_cache_root() {
	local root=${CAIRN_NPM_CACHE:-/var/cache/cairn-test}
	if ! mkdir -p "$root" 2>/dev/null || [[ ! -w $root ]]; then
		if [[ -n ${CAIRN_NPM_CACHE:-} ]]; then
			srv_die "CAIRN_NPM_CACHE=$root is not a writable directory"
		fi
		root=${XDG_CACHE_HOME:-$HOME/.cache}/cairn-test
		mkdir -p "$root" || srv_die "no writable npm cache directory"
	fi
	(cd "$root" && pwd -P)
}

# srv_npm_install NAME: makes sure the packages of tests/servers/NAME
# (package.json + package-lock.json) are installed in the cache and
# prints the directory that holds node_modules.
srv_npm_install() {
	local name=$1 src=$SERVERS_DIR/$1 root hash dir tmp log start
	[[ -f $src/package.json && -f $src/package-lock.json ]] ||
		srv_die "$src lacks package.json or package-lock.json"
	command -v node >/dev/null 2>&1 || srv_skip "node is not installed"
	command -v npm >/dev/null 2>&1 || srv_skip "npm is not installed"
	root=$(srv_cache_root) || exit
	hash=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-12)
	dir=$root/$name-$hash
	if [[ -f $dir/.complete ]]; then
		echo "$dir"
		return 0
	fi
	if command -v flock >/dev/null 2>&1; then
		exec {SRV_LOCK_FD}>"$root/.$name-$hash.lock"
		flock "$SRV_LOCK_FD"
		if [[ -f $dir/.complete ]]; then
			exec {SRV_LOCK_FD}>&-
			echo "$dir"
			return 0
		fi
	fi
	tmp=$(mktemp -d "$root/.$name-$hash.tmp.XXXXXX")
	cp "$src/package.json" "$src/package-lock.json" "$tmp/"
	log=$tmp/npm-ci.log
	start=$SECONDS
	srv_log "installing $name into $dir (npm ci; a cold install can take minutes)"
	if ! (cd "$tmp" && npm ci --no-audit --no-fund >"$log" 2>&1); then
		tail -n 20 "$log" >&2
		rm -rf "$tmp"
		srv_skip "npm ci for $name failed (registry unreachable?)"
	fi
	mv "$log" "$tmp/.npm-ci.log"
	chmod 755 "$tmp"
	touch "$tmp/.complete"
	if ! mv -T "$tmp" "$dir" 2>/dev/null; then
		# another installer (without flock) won the race
		rm -rf "$tmp"
		[[ -f $dir/.complete ]] || srv_die "$dir exists but is incomplete"
	fi
	srv_log "installed $name in $((SECONDS - start)) s"
	if [[ -n ${SRV_LOCK_FD:-} ]]; then
		exec {SRV_LOCK_FD}>&-
	fi
	echo "$dir"
}

# srv_port_busy PORT: true if something accepts connections on
# 127.0.0.1:PORT.
srv_port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# srv_free_port: prints a TCP port that is free on 127.0.0.1 right now.
srv_free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' || srv_die "cannot find a free port (python3)"
}

# srv_resolve_port PORT: PORT itself, or a free port for 0 / "auto";
# fails if PORT is in use.
srv_resolve_port() {
	local p=$1
	if [[ $p == 0 || $p == auto ]]; then
		srv_free_port
		return
	fi
	[[ $p =~ ^[0-9]+$ && $p -gt 0 && $p -lt 65536 ]] || srv_die "bad port '$p'"
	if srv_port_busy "$p"; then
		srv_die "port $p on 127.0.0.1 is already in use"
	fi
	echo "$p"
}

# srv_alive PID: the process exists and is not a zombie.
srv_alive() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 0
	[[ $state != Z ]]
}

# srv_wait_ready PID SECONDS LOG CMD...: runs CMD every 0.1 s until it
# succeeds; fails if PID dies or after SECONDS.
srv_wait_ready() {
	local pid=$1 limit=$2 log=$3 deadline
	shift 3
	deadline=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		if ! srv_alive "$pid"; then
			tail -n 20 "$log" >&2
			srv_die "server (PID $pid) exited during startup; log: $log"
		fi
		if ((SECONDS >= deadline)); then
			tail -n 20 "$log" >&2
			kill "$pid" 2>/dev/null
			srv_die "server (PID $pid) not ready after $limit s; log: $log"
		fi
		sleep 0.1
	done
}

# srv_stop PID PATTERN: stops PID (TERM, then KILL after 10 s) if its
# command line contains PATTERN (guards against a reused PID) and waits
# until it is gone.
srv_stop() {
	local pid=$1 pattern=$2 i cmdline
	[[ $pid =~ ^[0-9]+$ ]] || srv_die "bad PID '$pid'"
	srv_alive "$pid" || return 0
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || true
	if [[ $cmdline != *"$pattern"* ]]; then
		srv_log "PID $pid is not ours (no '$pattern' in its command line); left alone"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		srv_alive "$pid" || return 0
		sleep 0.1
	done
	srv_log "PID $pid ignored SIGTERM for 10 s; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		srv_alive "$pid" || return 0
		sleep 0.1
	done
	srv_die "PID $pid is still alive"
}

# srv_env_get FILE VAR: the value of VAR=... in an env file written by
# these scripts.
srv_env_get() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}
