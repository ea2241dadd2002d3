--
-- aether_parallel: parallel sequential scans and parallel index builds on an
-- aether table give the same answers as serial plans. Expected output comes
-- from heap.
--
SET client_min_messages = warning;	-- no NOTICE when an earlier test created it
CREATE EXTENSION IF NOT EXISTS aether;
RESET client_min_messages;
SET default_table_access_method = aether;

CREATE TABLE p_big (id int NOT NULL, grp int, v text);
INSERT INTO p_big SELECT g, g % 7, 'value ' || g FROM generate_series(1, 100000) g;
-- the number of workers planned must not depend on the table's size
ALTER TABLE p_big SET (parallel_workers = 2);
ANALYZE p_big;

-- serial answers, kept for comparison
SET max_parallel_workers_per_gather = 0;
EXPLAIN (COSTS OFF) SELECT count(*), sum(id) FROM p_big;
CREATE TABLE p_serial AS
  SELECT grp, count(*) AS n, sum(id) AS s, min(v) AS minv, max(v) AS maxv,
         sum(length(v)) AS len
    FROM p_big GROUP BY grp;
SELECT count(*), sum(id), avg(id), min(id), max(id), sum(length(v)) FROM p_big;

-- parallel plans
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT count(*), sum(id) FROM p_big;
SELECT count(*), sum(id), avg(id), min(id), max(id), sum(length(v)) FROM p_big;
EXPLAIN (COSTS OFF)
  SELECT grp, count(*), sum(id) FROM p_big GROUP BY grp;
SELECT grp, count(*) AS n, sum(id) AS s, min(v) AS minv, max(v) AS maxv, sum(length(v)) AS len
  FROM p_big GROUP BY grp ORDER BY grp;
SELECT count(*) AS differing FROM (
  SELECT grp, count(*) AS n, sum(id) AS s, min(v) AS minv, max(v) AS maxv, sum(length(v)) AS len
    FROM p_big GROUP BY grp
  EXCEPT SELECT * FROM p_serial) d;
-- a filter evaluated in the workers, rows gathered and sorted
EXPLAIN (COSTS OFF) SELECT id, v FROM p_big WHERE id % 10000 = 0;
SELECT id, v FROM p_big WHERE id % 10000 = 0 ORDER BY id;
-- every row is returned exactly once
SELECT count(*), count(DISTINCT id) FROM p_big;
-- the leader not participating: the workers scan everything
SET parallel_leader_participation = off;
SELECT count(*), sum(id) FROM p_big;
RESET parallel_leader_participation;

-- after updates and deletes, the workers see what the snapshot sees
UPDATE p_big SET v = 'updated' WHERE id % 100 = 0;
UPDATE p_big SET grp = -1 WHERE id % 1000 = 1;
DELETE FROM p_big WHERE id % 3 = 0;
SELECT count(*), sum(id), count(*) FILTER (WHERE v = 'updated'), count(*) FILTER (WHERE grp = -1)
  FROM p_big;
SET max_parallel_workers_per_gather = 0;
SELECT count(*), sum(id), count(*) FILTER (WHERE v = 'updated'), count(*) FILTER (WHERE grp = -1)
  FROM p_big;
SET max_parallel_workers_per_gather = 2;
-- the workers see the leader's own uncommitted changes, and not a rolled-back one
BEGIN;
INSERT INTO p_big SELECT g, 100, 'in txn' FROM generate_series(100001, 100500) g;
UPDATE p_big SET grp = 200 WHERE id BETWEEN 1 AND 50;
DELETE FROM p_big WHERE id BETWEEN 51 AND 60;
SAVEPOINT s;
DELETE FROM p_big WHERE grp = 100;
ROLLBACK TO SAVEPOINT s;
EXPLAIN (COSTS OFF) SELECT grp, count(*) FROM p_big WHERE grp >= 100 GROUP BY grp;
SELECT grp, count(*) FROM p_big WHERE grp >= 100 GROUP BY grp ORDER BY grp;
SELECT count(*), sum(id) FROM p_big;
ROLLBACK;
SELECT count(*), sum(id) FROM p_big;
-- REPEATABLE READ: the workers use the transaction snapshot
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM p_big;
SELECT count(*), sum(id) FROM p_big WHERE grp = 3;
COMMIT;

-- parallel index builds give usable indexes
SET max_parallel_maintenance_workers = 2;
SET maintenance_work_mem = '256MB';
CREATE INDEX p_big_id ON p_big (id);
CREATE INDEX p_big_grp_id ON p_big (grp, id);
CREATE UNIQUE INDEX p_big_v_id ON p_big (v, id);
SELECT indexrelid::regclass, indisvalid FROM pg_index
 WHERE indrelid = 'p_big'::regclass ORDER BY indexrelid::regclass::text;
SET max_parallel_workers_per_gather = 0;	-- plain index scans from here on
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM p_big WHERE id = 77777;
SELECT * FROM p_big WHERE id = 77777;
SELECT * FROM p_big WHERE id = 77778;	-- deleted: 77778 = 3 * 25926
EXPLAIN (COSTS OFF) SELECT * FROM p_big WHERE grp = 5 AND id BETWEEN 100 AND 200 ORDER BY grp, id;
SELECT * FROM p_big WHERE grp = 5 AND id BETWEEN 100 AND 200 ORDER BY grp, id;
SELECT count(*), sum(id) FROM p_big WHERE grp = 5 AND id > 0;
SELECT count(*), sum(id) FROM p_big WHERE id > 0;
SELECT * FROM p_big WHERE v = 'updated' AND id < 1000 ORDER BY v, id;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*), sum(id) FROM p_big WHERE grp = 5;
-- the unique index built in parallel enforces uniqueness
INSERT INTO p_big VALUES (1, 200, 'value 1');
INSERT INTO p_big VALUES (2, 2, 'value 2 again');
-- a parallel build that fails on a duplicate leaves no index
INSERT INTO p_big VALUES (2, 2, 'dup');
-- terse: whether the leader or a worker finds the duplicate varies from run to run
\set VERBOSITY terse
CREATE UNIQUE INDEX p_big_id_unique ON p_big (id);
\set VERBOSITY default
SELECT count(*) FROM pg_class WHERE relname = 'p_big_id_unique';
REINDEX TABLE p_big;
SET enable_seqscan = off;
SELECT count(*) FROM p_big WHERE id = 2;
RESET enable_seqscan;
