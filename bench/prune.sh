#!/usr/bin/env bash
# Prune benchmark: memory (peak RSS) and wall time of `cairn prune` on a
# repository of about a million blobs, beside forget, stats and check, and
# restic on the same data when restic is installed. See docs/performance.md.
#
# What it does:
#   1. Once (cached in $BENCH_DIR/prune-full or prune-quick, reused until
#      the plan changes or FORCE_GEN=1): creates a cairn repository with a
#      small stream chunker (CHUNKS, default 256,1K,4K: ~1.15 KiB chunks) and
#      backs up 4 snapshots with --stdin. The streams come from
#      bench/prunedata.py: POSITIONS segments of 1 MiB of SHAKE-256 output,
#      each later snapshot rewriting about half of them (whole 16 MiB
#      regions and scattered segments), so that the repository holds about
#      1,000,000 blobs (QUICK=1: ~50,000) and forgetting the 2 oldest
#      snapshots leaves about a third of them unreferenced, some in whole
#      packs and some in packs that stay partly used. The same streams go
#      into a restic repository.
#   2. RUNS times, on a fresh copy of the repository (cp -a --reflink=auto),
#      each step timed: `snapshots` (the cost of opening the repository),
#      `forget --dry-run --keep-last 2`, `forget --keep-last 2`, `stats`,
#      `check`, `prune` (mark: unreferenced packs become candidates, partly
#      used packs are repacked), `check`, `prune` again with libfaketime 25
#      hours later (deletes the candidates; the grace is 24 h), `check`,
#      `stats`; in the first run also `check --read-data`. A failed check
#      after a prune stops the bench with an error. restic: the same with
#      `restic prune` in place of the two prunes.
#   3. Writes a markdown report (medians over the runs): wall seconds, CPU
#      seconds, peak RSS, peak RSS after the key derivation, size of data/
#      before and after, bytes reclaimed, blob counts, RSS per blob, and
#      cairn/restic ratios.
#
# Memory: every cairn command first derives the key with Argon2id at
# 256 MiB (docs/format.md 4), so the plain peak RSS of every step is about
# 262 MiB whatever the step does. bench/rsswatch.c therefore also reports
# the peak after the key derivation ("work RSS", exact: the preloaded shim
# bench/kdfreset.c resets the kernel's high-water mark when the Argon2
# memory is unmapped); that is the figure that grows with the number of
# blobs, and the one the per-blob figures use. libfaketime is preloaded by
# rsswatch too, rather than through faketime(1), which forks and would
# measure its own process.
#
# Run as root on a Debian machine (installs faketime and time when
# missing, drops the page cache between steps):
#   QUICK=1 bench/prune.sh        # ~50k blobs, 1 run: a few minutes
#   bench/prune.sh                # ~1M blobs, 3 runs
#
# Knobs (environment):
#   RUNS=3          runs per step; medians are reported (QUICK=1: 1)
#   QUICK=1         ~50,000 blobs instead of ~1,000,000
#   BENCH_DIR=...   work dir (/var/tmp/cairn-bench); repositories are
#                   prepared once in prune-full/ or prune-quick/
#   CAIRN=...       cairn binary (default: build-release/cairn, built if missing)
#   BUILD=1         (re)build cairn before running even if the binary exists
#   TOOLS="cairn restic"  tools to run (restic is skipped when not installed)
#   CHUNKS=256,1K,4K      cairn's --chunk-size-stream for the repository
#   POSITIONS=N     segments of 1 MiB per snapshot (default 485; QUICK: 24)
#   PRUNE_ARGS=...  extra arguments for both cairn prune runs (e.g. "--max-unused 10%")
#   READ_DATA=0     skip the check --read-data after the last prune of run 1
#   FORCE_GEN=1     prepare the repositories again
#   CORES=N         CPUs given to every command, pinned with taskset (default nproc)
#   DROP_CACHES=0   only sync between steps instead of dropping the page cache
#   STEP_TIMEOUT=S  give up on a step after S seconds (default 3600)
#   KEEP_REPOS=1    keep the last run's copies
#   RESULTS=FILE    where to write the markdown (bench/results/prune-<date>.md)
#   FAKETIME_LIB=...  path of libfaketime.so.1 (found under /usr/lib by default)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  RUNS=${RUNS:-1}; POSITIONS=${POSITIONS:-24}; MODE=quick
else
  RUNS=${RUNS:-3}; POSITIONS=${POSITIONS:-485}; MODE=full
