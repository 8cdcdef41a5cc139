-- Schema and deterministic contents of the benchmark database.
-- Run by bench/gendata.sh with psql variables:
--   n_accounts n_events n_documents n_metrics  row counts
-- Determinism: one backend, no parallel workers, setseed() before every
-- statement that calls random(); rows are inserted in id order.
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;
SET synchronous_commit = off;
SET TimeZone = 'UTC';

-- Pseudo-word vocabulary: 4096 words of 1 to 4 syllables.
CREATE TABLE vocab (id int PRIMARY KEY, w text NOT NULL);
INSERT INTO vocab
SELECT i, (SELECT string_agg(
             (ARRAY['ka','lo','mi','ne','ru','sa','ti','vo','ber','dan','el','fi',
                    'gor','hal','in','jo','kel','lum','mor','nat','or','pra','qu',
                    'ris','sel','tor','un','ver','wil','xa','yor','zen','ta','ble',
                    'tion','ing','ment','ous','ar','ly'])
             [1 + (hashint4(i * 7 + s) & 2147483647) % 40], '')
           FROM generate_series(1, 1 + (hashint4(i) & 2147483647) % 4) s)
FROM generate_series(1, 4096) i;

-- words(n): n words drawn with a skewed (Zipf-like) distribution. The
-- vocabulary is baked into the function as a constant array: reading it from
-- a table would de-TOAST the whole array on every subscript.
DO $do$
DECLARE body text;
BEGIN
  body := format('SELECT string_agg((%L::text[])[1 + floor(power(random(), 3) * 4095)::int], '' '') '
                 'FROM generate_series(1, n)',
                 (SELECT array_agg(w ORDER BY id)::text FROM vocab));
  EXECUTE format('CREATE FUNCTION words(n int) RETURNS text LANGUAGE sql VOLATILE AS %L', body);
END
$do$;

CREATE TABLE accounts (
  id          bigint PRIMARY KEY,
  created_at  timestamptz NOT NULL,
  name        text NOT NULL,
  email       text NOT NULL,
  country     char(2) NOT NULL,
  plan        text NOT NULL,
  balance     numeric(14,2) NOT NULL,
  api_key     text,
  notes       text
) WITH (fillfactor = 90, autovacuum_enabled = off);

CREATE TABLE events (
  id          bigint PRIMARY KEY,
  account_id  bigint NOT NULL,
  ts          timestamptz NOT NULL,
  kind        text NOT NULL,
  amount      numeric(12,2),
  payload     jsonb NOT NULL
) WITH (fillfactor = 90, autovacuum_enabled = off);

CREATE TABLE documents (
  id          bigint PRIMARY KEY,
  account_id  bigint NOT NULL,
  created_at  timestamptz NOT NULL,
  title       text NOT NULL,
  checksum    text NOT NULL,
  body        text NOT NULL
) WITH (fillfactor = 90, autovacuum_enabled = off);

CREATE TABLE metrics (
  id          bigint PRIMARY KEY,
  sensor_id   int NOT NULL,
  ts          timestamp NOT NULL,
  value       double precision NOT NULL,
  status      smallint NOT NULL
) WITH (fillfactor = 90, autovacuum_enabled = off);

SELECT setseed(0.11);
INSERT INTO accounts
SELECT i,
       timestamptz '2019-01-01 00:00:00+00' + (i * interval '37 seconds') + random() * interval '30 seconds',
       initcap(words(2)),
       lower(replace(words(1), ' ', '.')) || i || '@' ||
         (ARRAY['example.com','mail.test','corp.example','post.invalid'])[1 + i % 4],
       (ARRAY['DE','FR','US','GB','NL','SE','JP','BR','IN','CA'])[1 + floor(power(random(), 2) * 10)::int],
       (ARRAY['free','basic','pro','team','enterprise'])[1 + floor(power(random(), 2) * 5)::int],
       round((random() * 20000 - 2000)::numeric, 2),
       CASE WHEN random() < 0.6 THEN md5(i::text || 'key') END,
       CASE WHEN random() < 0.5 THEN words(5 + floor(random() * 40)::int) END
FROM generate_series(1, :n_accounts) i;

SELECT setseed(0.22);
INSERT INTO events
SELECT i,
       1 + floor(power(random(), 2) * :n_accounts)::bigint,
       timestamptz '2023-01-01 00:00:00+00' + (i * interval '2 seconds') + random() * interval '2 seconds',
       (ARRAY['login','logout','view','click','purchase','refund','upload','share'])[1 + floor(power(random(), 1.5) * 8)::int],
       CASE WHEN random() < 0.3 THEN round((random() * 500)::numeric, 2) END,
       jsonb_build_object(
         'ip', '10.' || (i % 7) || '.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int,
         'ua', (ARRAY['Mozilla/5.0 (X11; Linux x86_64)','Mozilla/5.0 (Windows NT 10.0; Win64; x64)',
                      'Mozilla/5.0 (Macintosh; Intel Mac OS X 13_4)','curl/7.88.1',
                      'okhttp/4.11.0','python-requests/2.31.0'])[1 + floor(power(random(), 2) * 6)::int],
         'session', substr(md5((i / 20)::text), 1, 16),
         'req', substr(md5(i::text || 'req'), 1, 12),
         'page', '/' || words(1 + floor(random() * 3)::int),
         'items', (SELECT jsonb_agg(floor(random() * 100000)::int) FROM generate_series(1, (hashint8(i) & 3)::int)),
         'ok', random() < 0.97,
         'latency_ms', floor(power(random(), 3) * 2000)::int)
FROM generate_series(1, :n_events) i;

SELECT setseed(0.33);
INSERT INTO documents
SELECT i,
       1 + floor(power(random(), 2) * :n_accounts)::bigint,
       timestamptz '2020-06-01 00:00:00+00' + (i * interval '90 seconds'),
       initcap(words(3 + floor(random() * 5)::int)),
       md5(i::text || 'doc'),
       CASE
         -- mostly prose of varying length
         WHEN r < 0.80 THEN words(20 + floor(power(random(), 2) * 400)::int)
         -- some with embedded tokens (hex: high entropy)
         WHEN r < 0.95 THEN words(10 + floor(random() * 60)::int) || ' ' ||
              (SELECT string_agg(md5(i::text || ':' || k), '') FROM generate_series(1, 1 + floor(random() * 12)::int) k)
         -- some boilerplate (very low entropy)
         ELSE repeat('Lorem ipsum dolor sit amet, consectetur adipiscing elit. ', 2 + floor(random() * 20)::int)
       END
FROM (SELECT i, random() AS r FROM generate_series(1, :n_documents) i) g;

SELECT setseed(0.44);
INSERT INTO metrics
SELECT i,
       1 + (i % 500),
       timestamp '2023-06-01 00:00:00' + ((i / 500) * interval '10 seconds'),
       round((20 + 10 * sin(i / 5000.0) + random() * 3)::numeric, 3)::double precision,
       CASE WHEN random() < 0.99 THEN 0 ELSE 1 + floor(random() * 5)::int END
FROM generate_series(1, :n_metrics) i;

VACUUM ANALYZE;
