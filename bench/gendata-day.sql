-- A simulated day of changes (dump 2): about 2% of the rows of every table
-- updated in place, a few deleted in the middle of the tables, then new rows
-- inserted (they partly refill the space the deletes freed, partly append).
\set ON_ERROR_STOP on
SET max_parallel_workers_per_gather = 0;
SET TimeZone = 'UTC';

SELECT setseed(0.55);
UPDATE accounts SET balance = round(balance + (random() * 200 - 100)::numeric, 2),
                    plan = CASE WHEN random() < 0.1 THEN 'pro' ELSE plan END
WHERE random() < 0.02;
SELECT setseed(0.56);
UPDATE events SET payload = payload || jsonb_build_object('ok', false, 'retried', 1),
                  amount = coalesce(amount, 0) + 1
WHERE random() < 0.02;
SELECT setseed(0.57);
UPDATE documents SET body = body || ' (edited)', checksum = md5(checksum)
WHERE random() < 0.02;
SELECT setseed(0.58);
UPDATE metrics SET value = value + 0.5, status = 2
WHERE random() < 0.02;

-- deletes: 0.2% of the rows, from the middle third of each table
SELECT setseed(0.59);
DELETE FROM accounts  WHERE id BETWEEN (SELECT max(id) / 3 FROM accounts)  AND (SELECT 2 * max(id) / 3 FROM accounts)  AND random() < 0.006;
DELETE FROM events    WHERE id BETWEEN (SELECT max(id) / 3 FROM events)    AND (SELECT 2 * max(id) / 3 FROM events)    AND random() < 0.006;
DELETE FROM documents WHERE id BETWEEN (SELECT max(id) / 3 FROM documents) AND (SELECT 2 * max(id) / 3 FROM documents) AND random() < 0.006;
DELETE FROM metrics   WHERE id BETWEEN (SELECT max(id) / 3 FROM metrics)   AND (SELECT 2 * max(id) / 3 FROM metrics)   AND random() < 0.006;
VACUUM;

-- inserts: 0.5% new rows per table, copies of existing rows with new ids
SELECT setseed(0.60);
INSERT INTO accounts
SELECT id + m.mx, created_at + interval '1 day', name, 'new.' || email, country, plan, 0, api_key, notes
FROM accounts, (SELECT max(id) AS mx FROM accounts) m WHERE random() < 0.005 ORDER BY id;
INSERT INTO events
SELECT id + m.mx, account_id, ts + interval '1 day', kind, amount, payload || '{"day": 2}'
FROM events, (SELECT max(id) AS mx FROM events) m WHERE random() < 0.005 ORDER BY id;
INSERT INTO documents
SELECT id + m.mx, account_id, created_at + interval '1 day', title, md5(checksum), body
FROM documents, (SELECT max(id) AS mx FROM documents) m WHERE random() < 0.005 ORDER BY id;
INSERT INTO metrics
SELECT id + m.mx, sensor_id, ts + interval '1 day', value + 1, status
FROM metrics, (SELECT max(id) AS mx FROM metrics) m WHERE random() < 0.005 ORDER BY id;