fi
BENCH_DIR=${BENCH_DIR:-/var/tmp/cairn-bench}
WORK=$BENCH_DIR/prune-$MODE
CAIRN_DEFAULT=$ROOT/build-release/cairn
CAIRN=${CAIRN:-$CAIRN_DEFAULT}
TOOLS=${TOOLS:-cairn restic}
CHUNKS=${CHUNKS:-256,1K,4K}
SNAPSHOTS=4
KEEP=2
SEED=cairn-prune-1
CORES=${CORES:-$(nproc)}
CPUSET=0-$((CORES - 1))
PASSWORD=bench-password-not-secret
STAMP=$(date +%Y%m%d-%H%M%S)
LOG_DIR=$BENCH_DIR/logs/prune-$STAMP
RAW=$LOG_DIR/raw.tsv
FACTS=$LOG_DIR/facts.tsv
META=$LOG_DIR/meta.txt
RSSWATCH=$BENCH_DIR/bin/rsswatch
KDFRESET=$BENCH_DIR/bin/kdfreset.so
read -r -a PRUNE_EXTRA <<<"${PRUNE_ARGS:-}"
# An ASan build of cairn would refuse the preloaded shims without this.
export ASAN_OPTIONS=${ASAN_OPTIONS:-verify_asan_link_order=0}
GEN=("$PY" "$BENCH_SRC/prunedata.py" --positions "$POSITIONS"
     --snapshots "$SNAPSHOTS" --seed "$SEED" --keep "$KEEP")

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
(( CORES >= 1 && CORES <= $(nproc) )) || die "CORES must be between 1 and $(nproc)"
[[ $POSITIONS =~ ^[1-9][0-9]*$ ]] || die "POSITIONS must be a positive integer"

need_pkg taskset util-linux
need_pkg "$PY" python3
need_pkg cc gcc
need_pkg faketime faketime
if [[ " $TOOLS " == *" restic "* ]] && ! command -v restic >/dev/null 2>&1; then
  warn "restic is not installed: its comparison is skipped (apt-get install restic)"
  TOOLS=${TOOLS//restic/}
fi
read -r -a tool_list <<<"$TOOLS"

mkdir -p "$LOG_DIR" "$WORK" "$BENCH_DIR/bin"
: >"$RAW"; : >"$FACTS"

# ------------------------------------------------------------------ tools
if [[ ${BUILD:-0} == 1 || ( ! -x $CAIRN && $CAIRN == "$CAIRN_DEFAULT" ) ]]; then
  log "building cairn (log: $LOG_DIR/build.log)"
  ( cd "$ROOT" && cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release \
      && cmake --build build-release -j ) >"$LOG_DIR/build.log" 2>&1 \
    || die "cairn build failed (see $LOG_DIR/build.log)"
fi
[[ -x $CAIRN ]] || die "no cairn binary at $CAIRN"
if [[ ! -x $RSSWATCH || $BENCH_SRC/rsswatch.c -nt $RSSWATCH ||
      ! -e $KDFRESET || $BENCH_SRC/kdfreset.c -nt $KDFRESET ]]; then
  { cc -O2 -Wall "$BENCH_SRC/rsswatch.c" -o "$RSSWATCH" \
      && cc -O2 -Wall -shared -fPIC "$BENCH_SRC/kdfreset.c" -o "$KDFRESET" -ldl; } \
    2>"$LOG_DIR/rsswatch-build.log" \
    || die "building bench/rsswatch.c or kdfreset.c failed (see $LOG_DIR/rsswatch-build.log)"
fi
if [[ -z ${FAKETIME_LIB:-} ]]; then
  for f in /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1 \
           /usr/local/lib/faketime/libfaketime.so.1; do
    [[ -e $f ]] && { FAKETIME_LIB=$f; break; }
  done
fi
[[ -e ${FAKETIME_LIB:-} ]] || die "libfaketime.so.1 not found; set FAKETIME_LIB"
ahead=$(( $(env LD_PRELOAD="$FAKETIME_LIB" FAKETIME=+25h date +%s) - $(date +%s) ))
(( ahead > 89000 && ahead < 91000 )) || die "libfaketime does not move the clock 25 h ahead ($ahead s)"

detect_cache_mode
[[ $CACHE_MODE == sync\ only ]] && warn "cannot drop the page cache; only syncing between steps"

# tool_cmd TOOL ACTION REPO [ARG]: sets CMD (array) and WATCH (rsswatch's
# options: the KDF shim for cairn, libfaketime for the second prune)
tool_cmd() {
  local t=$1 a=$2 r=$3 x=${4:-}
  WATCH=()
  [[ $t == cairn ]] && WATCH=(-s "$KDFRESET" -k 256)
  case $t/$a in
    cairn/init)         CMD=("$CAIRN" -r "$r" init --chunk-size-stream "$CHUNKS") ;;
    cairn/backup*)      CMD=("$CAIRN" -r "$r" backup -q --stdin --stdin-filename data.bin --time "$x") ;;
    cairn/open)         CMD=("$CAIRN" -r "$r" snapshots) ;;
    cairn/forget-dry)   CMD=("$CAIRN" -r "$r" forget --dry-run --keep-last "$KEEP") ;;
    cairn/forget)       CMD=("$CAIRN" -r "$r" forget --keep-last "$KEEP") ;;
    cairn/stats*)       CMD=("$CAIRN" -r "$r" --json stats) ;;
    cairn/check-read*)  CMD=("$CAIRN" -r "$r" check --read-data) ;;
    cairn/check*)       CMD=("$CAIRN" -r "$r" check) ;;
    cairn/prune)        CMD=("$CAIRN" -r "$r" --json prune "${PRUNE_EXTRA[@]}") ;;
    cairn/prune-delete) WATCH+=(-p "$FAKETIME_LIB")
                        CMD=(env FAKETIME=+25h "$CAIRN" -r "$r" --json prune "${PRUNE_EXTRA[@]}") ;;
    restic/init)        CMD=(restic -r "$r" init) ;;
    restic/backup*)     CMD=(restic -r "$r" backup -q --stdin --stdin-filename data.bin --time "$x") ;;
    restic/open)        CMD=(restic -r "$r" snapshots) ;;
    restic/forget-dry)  CMD=(restic -r "$r" forget --dry-run --keep-last "$KEEP") ;;
    restic/forget)      CMD=(restic -r "$r" forget --keep-last "$KEEP") ;;
    restic/stats*)      CMD=(restic -r "$r" stats --mode raw-data --json) ;;
    restic/check-read*) CMD=(restic -r "$r" check --read-data) ;;
    restic/check*)      CMD=(restic -r "$r" check) ;;
    restic/prune)       CMD=(restic -r "$r" prune) ;;
    *) die "unknown $t/$a" ;;
  esac
}

