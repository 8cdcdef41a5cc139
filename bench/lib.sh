# shellcheck shell=bash disable=SC2034
# Shared helpers for bench/run.sh, bench/prune.sh and bench/gendata.sh.
# Source, do not run.

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_SRC/.." && pwd)

log()  { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
warn() { printf '[bench %s] WARNING: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf '[bench %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# need_pkg CMD DEBIAN_PACKAGE: install the package with apt-get when CMD is
# missing (only possible as root; otherwise fail with a hint).
need_pkg() {
  local cmd=$1 pkg=$2
  if [[ $cmd == /* ]]; then [[ -x $cmd ]] && return 0
  else command -v "$cmd" >/dev/null 2>&1 && return 0; fi
  if [[ $(id -u) -ne 0 ]]; then
    die "$cmd not found; install the Debian package '$pkg'"
  fi
  log "installing $pkg (for $cmd)"
  if [[ -z ${_BENCH_APT_UPDATED:-} ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || true
    _BENCH_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2 \
    || die "apt-get install $pkg failed"
}

# Python used by the helpers: the system one, so that no per-user shim is needed.
PY=/usr/bin/python3

# Cache dropping. DROP_CACHES=auto (default) drops when /proc allows it,
# DROP_CACHES=0 only syncs.
CACHE_MODE=""
detect_cache_mode() {
  CACHE_MODE="sync only"
  if [[ ${DROP_CACHES:-auto} != 0 ]]; then
    sync
    if (echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then
      CACHE_MODE="sync + drop_caches (echo 3 > /proc/sys/vm/drop_caches)"
    fi
  fi
}
drop_caches() {
  sync
  if [[ $CACHE_MODE == sync\ +* ]]; then
    echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  fi
}

# size_of FILE: bytes
size_of() { stat -c %s "$1"; }
# dir_bytes DIR: apparent size of everything under DIR (du -sb)
dir_bytes() { du -sb "$1" | cut -f1; }

human_bytes() {
  awk -v b="$1" 'BEGIN {
    split("B KiB MiB GiB TiB", u, " "); i = 1
    while (b >= 1024 && i < 5) { b /= 1024; i++ }
    printf (i == 1 ? "%d %s" : "%.1f %s"), b, u[i] }'
}

# tool_env TOOL REPO: the environment of TOOL working on REPO, one
# assignment a line. Each repository R has a private state dir R.state
# (caches, borg's security and config dirs) so that copies of a repository
# do not share a cache. Uses $PASSWORD.
tool_env() {
  local st=$2.state
  echo "XDG_CACHE_HOME=$st/cache"
  case $1 in
    cairn)  echo "CAIRN_PASSWORD=$PASSWORD" ;;
    restic) echo "RESTIC_PASSWORD=$PASSWORD"; echo "RESTIC_CACHE_DIR=$st/cache/restic" ;;
    borg)   echo "BORG_PASSPHRASE=$PASSWORD"; echo "BORG_BASE_DIR=$st"
            echo "BORG_RELOCATED_REPO_ACCESS_IS_OK=yes"
            echo "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes" ;;
  esac
}

# step_failed TOOL STEP RUN NOTE LOG: says that a timed step failed, with
# the end of its log.
step_failed() {
  warn "$1 $2 (run $3) failed: $4; see $5"
  tail -n 5 "$5" >&2 || true
}

# results_path NAME: bench/results/NAME[-quick].md, or with -2, -3... when
# taken (uses $QUICK).
results_path() {
  mkdir -p "$BENCH_SRC/results"
  local base=$BENCH_SRC/results/$1 f i=2
  [[ ${QUICK:-0} == 1 ]] && base+=-quick
  f=$base.md
  while [[ -e $f ]]; do f=$base-$i.md; i=$((i + 1)); done
  echo "$f"
}
