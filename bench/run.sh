#!/usr/bin/env bash
# Side-by-side benchmark: cairn against restic (and borg) on the same data.
# See docs/performance.md. Knobs (environment):
#
#   RUNS=3          runs per step; medians are reported (QUICK=1: 1)
#   QUICK=1         small data (~100 MB dump, 30 MB tree) for smoke tests
#   BENCH_DIR=...   work dir for data, repositories, logs (/var/tmp/cairn-bench)
#   CAIRN=...       cairn binary (default: build-release/cairn, built if missing)
#   BUILD=1         (re)build cairn before running even if the binary exists
#   TOOLS="cairn restic borg"   tools to run (order of the first run; rotated)
#   CORES=N         CPUs given to every tool, pinned with taskset (default nproc)
#   DROP_CACHES=0   only sync between steps instead of dropping the page cache
#   SYNC_WALL=0     don't add the sync after a backup step to its wall time
#   KEEP_REPOS=1    keep the repositories of the last run
#   STEP_TIMEOUT=S  give up on a step after S seconds (default 3600)
#   RESULTS=FILE    where to write the markdown (bench/results/<date>.md)
#   MICRO=0         skip the micro-benchmarks (bench/hashbench.c, bench/chunkdedup.c)
#   plus the data knobs of bench/gendata.sh (DUMP_MB, TREE_MB, FORCE_GEN, PGPORT)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then RUNS=${RUNS:-1}; else RUNS=${RUNS:-3}; fi
BENCH_DIR=${BENCH_DIR:-/var/tmp/cairn-bench}
DATA_DIR=$BENCH_DIR/data-$([[ $QUICK == 1 ]] && echo quick || echo full)
CAIRN_DEFAULT=$ROOT/build-release/cairn
CAIRN=${CAIRN:-$CAIRN_DEFAULT}
TOOLS=${TOOLS:-cairn restic borg}
CORES=${CORES:-$(nproc)}
CPUSET=0-$((CORES - 1))
PASSWORD=bench-password-not-secret
STAMP=$(date +%Y%m%d-%H%M%S)
LOG_DIR=$BENCH_DIR/logs/$STAMP
REPOS=$BENCH_DIR/repos
RAW=$LOG_DIR/raw.tsv
META=$LOG_DIR/meta.txt

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
(( CORES >= 1 && CORES <= $(nproc) )) || die "CORES must be between 1 and $(nproc)"

need_pkg /usr/bin/time time
need_pkg taskset util-linux
need_pkg "$PY" python3
need_pkg restic restic
[[ " $TOOLS " == *" borg "* ]] && need_pkg borg borgbackup

mkdir -p "$LOG_DIR" "$REPOS"
export DATA_DIR QUICK
"$BENCH_SRC/gendata.sh"