# run_step RUN TOOL STEP REPO [STDIN [ARG]]: runs the command under
# rsswatch, pinned to $CPUSET, after dropping the page cache; appends a row
# to $RAW; stdout goes to $LOG_DIR/TOOL-STEP-RUN.out, stderr to .log.
# Returns the command's status.
run_step() {
  local run=$1 t=$2 step=$3 r=$4 in=${5:-/dev/null} x=${6:-}
  tool_cmd "$t" "$step" "$r" "$x"
  mkdir -p "$r.state"
  local envs; mapfile -t envs < <(tool_env "$t" "$r")
  local base=$LOG_DIR/$t-$step-$run rc=0
  local before after; before=$(dir_bytes "$r/data")
  drop_caches
  log "run $run: $t $step"
  rm -f "$base.time"
  "$RSSWATCH" "${WATCH[@]}" -t "${STEP_TIMEOUT:-3600}" -o "$base.time" -- \
    taskset -c "$CPUSET" env "${envs[@]}" "${CMD[@]}" <"$in" >"$base.out" 2>"$base.log" || rc=$?
  after=$(dir_bytes "$r/data")
  local wall="" user="" sys="" peak="" work="" note=""
  read -r wall user sys peak work _ < <(tail -n 1 "$base.time" 2>/dev/null) || true
  (( rc == 0 )) || note="exit $rc"
  (( rc == 124 )) && note="timed out after ${STEP_TIMEOUT:-3600} s"
  printf '%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$run" "$t" "$step" \
    "$(( rc == 0 ))" "$wall" "$user" "$sys" "$peak" "$work" "$before" "$after" "$note" >>"$RAW"
  (( rc == 0 )) || step_failed "$t" "$step" "$run" "$note" "$base.log"
  return "$rc"
}

skip_step() {  # RUN TOOL STEP NOTE
  printf '%s\t%s\t%s\t0\t\t\t\t\t\t\t\t%s\n' "$1" "$2" "$3" "$4" >>"$RAW"
  log "run $1: $2 $3 skipped: $4"
}

# fact RUN TOOL KEY VALUE: a figure for the report
fact() { printf '%s\t%s\t%s\t%s\n' "$@" >>"$FACTS"; }

# json_get FILE KEY: a member of the JSON object in FILE (last line that is one)
json_get() {
  "$PY" - "$1" "$2" <<'EOF'
import json, sys
v = None
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        continue
    if isinstance(d, dict) and sys.argv[2] in d:
        v = d[sys.argv[2]]
print("" if v is None else v)
EOF
}

