#!/usr/bin/env bash
# Remote stores against local disk: the same cairn backup and restore, once
# into a local repository and once into S3 servers on loopback (moto with
# signature verification on, and the npm S3 server), in one run.  Prints
# throughput, the S3/local ratio and peak memory; the issue's target is a
# ratio of at least 0.80 for backup and for restore.  See
# docs/performance.md.  Knobs (environment):
#
#   RUNS=3          runs per step, medians reported (QUICK=1: 1)
#   QUICK=1         the small data set of bench/gendata.sh
#   BENCH_DIR=...   work dir (/var/tmp/cairn-bench)
#   CAIRN=...       cairn binary (default build-release/cairn, rebuilt when
#                   BUILD=1 or missing)
#   SERVERS="moto s3rver"   S3 servers to measure
#   RESULTS=FILE    markdown output (bench/results/s3-<date>.md)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then RUNS=${RUNS:-1}; else RUNS=${RUNS:-3}; fi
BENCH_DIR=${BENCH_DIR:-/var/tmp/cairn-bench}
DATA_DIR=$BENCH_DIR/data-$([[ $QUICK == 1 ]] && echo quick || echo full)
CAIRN=${CAIRN:-$ROOT/build-release/cairn}
SERVERS=${SERVERS:-moto s3rver}
STAMP=$(date +%Y%m%d-%H%M%S)
LOG_DIR=$BENCH_DIR/logs/s3-$STAMP
WORK=$BENCH_DIR/s3-work
RESULTS=${RESULTS:-$(results_path "s3-$(date +%Y-%m-%d)")}
export CAIRN_PASSWORD=bench-password-not-secret

need_pkg /usr/bin/time time
mkdir -p "$LOG_DIR" "$WORK"
export DATA_DIR QUICK
"$BENCH_SRC/gendata.sh"
if [[ ${BUILD:-0} == 1 || ! -x $CAIRN ]]; then
  log "building cairn (release)"
  (cd "$ROOT" && cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release \
     && cmake --build build-release -j) >"$LOG_DIR/build.log" 2>&1 \
    || die "build failed: $LOG_DIR/build.log"
fi
DUMP=$DATA_DIR/dump1.sql
TREE=$DATA_DIR/tree
BYTES=$(( $(size_of "$DUMP") + $(find "$TREE" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }') ))
log "data: $DUMP + $TREE = $(human_bytes "$BYTES")"

PIDS=()
cleanup() {
  for d in "${PIDS[@]}"; do bash "$ROOT/tests/servers/s3.sh" stop "$d" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# timed LOG CMD...: runs CMD, appends "wall_s maxrss_kib" to stdout
timed() {
  local log=$1; shift
  /usr/bin/time -f '%e %M' -o "$log.time" "$@" >"$log" 2>&1 || { tail -5 "$log" >&2; return 1; }
  cat "$log.time"
}

# one_run KIND URL N: init, backup, restore; prints "backup_s rss restore_s rss"
one_run() {
  local kind=$1 url=$2 n=$3 out=$WORK/restore
  "$CAIRN" -r "$url" init >"$LOG_DIR/$kind-$n-init.log" 2>&1
  drop_caches
  local b r
  b=$(timed "$LOG_DIR/$kind-$n-backup.log" "$CAIRN" -r "$url" backup "$DUMP" "$TREE")
  rm -rf "$out"; mkdir -p "$out"
  drop_caches
  r=$(timed "$LOG_DIR/$kind-$n-restore.log" "$CAIRN" -r "$url" restore latest --target "$out")
  cmp -s "$out$DUMP" "$DUMP" || die "$kind run $n: restored dump differs"
  rm -rf "$out"
  echo "$b $r"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

detect_cache_mode
declare -A BK RS BM RM
for kind in local $SERVERS; do
  : >"$LOG_DIR/$kind.tsv"
  for n in $(seq 1 "$RUNS"); do
    case $kind in
      local)
        rm -rf "$WORK/local-repo"
        url=$WORK/local-repo ;;
      *)
        d=$WORK/srv-$kind-$n; rm -rf "$d"; mkdir -p "$d"
        rc=0; bash "$ROOT/tests/servers/s3.sh" start "$kind" 0 "$d" >/dev/null 2>&1 || rc=$?
        if [[ $rc != 0 ]]; then warn "$kind cannot start here (exit $rc)"; continue 2; fi
        PIDS+=("$d")
        # shellcheck disable=SC1091
        set -a; source "$d/env"; set +a
        url=s3:$S3_ENDPOINT/$S3_BUCKET/bench ;;
    esac
    log "$kind run $n"
    read -r bs bm rs rm < <(one_run "$kind" "$url" "$n")
    printf '%s\t%s\t%s\t%s\n' "$bs" "$bm" "$rs" "$rm" >>"$LOG_DIR/$kind.tsv"
    log "$kind run $n: backup ${bs}s ($((bm / 1024)) MiB), restore ${rs}s ($((rm / 1024)) MiB)"
    if [[ $kind != local ]]; then
      bash "$ROOT/tests/servers/s3.sh" stop "$d" >/dev/null 2>&1 || true
    else
      rm -rf "$WORK/local-repo"
    fi
  done
  [[ -s $LOG_DIR/$kind.tsv ]] || continue
  BK[$kind]=$(cut -f1 "$LOG_DIR/$kind.tsv" | median)
  BM[$kind]=$(cut -f2 "$LOG_DIR/$kind.tsv" | median)
  RS[$kind]=$(cut -f3 "$LOG_DIR/$kind.tsv" | median)
  RM[$kind]=$(cut -f4 "$LOG_DIR/$kind.tsv" | median)
done

mbps() { awk -v b="$BYTES" -v s="$1" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
{
  echo "# cairn: S3 on loopback against local disk ($(date -u +%Y-%m-%d))"
  echo
  echo "Data: $(human_bytes "$BYTES") (\`dump1.sql\` and \`tree/\` of bench/gendata.sh);" \
       "$RUNS run(s) per step, medians; page cache: $CACHE_MODE;" \
       "$(nproc) cores; cairn $("$CAIRN" version | head -1)."
  echo "Each run uses a fresh repository (and a fresh server). Ratio = local time / S3 time (1.00 = as fast as local disk)."
  echo
  echo "| store | backup | MiB/s | ratio | peak RSS | restore | MiB/s | ratio | peak RSS |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for kind in local $SERVERS; do
    [[ -n ${BK[$kind]:-} ]] || { echo "| $kind | not run | | | | | | | |"; continue; }
    echo "| $kind | ${BK[$kind]} s | $(mbps "${BK[$kind]}") | $(ratio "${BK[$kind]}" "${BK[local]}") |" \
         "$((BM[$kind] / 1024)) MiB | ${RS[$kind]} s | $(mbps "${RS[$kind]}") |" \
         "$(ratio "${RS[$kind]}" "${RS[local]}") | $((RM[$kind] / 1024)) MiB |"
  done
  echo
  echo "Raw per-run figures: $LOG_DIR/*.tsv (backup_s backup_rss_kib restore_s restore_rss_kib)."
} >"$RESULTS"
cat "$RESULTS"
log "results: $RESULTS"