DUMP1=$DATA_DIR/dump1.sql DUMP2=$DATA_DIR/dump2.sql DUMP3=$DATA_DIR/dump3.sql
TREE=$DATA_DIR/tree
S1=$(size_of "$DUMP1") S2=$(size_of "$DUMP2") S3=$(size_of "$DUMP3")
STREE=$(find "$TREE" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
SHA2=$(awk '$1 == "dump2.sql" { print $3 }' "$DATA_DIR/MANIFEST")
[[ -n $SHA2 ]] || SHA2=$(sha256sum "$DUMP2" | cut -d' ' -f1)

# ------------------------------------------------------------------ cairn
CAIRN_STATUS=ok
if [[ " $TOOLS " == *" cairn "* ]]; then
  if [[ ${BUILD:-0} == 1 || ( ! -x $CAIRN && $CAIRN == "$CAIRN_DEFAULT" ) ]]; then
    log "building cairn (log: $LOG_DIR/build.log)"
    if ! ( cd "$ROOT" && cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release \
             && cmake --build build-release -j ) >"$LOG_DIR/build.log" 2>&1; then
      warn "cairn build failed (see $LOG_DIR/build.log)"
    fi
  fi
  if [[ ! -x $CAIRN ]]; then
    CAIRN_STATUS="binary missing ($CAIRN)"
    warn "cairn unavailable: $CAIRN_STATUS; its columns will read FAILED"
  fi
fi

detect_cache_mode
[[ $CACHE_MODE == sync\ only ]] && warn "cannot drop the page cache; only syncing between steps"

# ------------------------------------------------------------------ tools
# (tool_env, the environment of each tool, is in lib.sh)

# tool_cmd TOOL ACTION REPO [ARG]: sets CMD (array)
tool_cmd() {
  local t=$1 a=$2 r=$3 x=${4:-}
  case $t/$a in
    cairn/init)    CMD=("$CAIRN" -r "$r" init) ;;
    cairn/stdin)   CMD=("$CAIRN" -r "$r" backup --stdin --stdin-filename db.sql) ;;
    cairn/tree)    CMD=("$CAIRN" -r "$r" backup "$x") ;;
    cairn/dump)    CMD=("$CAIRN" -r "$r" dump latest /db.sql) ;;
    cairn/check)   CMD=("$CAIRN" -r "$r" check --read-data) ;;
    restic/init)   CMD=(restic -r "$r" init) ;;
    restic/stdin)  CMD=(restic -r "$r" backup --stdin --stdin-filename db.sql) ;;
    restic/tree)   CMD=(restic -r "$r" backup "$x") ;;
    restic/dump)   CMD=(restic -r "$r" dump latest /db.sql) ;;
    restic/check)  CMD=(restic -r "$r" check --read-data) ;;
    borg/init)     CMD=(borg init --encryption=repokey-blake2 "$r") ;;
    borg/stdin)    CMD=(borg create --compression "zstd,3" --stdin-name db.sql "$r::$x" -) ;;
    borg/tree)     CMD=(borg create --compression "zstd,3" "$r::tree" "$x") ;;
    borg/dump)     CMD=(borg extract --stdout "$r::$x" db.sql) ;;
    borg/check)    CMD=(borg check --verify-data "$r") ;;
    *) die "unknown $t/$a" ;;
  esac
}

# run_plain TOOL ACTION REPO [ARG]: untimed command (init), output to log
run_plain() {
  local t=$1 a=$2 r=$3
  tool_cmd "$@"
  mkdir -p "$r.state"
  local envs; mapfile -t envs < <(tool_env "$t" "$r")
  env "${envs[@]}" "${CMD[@]}" </dev/null >>"$LOG_DIR/$t-untimed.log" 2>&1
}

# run_timed RUN TOOL STEP IN_BYTES REPO STDIN STDOUT ACTION [ARG]
# Drops caches, runs the command pinned to $CPUSET under /usr/bin/time and
# appends one row to $RAW. STDOUT "-" means the step's log directory.
# Returns the command's status.
run_timed() {
  local run=$1 t=$2 step=$3 bytes=$4 r=$5 in=$6 out=$7 a=$8 x=${9:-}
  tool_cmd "$t" "$a" "$r" "$x"
  local envs; mapfile -t envs < <(tool_env "$t" "$r")
  local tf=$LOG_DIR/$t-$step-$run.time lf=$LOG_DIR/$t-$step-$run.log
  [[ $out == - ]] && out=$LOG_DIR/$t-$step-$run.out
  local before rc=0
  before=$(dir_bytes "$r")
  drop_caches
  log "run $run: $t $step"
  /usr/bin/time -f '%e %U %S %M' -o "$tf" \
    timeout -k 10 "${STEP_TIMEOUT:-3600}" \
    taskset -c "$CPUSET" env "${envs[@]}" "${CMD[@]}" <"$in" >"$out" 2>"$lf" || rc=$?
  # The flush of what the step wrote is part of a backup: time the sync that
  # follows a backup step and add it to the wall time (SYNC_WALL=0: don't).
  local t0 t1 sync_s=0
  t0=$(date +%s.%N); sync; t1=$(date +%s.%N)
  if [[ ${SYNC_WALL:-1} == 1 && ( $a == stdin || $a == tree ) ]]; then
    sync_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  fi
  local after wall user sys rss
  after=$(dir_bytes "$r")
  wall="" user="" sys="" rss=""
  read -r wall user sys rss < <(tail -n 1 "$tf" 2>/dev/null) || true
  [[ -n $wall ]] && wall=$(awk -v w="$wall" -v s="$sync_s" 'BEGIN { printf "%.2f", w + s }')
  local note=""
  (( rc == 0 )) || note="exit $rc"
  (( rc == 124 || rc == 137 )) && note="timed out after ${STEP_TIMEOUT:-3600} s"
  if (( rc == 0 )) && [[ $step == restore ]]; then
    local got
    got=$(sha256sum "$out" | cut -d' ' -f1)
    if [[ $got != "$SHA2" ]]; then rc=1; note="sha256 mismatch"; fi
    rm -f "$out"
  fi
  printf '%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$run" "$t" "$step" "$(( rc == 0 ))" "$wall" "$user" "$sys" "$rss" \
    "$bytes" "$after" "$(( after - before ))" "$note" "$sync_s" >>"$RAW"
  (( rc == 0 )) || step_failed "$t" "$step" "$run" "$note" "$lf"
  return "$rc"
}

