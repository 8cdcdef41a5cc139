#!/usr/bin/env bash
# demo.sh: installs what is needed, builds cairn, and runs its main job on
# an embedded default: a local repository under ./demo, a generated SQLite
# database (as a stream from a command) and a generated directory.  Backs
# both up, lists snapshots, restores, and verifies byte for byte.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tests/deps.sh"
command -v sqlite3 >/dev/null || {
	[ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3
}
build=$top/build
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target cairn >/dev/null
cairn=$build/cairn

demo=$PWD/demo
rm -rf "$demo"
mkdir -p "$demo/src"
export CAIRN_REPOSITORY=$demo/repo
export CAIRN_PASSWORD=demo-password-change-me

say() { printf '\n== %s\n' "$*"; }

say "generating a directory and a SQLite database under $demo/src"
mkdir -p "$demo/src/files/docs" "$demo/src/files/bin"
for i in $(seq 1 200); do
	printf 'document %d\n%s\n' "$i" "$(seq "$i" $((i + 300)))" >"$demo/src/files/docs/doc$i.txt"
done
head -c 5000000 /dev/urandom >"$demo/src/files/bin/random.bin"
ln -sf docs/doc1.txt "$demo/src/files/link-to-doc1"
sqlite3 "$demo/src/app.db" <<'SQL'
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, email TEXT, created TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
INSERT INTO users SELECT i, 'user' || i, 'user' || i || '@example.org',
  datetime(1700000000 + i * 60, 'unixepoch') FROM n;
SQL

say "cairn init"
"$cairn" init
say "cairn backup of the directory"
"$cairn" backup --tag demo "$demo/src/files"
say "cairn backup of the SQLite database, streamed from a command"
"$cairn" backup --tag demo --stdin-filename app.sql --stdin-from-command -- sqlite3 "$demo/src/app.db" .dump
say "cairn backup of the directory again (unchanged files are not re-read)"
"$cairn" backup --tag demo "$demo/src/files"
say "cairn snapshots"
"$cairn" snapshots
say "cairn restore of the directory"
dir_snap=$("$cairn" snapshots --json --path "$demo/src/files" | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
"$cairn" restore "$dir_snap" --target "$demo/restore"
diff -r "$demo/src/files" "$demo/restore$demo/src/files"
echo "restored directory is identical to the source"
say "cairn dump of the database stream, loaded into a new database"
db_snap=$("$cairn" snapshots --json --path /app.sql | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
"$cairn" dump "$db_snap" /app.sql >"$demo/restore/app.sql"
sqlite3 "$demo/src/app.db" .dump | cmp - "$demo/restore/app.sql"
sqlite3 "$demo/restore/app.db" <"$demo/restore/app.sql"
test "$(sqlite3 "$demo/restore/app.db" 'select count(*) from users')" = 50000
echo "database dump is identical; restored database has 50000 users"
say "cairn check --read-data"
"$cairn" check --read-data
say "cairn stats"
"$cairn" stats
say "demo finished: repository in $demo/repo"