# record_json RUN TOOL STEP PREFIX KEY...: members of a step's JSON output,
# as facts PREFIX-KEY (those present)
record_json() {
  local run=$1 t=$2 step=$3 prefix=$4 k v
  shift 4
  for k; do
    v=$(json_get "$LOG_DIR/$t-$step-$run.out" "$k")
    if [[ -n $v ]]; then fact "$run" "$t" "$prefix-$k" "$v"; fi
  done
}
STATS_KEYS=(total_blob_count index_blob_count pack_count)

# count_index RUN TOOL WHEN: for restic, the blobs of its index (cairn's
# stats gives index_blob_count)
count_index() {
  [[ $2 == restic ]] || return 0
  local r=$WORK/run-restic n envs
  mapfile -t envs < <(tool_env restic "$r")
  n=$(env "${envs[@]}" restic -r "$r" list blobs 2>>"$LOG_DIR/restic-untimed.log" | wc -l)
  fact "$1" restic "$3-index_blob_count" "$n"
}

# ------------------------------------------------------------------ prepare
# The plan line names everything the prepared repositories depend on.
PLAN="positions=$POSITIONS snapshots=$SNAPSHOTS seed=$SEED chunks=$CHUNKS gen=$(sha256sum "$BENCH_SRC/prunedata.py" | cut -c1-12)"
# The cairn repository is also made again by another cairn binary, restic's
# by another restic version.
prepare() {  # TOOL: $WORK/base-TOOL with $SNAPSHOTS snapshots, unless present
  local t=$1 b=$WORK/base-$1 plan
  case $t in
    cairn)  plan="$PLAN cairn=$(sha256sum "$CAIRN" | cut -c1-12)" ;;
    restic) plan="$PLAN $(restic version | cut -d' ' -f1-2)" ;;
  esac
  if [[ ${FORCE_GEN:-0} != 1 && -f $b.ready && $(cat "$b.ready") == "$plan" ]]; then
    log "$t: prepared repository present in $b (FORCE_GEN=1 to redo)"
    return 0
  fi
  log "$t: preparing $b ($plan)"
  rm -rf "$b" "$b.state" "$b.ready" "$b.tmp" "$b.tmp.state" "$WORK/prep-$t.tsv"
  tool_cmd "$t" init "$b.tmp"
  mkdir -p "$b.tmp.state"
  local envs; mapfile -t envs < <(tool_env "$t" "$b.tmp")
  env "${envs[@]}" "${CMD[@]}" >"$LOG_DIR/$t-init.log" 2>&1 </dev/null \
    || die "$t init failed (see $LOG_DIR/$t-init.log)"
  local s fifo=$LOG_DIR/stream.fifo
  for ((s = 0; s < SNAPSHOTS; s++)); do
    # data of snapshot s through a FIFO so that the generator is not timed
    # with the backup; snapshot times one day apart, in the past
    rm -f "$fifo"; mkfifo "$fifo"
    "${GEN[@]}" stream "$s" >"$fifo" &
    local gen=$!
    run_step prep "$t" "backup-$s" "$b.tmp" "$fifo" "2026-01-0$((s + 1)) 03:00:00" \
      || die "$t backup of snapshot $s failed"
    wait "$gen" || die "data generator failed for snapshot $s"
  done
  rm -f "$fifo"
  grep $'^prep\t'"$t"$'\t' "$RAW" >"$WORK/prep-$t.tsv"
  mv "$b.tmp" "$b"; mv "$b.tmp.state" "$b.state"
  echo "$plan" >"$b.ready"
}

"${GEN[@]}" plan >"$LOG_DIR/plan.txt"
for t in "${tool_list[@]}"; do prepare "$t"; done
# rows of an earlier preparation, for the report
for t in "${tool_list[@]}"; do
  grep -q $'^prep\t'"$t"$'\t' "$RAW" || cat "$WORK/prep-$t.tsv" >>"$RAW" 2>/dev/null || true
done

# ------------------------------------------------------------------ runs
CHECK_FAILED=""
check_or_fail() {  # RUN TOOL STEP REPO: a check that must pass (else exit 1 at the end)
  if ! run_step "$@"; then
    CHECK_FAILED+="$2 $3 (run $1) failed, see $LOG_DIR/$2-$3-$1.log; "
    printf '\n[bench] ERROR: %s %s FAILED in run %s: the repository is damaged.\n' \
      "$2" "$3" "$1" >&2
    printf '[bench] ERROR: log: %s\n\n' "$LOG_DIR/$2-$3-$1.log" >&2
    return 1
  fi
}

