#!/usr/bin/env bash
# Generate the benchmark data set once; bench/run.sh calls this, and it can
# be run by itself. Reuses a complete data set (marked READY) unless
# FORCE_GEN=1.
#
#   DATA_DIR   where to put it (run.sh passes $BENCH_DIR/data-full or -quick)
#   QUICK=1    ~100 MB dump and 30 MB tree instead of ~1 GB and 300 MB
#   DUMP_MB    override the target size of dump 1 (MB)
#   TREE_MB    override the size of the file tree (MB)
#   PGPORT     port of the private PostgreSQL cluster (default 54329)
#   KEEP_PG=1  keep the cluster's data directory afterwards
#
# Output in DATA_DIR: dump1.sql dump2.sql dump3.sql tree/ MANIFEST READY
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GEN_VERSION=1
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  DUMP_MB=${DUMP_MB:-100}; TREE_MB=${TREE_MB:-30}
else
  DUMP_MB=${DUMP_MB:-1000}; TREE_MB=${TREE_MB:-300}
fi
DATA_DIR=${DATA_DIR:-${BENCH_DIR:-/var/tmp/cairn-bench}/data-$([[ $QUICK == 1 ]] && echo quick || echo full)}
PGPORT=${PGPORT:-54329}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PGUSER_OS=${PGUSER_OS:-postgres}

if [[ -f $DATA_DIR/READY && ${FORCE_GEN:-0} != 1 ]]; then
  log "data set present in $DATA_DIR (FORCE_GEN=1 to regenerate)"
  exit 0
fi

need_pkg "$PGBIN/initdb" postgresql
need_pkg zstd zstd
need_pkg "$PY" python3
id "$PGUSER_OS" >/dev/null 2>&1 || die "OS user $PGUSER_OS missing (it comes with the postgresql package)"

t_start=$(date +%s)
mkdir -p "$DATA_DIR"
rm -f "$DATA_DIR/READY"

# Row counts per MB of dump 1. Calibrated on this generator: dump bytes per
# row are about accounts 230, events 270, documents 1450, metrics 60.
rows() { awk -v mb="$DUMP_MB" -v per="$1" 'BEGIN { printf "%d", mb * per }'; }
N_ACCOUNTS=$(rows 540)
N_EVENTS=$(rows 1620)
N_DOCUMENTS=$(rows 325)
N_METRICS=$(rows 4300)