skip_row() {  # RUN TOOL STEP NOTE
  printf '%s\t%s\t%s\t0\t\t\t\t\t\t\t\t%s\n' "$1" "$2" "$3" "$4" >>"$RAW"
}

# one_tool RUN TOOL: all steps for one tool, fresh repositories
one_tool() {
  local run=$1 t=$2
  local A=$REPOS/$t-a B=$REPOS/$t-b C=$REPOS/$t-c
  rm -rf "$A" "$A.state" "$B" "$B.state" "$C" "$C.state"
  if [[ $t == cairn && $CAIRN_STATUS != ok ]]; then
    for s in first-dump changed-dump row10k-dump restore check tree; do
      skip_row "$run" "$t" "$s" "$CAIRN_STATUS"
    done
    return 0
  fi
  # dump 1 into a fresh repo, then dump 2 on top; copy of the dump-1 repo for dump 3
  if run_plain "$t" init "$A" \
     && run_timed "$run" "$t" first-dump "$S1" "$A" "$DUMP1" - stdin "dump1"; then
    cp -a "$A" "$B"; cp -a "$A.state" "$B.state"
    local latest=dump1
    if run_timed "$run" "$t" changed-dump "$S2" "$A" "$DUMP2" - stdin "dump2"; then
      latest=dump2
      run_timed "$run" "$t" restore "$S2" "$A" /dev/null "$BENCH_DIR/restore.out" dump "$latest" || true
    else
      skip_row "$run" "$t" restore "changed-dump failed"
    fi
    run_timed "$run" "$t" row10k-dump "$S3" "$B" "$DUMP3" - stdin "dump3" || true
    run_timed "$run" "$t" check $((S1 + S2)) "$A" /dev/null - check || true
  else
    for s in first-dump changed-dump row10k-dump restore check; do
      grep -q "^$run"$'\t'"$t"$'\t'"$s"$'\t' "$RAW" 2>/dev/null || skip_row "$run" "$t" "$s" "init or first backup failed"
    done
  fi
  rm -rf "$B" "$B.state"
  if run_plain "$t" init "$C"; then
    run_timed "$run" "$t" tree "$STREE" "$C" /dev/null - tree "$TREE" || true
  else
    skip_row "$run" "$t" tree "init failed"
  fi
  if [[ ${KEEP_REPOS:-0} != 1 || $run != "$RUNS" ]]; then
    rm -rf "$A" "$A.state" "$C" "$C.state"
  fi
  rm -f "$BENCH_DIR/restore.out"
}

