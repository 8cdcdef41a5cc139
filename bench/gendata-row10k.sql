-- Dump 3: dump 1 with one row in 10,000 changed (every 10,000th id of each table).
\set ON_ERROR_STOP on
SET TimeZone = 'UTC';
UPDATE accounts  SET balance = balance + 1, notes = coalesce(notes, '') || ' changed' WHERE id % 10000 = 0;
UPDATE events    SET payload = payload || '{"changed": true}'                      WHERE id % 10000 = 0;
UPDATE documents SET body = body || ' changed', checksum = md5(checksum)           WHERE id % 10000 = 0;
UPDATE metrics   SET value = value + 1                                             WHERE id % 10000 = 0;