one_run() {  # RUN TOOL
  local run=$1 t=$2 r=$WORK/run-$2
  rm -rf "$r" "$r.state"
  cp -a --reflink=auto "$WORK/base-$t" "$r"
  cp -a --reflink=auto "$WORK/base-$t.state" "$r.state"
  run_step "$run" "$t" open "$r" || true
  run_step "$run" "$t" forget-dry "$r" || true
  run_step "$run" "$t" forget "$r" || die "$t forget failed: the prune steps need it"
  run_step "$run" "$t" stats "$r" && record_json "$run" "$t" stats after-forget "${STATS_KEYS[@]}"
  count_index "$run" "$t" after-forget
  fact "$run" "$t" data-before "$(dir_bytes "$r/data")"
  check_or_fail "$run" "$t" check-before "$r" || true
  local pruned=0
  if run_step "$run" "$t" prune "$r"; then
    pruned=1
    fact "$run" "$t" data-after-mark "$(dir_bytes "$r/data")"
    record_json "$run" "$t" prune mark marked_packs marked_size repacked_packs \
      repacked_blobs repack_written
  elif [[ $t == cairn ]] && grep -qi "unknown command" "$LOG_DIR/$t-prune-$run.log"; then
    printf '\n[bench] ERROR: this cairn has no prune command ("unknown command"):\n' >&2
    printf '[bench] ERROR: the prune steps are skipped; build a cairn with prune (BUILD=1).\n\n' >&2
  fi
  if [[ $t == cairn ]]; then
    if (( pruned )); then
      check_or_fail "$run" "$t" check-mid "$r" || true
      run_step "$run" "$t" prune-delete "$r" \
        && record_json "$run" "$t" prune-delete delete deleted_packs deleted_size
    else
      skip_step "$run" "$t" check-mid "prune failed"
      skip_step "$run" "$t" prune-delete "prune failed"
    fi
  fi
  check_or_fail "$run" "$t" check-after "$r" || true
  fact "$run" "$t" data-after "$(dir_bytes "$r/data")"
  run_step "$run" "$t" stats-after "$r" && record_json "$run" "$t" stats-after after-prune "${STATS_KEYS[@]}"
  count_index "$run" "$t" after-prune
  if [[ $run == 1 && ${READ_DATA:-1} == 1 ]]; then
    check_or_fail "$run" "$t" check-read-data "$r" || true
  fi
  if [[ ${KEEP_REPOS:-0} != 1 || $run != "$RUNS" ]]; then rm -rf "$r" "$r.state"; fi
}

# ------------------------------------------------------------------ meta
version_of() {
  case $1 in
    cairn)  "$CAIRN" --version 2>&1 | head -n 1 || echo "cairn (version unknown)" ;;
    restic) restic version 2>&1 | head -n 1 ;;
  esac
}
{
  echo "date	$(date -u '+%F %T UTC')"
  echo "host	$(uname -srm)"
  echo "cpu	$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "nproc	$(nproc)"
  echo "cores	$CORES (taskset -c $CPUSET)"
  echo "memory	$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "caches	$CACHE_MODE before every timed step"
  echo "runs	$RUNS"
  echo "mode	$([[ $QUICK == 1 ]] && echo 'QUICK (~50k blobs)' || echo 'full (~1M blobs)')"
  echo "filesystem	$(df -T "$BENCH_DIR" | awk 'NR == 2 { print $2 " on " $1 }')"
  echo "plan	$PLAN"
  echo "chunks	$CHUNKS"
  echo "prune_args	${PRUNE_ARGS:-(none)}"
  echo "tools	$TOOLS"
  for t in "${tool_list[@]}"; do echo "version_$t	$(version_of "$t")"; done
  sed 's/ /\t/' "$LOG_DIR/plan.txt"
} >"$META"

for ((run = 1; run <= RUNS; run++)); do
  for t in "${tool_list[@]}"; do one_run "$run" "$t"; done
done

# ------------------------------------------------------------------ report
[[ -n ${RESULTS:-} ]] || RESULTS=$(results_path "prune-$(date +%F)")
"$PY" "$BENCH_SRC/prunereport.py" "$META" "$RAW" "$FACTS" | tee "$RESULTS"
log "results written to $RESULTS (raw figures and logs: $LOG_DIR)"
if [[ -n $CHECK_FAILED ]]; then
  die "a check failed: $CHECK_FAILED"
fi
