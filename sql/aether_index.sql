--
-- aether_index: every index kind PostgreSQL ships, built on an aether table,
-- used by the planner (EXPLAIN under enable_seqscan = off) and giving the
-- same results as on heap. Expected output comes from heap.
--
SET client_min_messages = warning;	-- no NOTICE when an earlier test created it
CREATE EXTENSION IF NOT EXISTS aether;
RESET client_min_messages;
SET default_table_access_method = aether;

CREATE TABLE ix (
	id		int NOT NULL,
	k		int,
	t		text,
	arr		int[],
	j		jsonb,
	r		int4range,
	p		point,
	ts		timestamp
) USING aether;
INSERT INTO ix
SELECT g,
       g % 1000,
       'row ' || g,
       ARRAY[g % 10, g % 7, g % 100],
       jsonb_build_object('tag', 't' || g % 50, 'n', g),
       int4range(g, g + 10),
       point(g % 100, g / 100),
       timestamp '2024-01-01' + g * interval '1 minute'
  FROM generate_series(1, 10000) g;
INSERT INTO ix (id) VALUES (0);
ANALYZE ix;

SET enable_seqscan = off;
SET enable_bitmapscan = off;

-- btree
CREATE INDEX ix_k_btree ON ix USING btree (k);
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE k = 42;
SELECT id, k, t FROM ix WHERE k = 42 ORDER BY id;
EXPLAIN (COSTS OFF) SELECT id, k FROM ix WHERE k < 3 ORDER BY k DESC LIMIT 4;
SELECT id, k FROM ix WHERE k < 3 ORDER BY k DESC, id LIMIT 4;
SELECT count(*), sum(id) FROM ix WHERE k BETWEEN 100 AND 199;
SELECT id, k FROM ix WHERE k IS NULL ORDER BY id;
-- multi-column, expression and partial btree indexes
CREATE INDEX ix_ts_id ON ix (ts, id);
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE ts = '2024-01-02 00:00' AND id = 1440;
SELECT id, ts FROM ix WHERE ts = '2024-01-02 00:00' AND id = 1440;
CREATE INDEX ix_lower_t ON ix (lower(t));
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE lower(t) = 'row 77';
SELECT id, t FROM ix WHERE lower(t) = 'row 77';
CREATE INDEX ix_partial ON ix (id) WHERE k = 7;
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE k = 7 AND id > 5000;
SELECT id FROM ix WHERE k = 7 AND id > 5000 ORDER BY id;

-- hash
CREATE INDEX ix_t_hash ON ix USING hash (t);
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE t = 'row 4242';
SELECT id, t FROM ix WHERE t = 'row 4242';
SELECT id, t FROM ix WHERE t = 'no such row';

-- gist: ranges and points (with nearest-neighbour ordering)
CREATE INDEX ix_r_gist ON ix USING gist (r);
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE r @> 5000;
SELECT id, r FROM ix WHERE r @> 5000 ORDER BY id;
CREATE INDEX ix_p_gist ON ix USING gist (p);
EXPLAIN (COSTS OFF) SELECT id FROM ix ORDER BY p <-> point '(50.2, 50.3)' LIMIT 3;
SELECT id, p FROM ix ORDER BY p <-> point '(50.2, 50.3)', id LIMIT 3;
DROP INDEX ix_p_gist;

-- spgist: points and text
CREATE INDEX ix_p_spgist ON ix USING spgist (p);
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE p <@ box '((10,10),(11,11))';
SELECT id, p FROM ix WHERE p <@ box '((10,10),(11,11))' ORDER BY id;
CREATE INDEX ix_t_spgist ON ix USING spgist (t);
DROP INDEX ix_t_hash;
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE t ^@ 'row 999';
SELECT id, t FROM ix WHERE t ^@ 'row 999' ORDER BY id;

-- gin and brin are used through bitmap scans
SET enable_bitmapscan = on;
SET enable_indexscan = off;
CREATE INDEX ix_arr_gin ON ix USING gin (arr);
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE arr @> ARRAY[3, 5, 33];
SELECT id, arr FROM ix WHERE arr @> ARRAY[3, 5, 33] ORDER BY id;
CREATE INDEX ix_j_gin ON ix USING gin (j jsonb_ops);
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE j @> '{"tag": "t17"}';
SELECT count(*), sum(id) FROM ix WHERE j @> '{"tag": "t17"}';
SELECT id, j FROM ix WHERE j @> '{"n": 123}' ORDER BY id;
CREATE INDEX ix_id_brin ON ix USING brin (id) WITH (pages_per_range = 1);
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE id BETWEEN 4000 AND 4004;
SELECT id, k FROM ix WHERE id BETWEEN 4000 AND 4004 ORDER BY id;
-- a bitmap scan over a btree index, and a BitmapOr of two indexes
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE k = 5 OR t = 'row 6';
SELECT id, k, t FROM ix WHERE k = 5 OR t = 'row 6' ORDER BY id;
RESET enable_indexscan;