# ------------------------------------------------------------------ meta
version_of() {
  case $1 in
    cairn)  if [[ $CAIRN_STATUS == ok ]]; then "$CAIRN" --version 2>&1 | head -n 1 || echo "cairn (version unknown)"; else echo "cairn: $CAIRN_STATUS"; fi ;;
    restic) restic version 2>&1 | head -n 1 ;;
    borg)   borg --version 2>&1 | head -n 1 ;;
  esac
}
{
  echo "date	$(date -u '+%F %T UTC')"
  echo "host	$(uname -srm)"
  echo "cpu	$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "nproc	$(nproc)"
  echo "cores	$CORES (taskset -c $CPUSET for every tool; GOMAXPROCS=${GOMAXPROCS:-unset, Go uses the CPUs of the affinity mask})"
  echo "memory	$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "caches	$CACHE_MODE before every timed step"
  echo "sync_wall	$([[ ${SYNC_WALL:-1} == 1 ]] && echo "backup steps: wall time includes the sync that follows them" || echo "wall time is the tool's alone")"
  echo "runs	$RUNS"
  echo "mode	$([[ $QUICK == 1 ]] && echo 'QUICK (small data)' || echo full)"
  echo "filesystem	$(df -T "$BENCH_DIR" | awk 'NR == 2 { print $2 " on " $1 }')"
  for t in $TOOLS; do echo "version_$t	$(version_of "$t")"; done
  echo "tools	$TOOLS"
  echo "dump1	$S1"; echo "dump2	$S2"; echo "dump3	$S3"; echo "tree	$STREE"
  echo "tree_files	$(find "$TREE" -type f | wc -l)"
  echo "zstd	$(awk '/^dump1_zstd3/ { print $4, $5, $6, $7, $8 }' "$DATA_DIR/MANIFEST")"
  echo "gen	$(awk '/^gen_seconds/ { print $2 }' "$DATA_DIR/MANIFEST")"
} >"$META"

# ------------------------------------------------------------------ runs
read -r -a tool_list <<<"$TOOLS"
n=${#tool_list[@]}
for ((run = 1; run <= RUNS; run++)); do
  for ((k = 0; k < n; k++)); do   # rotate the order between runs
    one_tool "$run" "${tool_list[$(( (k + run - 1) % n ))]}"
  done
done

# ------------------------------------------------------------------ report
[[ -n ${RESULTS:-} ]] || RESULTS=$(results_path "$(date +%F)")
"$PY" "$BENCH_SRC/report.py" "$META" "$RAW" | tee "$RESULTS"

# ------------------------------------------------------------------ micro
# The single-file micro-benchmarks are not part of the CMake build; build
# them outside the source tree with the commands their headers give.
micro() {
  local bin=$BENCH_DIR/bin
  mkdir -p "$bin"
  echo "## Micro-benchmarks"
  echo
  if ( cd "$ROOT" && { cc -O2 bench/hashbench.c -lsodium -lzstd -lcrypto -o "$bin/hashbench" \
         || cc -O2 bench/hashbench.c -lsodium -lzstd -lcrypto -o "$bin/hashbench"; } ) \
       >"$LOG_DIR/micro-build.log" 2>&1; then
    echo "bench/hashbench.c (taskset -c 0):"; echo; echo '```'
    taskset -c 0 "$bin/hashbench" 2>&1 || echo "(hashbench failed)"
    echo '```'; echo
  else
    echo "bench/hashbench.c: build failed (see $LOG_DIR/micro-build.log)"; echo
  fi
  if ( cd "$ROOT" && cc -O2 -I src/chunker src/chunker/chunker.c bench/chunkdedup.c \
         -o "$bin/chunkdedup" -lxxhash ) >>"$LOG_DIR/micro-build.log" 2>&1; then
    local new
    for new in dump3.sql dump2.sql; do
      echo "bench/chunkdedup.c, OLD = dump1.sql, NEW = $new:"; echo; echo '```'
      "$bin/chunkdedup" "$DATA_DIR/dump1.sql" "$DATA_DIR/$new" 2>&1 || echo "(chunkdedup failed)"
      echo '```'; echo
    done
  else
    echo "bench/chunkdedup.c: build failed (see $LOG_DIR/micro-build.log)"; echo
  fi
}
if [[ ${MICRO:-1} == 1 ]]; then
  log "micro-benchmarks"
  micro | tee -a "$RESULTS"
fi
log "results written to $RESULTS (raw figures and logs: $LOG_DIR)"