# ---------------------------------------------------------------- cluster
PGROOT=$DATA_DIR/pg
PGDATA=$PGROOT/data
PGSOCK=$PGROOT/sock
PG_STARTED=0
as_pg() { runuser -u "$PGUSER_OS" -- "$@"; }
stop_pg() {
  [[ $PG_STARTED == 1 ]] || return 0
  log "stopping PostgreSQL"
  if ! as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1; then
    local pid
    pid=$(head -1 "$PGDATA/postmaster.pid" 2>/dev/null || true)
    if [[ -n $pid ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
  fi
  PG_STARTED=0
  if [[ ${KEEP_PG:-0} != 1 ]]; then rm -rf "$PGROOT"; fi
}
trap stop_pg EXIT
trap 'exit 130' INT TERM

rm -rf "$PGROOT"
mkdir -p "$PGDATA" "$PGSOCK"
chown -R "$PGUSER_OS" "$PGROOT"
chmod 700 "$PGDATA"
# the cluster's user must be able to reach its directories
chmod o+x "$DATA_DIR" "$(dirname "$DATA_DIR")" 2>/dev/null || true

log "initdb ($PGDATA)"
as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust --no-sync \
  -E UTF8 --locale=C >"$PGROOT/initdb.log" 2>&1 || { cat "$PGROOT/initdb.log" >&2; die "initdb failed"; }

# one line: pg_ctl hands -o to a shell command line
PG_OPTS="-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c wal_level=minimal"
PG_OPTS+=" -c max_wal_senders=0 -c shared_buffers=512MB -c max_wal_size=8GB -c checkpoint_timeout=30min"
PG_OPTS+=" -c autovacuum=off -c TimeZone=UTC -c max_parallel_workers_per_gather=0 -c maintenance_work_mem=512MB"
log "starting PostgreSQL on 127.0.0.1:$PGPORT (socket dir $PGSOCK)"
PG_STARTED=1
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGROOT/server.log" -w -t 120 \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGSOCK $PG_OPTS" \
  start >/dev/null || { cat "$PGROOT/server.log" >&2; die "pg_ctl start failed"; }

PSQL=("$PGBIN/psql" -X -q -h "$PGSOCK" -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1)
psql_db() { local db=$1; shift; as_pg "${PSQL[@]}" -d "$db" "$@"; }
dump_db() {
  # plain format, written by root. Newer pg_dump releases put a random
  # \restrict key in the dump; pin it so that the bytes are reproducible.
  local opts=()
  if "$PGBIN/pg_dump" --help | grep -c -- --restrict-key >/dev/null; then
    opts+=(--restrict-key=cairnbench)
  fi
  as_pg "$PGBIN/pg_dump" "${opts[@]}" -h "$PGSOCK" -p "$PGPORT" -U postgres -d "$1" > "$2"
}

# ---------------------------------------------------------------- dumps
log "generating database (~$DUMP_MB MB dump: accounts=$N_ACCOUNTS events=$N_EVENTS documents=$N_DOCUMENTS metrics=$N_METRICS)"
psql_db postgres -c "CREATE DATABASE bench1"
t0=$(date +%s)
psql_db bench1 -v n_accounts="$N_ACCOUNTS" -v n_events="$N_EVENTS" \
  -v n_documents="$N_DOCUMENTS" -v n_metrics="$N_METRICS" -f "$BENCH_SRC/gendata.sql" >/dev/null
log "  loaded in $(( $(date +%s) - t0 )) s"

log "dump 1"
dump_db bench1 "$DATA_DIR/dump1.sql"

log "dump 3 (dump 1 with one row in 10,000 changed)"
psql_db postgres -c "CREATE DATABASE bench3 TEMPLATE bench1 STRATEGY FILE_COPY"
psql_db bench3 -f "$BENCH_SRC/gendata-row10k.sql" >/dev/null
dump_db bench3 "$DATA_DIR/dump3.sql"
psql_db postgres -c "DROP DATABASE bench3"

log "dump 2 (a simulated day of changes)"
psql_db postgres -c "CREATE DATABASE bench2 TEMPLATE bench1 STRATEGY FILE_COPY"
psql_db bench2 -f "$BENCH_SRC/gendata-day.sql" >/dev/null
dump_db bench2 "$DATA_DIR/dump2.sql"
psql_db postgres -c "DROP DATABASE bench2"
stop_pg

# ---------------------------------------------------------------- tree
log "file tree (~$TREE_MB MB)"
rm -rf "$DATA_DIR/tree"
tree_info=$("$PY" "$BENCH_SRC/gentree.py" "$DATA_DIR/tree" $((TREE_MB * 1024 * 1024)) 42)
log "  $tree_info"

# ---------------------------------------------------------------- manifest
log "checksums and zstd -3 ratio"
s1=$(size_of "$DATA_DIR/dump1.sql")
z1=$(zstd -3 -T0 -q -c "$DATA_DIR/dump1.sql" | wc -c)
ratio=$(awk -v a="$s1" -v b="$z1" 'BEGIN { printf "%.2f", a / b }')
band=$(awk -v r="$ratio" 'BEGIN { print (r >= 3.5 && r <= 4.0) ? "in band 3.5-4.0" : "OUT OF BAND 3.5-4.0" }')
t_gen=$(( $(date +%s) - t_start ))
{
  echo "gen_version $GEN_VERSION"
  echo "generated $(date -u +%FT%TZ) in ${t_gen}s on $(hostname)"
  echo "dump_mb_target $DUMP_MB"
  echo "rows accounts=$N_ACCOUNTS events=$N_EVENTS documents=$N_DOCUMENTS metrics=$N_METRICS"
  for f in dump1.sql dump2.sql dump3.sql; do
    echo "$f $(size_of "$DATA_DIR/$f") $(sha256sum "$DATA_DIR/$f" | cut -d' ' -f1)"
  done
  echo "dump1_zstd3 $z1 ratio $ratio ($band)"
  echo "tree $(find "$DATA_DIR/tree" -type f | wc -l) files $(find "$DATA_DIR/tree" -type d | wc -l) dirs $(du -sb "$DATA_DIR/tree" | cut -f1) bytes"
  echo "gen_seconds $t_gen"
} > "$DATA_DIR/MANIFEST"
cat "$DATA_DIR/MANIFEST" >&2
[[ $band == in* ]] || warn "dump 1 zstd -3 ratio $ratio is outside 3.5-4.0"
touch "$DATA_DIR/READY"
log "data set ready in $DATA_DIR (${t_gen}s)"