-- indexes follow UPDATE and DELETE
UPDATE ix SET k = 5000 WHERE id = 42;
UPDATE ix SET t = 'renamed' WHERE id = 43;
UPDATE ix SET ts = ts + interval '1 year' WHERE id = 44;
UPDATE ix SET arr = ARRAY[-1] WHERE id = 45;
UPDATE ix SET j = '{"tag": "changed"}' WHERE id = 46;
DELETE FROM ix WHERE id = 47;
SET enable_bitmapscan = off;
SELECT id, k FROM ix WHERE k = 5000;
SELECT id, k FROM ix WHERE k = 42 ORDER BY id;
SELECT id FROM ix WHERE t = 'renamed';
SELECT id FROM ix WHERE t ^@ 'row 4' AND id BETWEEN 40 AND 49 ORDER BY id;
SELECT id FROM ix WHERE ts = timestamp '2024-01-01' + 44 * interval '1 minute';
SELECT id FROM ix WHERE r @> 50 ORDER BY id;
SET enable_bitmapscan = on;
SELECT id FROM ix WHERE arr @> ARRAY[-1];
SELECT id FROM ix WHERE j @> '{"tag": "changed"}';
SELECT id FROM ix WHERE id BETWEEN 40 AND 49 ORDER BY id;
SET enable_bitmapscan = off;

-- rows inserted after the index was built, and a rolled-back insert
INSERT INTO ix (id, k, t) SELECT g, g % 1000, 'late ' || g FROM generate_series(10001, 10100) g;
BEGIN;
INSERT INTO ix (id, k, t) VALUES (20000, 999, 'rolled back');
ROLLBACK;
SELECT id, t FROM ix WHERE k = 999 ORDER BY id;

-- REINDEX and CREATE INDEX CONCURRENTLY
REINDEX INDEX ix_k_btree;
REINDEX TABLE ix;
SELECT count(*) FROM ix WHERE k = 999;
CREATE INDEX CONCURRENTLY ix_id_conc ON ix (id);
EXPLAIN (COSTS OFF) SELECT * FROM ix WHERE id = 10050;
SELECT id, t FROM ix WHERE id = 10050;
SELECT indexrelid::regclass AS index, indisvalid
  FROM pg_index WHERE indrelid = 'ix'::regclass ORDER BY indexrelid::regclass::text;

-- UNIQUE indexes
CREATE UNIQUE INDEX ix_id_unique ON ix (id);
INSERT INTO ix (id, t) VALUES (10, 'duplicate id');
UPDATE ix SET id = 11 WHERE id = 12;
SELECT id, t FROM ix WHERE id IN (10, 11, 12) ORDER BY id;
INSERT INTO ix (id, k) VALUES (10101, 1), (10102, 2);
CREATE TABLE ix_d (a int) USING aether;
INSERT INTO ix_d VALUES (1), (2), (3), (2);
CREATE UNIQUE INDEX ix_d_unique ON ix_d (a);
DELETE FROM ix_d WHERE a = 2;
CREATE UNIQUE INDEX ix_d_unique ON ix_d (a);
INSERT INTO ix_d VALUES (2);
INSERT INTO ix_d VALUES (3);
SELECT * FROM ix_d ORDER BY a;
-- a key can be reused once its row is deleted, and after an aborted insert
DELETE FROM ix WHERE id = 10101;
INSERT INTO ix (id, t) VALUES (10101, 'reused');
BEGIN;
INSERT INTO ix (id, t) VALUES (10103, 'aborted');
ROLLBACK;
INSERT INTO ix (id, t) VALUES (10103, 'after abort');
SELECT id, t FROM ix WHERE id > 10100 ORDER BY id;
-- keys moved within one statement (checked at its end)
CREATE TABLE ix_u (a int UNIQUE DEFERRABLE, b text) USING aether;
INSERT INTO ix_u VALUES (1, 'one'), (2, 'two');
UPDATE ix_u SET a = a + 1;
UPDATE ix_u SET a = 3 - a + 2;
SELECT * FROM ix_u ORDER BY a;
SELECT * FROM ix_u WHERE a = 2;

RESET enable_seqscan;
RESET enable_bitmapscan;
DROP TABLE ix, ix_u, ix_d;

-- The planner's page count is what a sequential scan reads: the tree's pages
-- in use, not the virtual blocks (256 row ids each). A small table whose rows
-- carry many versions is then found through its index, as heap's would be.
CREATE TABLE ix_hot (id int PRIMARY KEY, v int, pad text) USING aether;
INSERT INTO ix_hot SELECT g, 0, repeat('x', 60) FROM generate_series(1, 100) g;
ANALYZE ix_hot;
EXPLAIN (COSTS OFF) UPDATE ix_hot SET v = v + 1 WHERE id = 5;
BEGIN;
DO $$ BEGIN FOR i IN 1..40 LOOP UPDATE ix_hot SET v = v + 1; END LOOP; END $$;
SELECT rows, versions FROM aether_versions('ix_hot');
EXPLAIN (COSTS OFF) UPDATE ix_hot SET v = v + 1 WHERE id = 5;
COMMIT;
SELECT count(*), sum(v) FROM ix_hot;
DROP TABLE ix_hot;
