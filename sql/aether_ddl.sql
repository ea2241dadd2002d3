--
-- aether_ddl: DDL on aether tables — ADD/DROP COLUMN, ALTER TYPE, TRUNCATE,
-- CTAS/SELECT INTO, VACUUM (FULL), CLUSTER, ANALYZE, CREATE INDEX
-- CONCURRENTLY, REINDEX, DROP rolled back, partitions and inheritance.
-- Expected output comes from heap (scripts/regen-expected-from-heap.sh).
--
SET client_min_messages = warning;	-- no NOTICE when an earlier test created it
CREATE EXTENSION IF NOT EXISTS aether;
RESET client_min_messages;
SET default_table_access_method = aether;

-- ADD COLUMN: without default, with a constant default (no rewrite on
-- heap), with a volatile default (rewrite), NOT NULL with default
CREATE TABLE d_cols (id int PRIMARY KEY, a text);
INSERT INTO d_cols SELECT g, 'a' || g FROM generate_series(1, 500) g;
ALTER TABLE d_cols ADD COLUMN b int;
ALTER TABLE d_cols ADD COLUMN c text DEFAULT 'cdef';
ALTER TABLE d_cols ADD COLUMN d int NOT NULL DEFAULT 7;
ALTER TABLE d_cols ADD COLUMN e int DEFAULT (random() * 0)::int;	-- volatile: rewrite
SELECT * FROM d_cols WHERE id IN (1, 250, 500) ORDER BY id;
SELECT count(*), count(b), count(c), sum(d), sum(e) FROM d_cols;
INSERT INTO d_cols (id, a) VALUES (501, 'new');
INSERT INTO d_cols VALUES (502, 'all', 2, 'c2', 3, 4);
SELECT * FROM d_cols WHERE id > 499 ORDER BY id;
UPDATE d_cols SET b = id * 2 WHERE id % 100 = 0;
SELECT id, b, c, d FROM d_cols WHERE b IS NOT NULL ORDER BY id;
-- the default applies to rows that existed before, even after more DDL
ALTER TABLE d_cols ALTER COLUMN c SET DEFAULT 'other';
INSERT INTO d_cols (id) VALUES (503);
SELECT id, a, c FROM d_cols WHERE id IN (1, 503) ORDER BY id;

-- DROP COLUMN: the column disappears, other columns keep their values,
-- a new column with the same name starts empty
ALTER TABLE d_cols DROP COLUMN b;
ALTER TABLE d_cols DROP COLUMN a;
SELECT * FROM d_cols WHERE id IN (1, 100, 502, 503) ORDER BY id;
INSERT INTO d_cols (id, c) VALUES (504, 'after drop');
ALTER TABLE d_cols ADD COLUMN a text;
SELECT * FROM d_cols WHERE id IN (1, 504) ORDER BY id;
SELECT count(*), count(a), count(c) FROM d_cols;
-- DROP COLUMN rolled back
BEGIN;
ALTER TABLE d_cols DROP COLUMN c;
SELECT count(*) FROM d_cols;
ROLLBACK;
SELECT id, c FROM d_cols WHERE id IN (1, 504) ORDER BY id;

-- ALTER COLUMN TYPE rewrites the table; indexes are rebuilt and used
CREATE TABLE d_type (id int PRIMARY KEY, n int, s varchar(10));
CREATE INDEX d_type_n ON d_type (n);
INSERT INTO d_type SELECT g, g * 3, 's' || g FROM generate_series(1, 1000) g;
ALTER TABLE d_type ALTER COLUMN n TYPE bigint;
ALTER TABLE d_type ALTER COLUMN s TYPE text;
ALTER TABLE d_type ALTER COLUMN id TYPE numeric USING id + 0.5;
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
  FROM pg_attribute a WHERE a.attrelid = 'd_type'::regclass AND a.attnum > 0
 ORDER BY a.attnum;
SELECT * FROM d_type WHERE id IN (1.5, 500.5, 1000.5) ORDER BY id;
SELECT count(*), sum(n), sum(id) FROM d_type;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM d_type WHERE n = 300;
SELECT * FROM d_type WHERE n = 300;
SELECT * FROM d_type WHERE id = 42.5;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- a type change that fails part way leaves the table as it was
INSERT INTO d_type VALUES (2000, 1, 'not a number');
ALTER TABLE d_type ALTER COLUMN s TYPE int
  USING CASE WHEN s LIKE 's%' THEN length(s) ELSE s::int END;
SELECT count(*), min(s), max(s) FROM d_type;
-- ALTER TYPE rolled back
BEGIN;
ALTER TABLE d_type ALTER COLUMN n TYPE text;
SELECT n FROM d_type WHERE id = 1.5;
ROLLBACK;
SELECT n + 1 FROM d_type WHERE id = 1.5;

-- TRUNCATE; in the same transaction as CREATE; rolled back
CREATE TABLE d_trunc (id int PRIMARY KEY, v text);
INSERT INTO d_trunc SELECT g, 'v' || g FROM generate_series(1, 1000) g;
TRUNCATE d_trunc;
SELECT count(*) FROM d_trunc;
INSERT INTO d_trunc VALUES (1, 'again');
SELECT * FROM d_trunc ORDER BY id;
BEGIN;
TRUNCATE d_trunc;
INSERT INTO d_trunc VALUES (2, 'in txn');
SELECT * FROM d_trunc ORDER BY id;
ROLLBACK;
SELECT * FROM d_trunc ORDER BY id;
BEGIN;
TRUNCATE d_trunc;
INSERT INTO d_trunc VALUES (3, 'committed');
COMMIT;
SELECT * FROM d_trunc ORDER BY id;
-- truncate rolled back to a savepoint
BEGIN;
INSERT INTO d_trunc VALUES (4, 'before sp');
SAVEPOINT s;
TRUNCATE d_trunc;
SELECT count(*) FROM d_trunc;
ROLLBACK TO SAVEPOINT s;
SELECT * FROM d_trunc ORDER BY id;
COMMIT;
SELECT * FROM d_trunc ORDER BY id;
-- created and truncated in one transaction
BEGIN;
CREATE TABLE d_trunc2 (id int PRIMARY KEY, v text);
INSERT INTO d_trunc2 SELECT g, 'x' FROM generate_series(1, 300) g;
TRUNCATE d_trunc2;
INSERT INTO d_trunc2 SELECT g, 'y' FROM generate_series(1, 5) g;
SELECT * FROM d_trunc2 ORDER BY id;
COMMIT;
SELECT * FROM d_trunc2 ORDER BY id;
SET enable_seqscan = off;
SELECT * FROM d_trunc2 WHERE id = 3;
RESET enable_seqscan;
-- row ids reserved before such a TRUNCATE are not the new tree's
BEGIN;
CREATE TABLE d_trunc4 (id int PRIMARY KEY);
INSERT INTO d_trunc4 SELECT g FROM generate_series(1, 300) g;
TRUNCATE d_trunc4;
INSERT INTO d_trunc4 SELECT g FROM generate_series(1, 1000) g;
COMMIT;
SELECT count(*), count(DISTINCT ctid), min(id), max(id) FROM d_trunc4;
BEGIN;
CREATE TABLE d_trunc3 (id int);
INSERT INTO d_trunc3 VALUES (1);
TRUNCATE d_trunc3;
INSERT INTO d_trunc3 VALUES (2);
ROLLBACK;
SELECT count(*) FROM pg_class WHERE relname = 'd_trunc3';
-- TRUNCATE of several tables, and RESTART IDENTITY
CREATE TABLE d_trunc_id (id int GENERATED ALWAYS AS IDENTITY, v text);
INSERT INTO d_trunc_id (v) VALUES ('a'), ('b');
TRUNCATE d_trunc, d_trunc_id RESTART IDENTITY;
INSERT INTO d_trunc_id (v) VALUES ('c');
SELECT * FROM d_trunc_id ORDER BY id;
SELECT count(*) FROM d_trunc;

-- CREATE TABLE AS, SELECT INTO, CREATE TABLE AS ... WITH NO DATA
CREATE TABLE d_ctas AS SELECT g AS id, g % 7 AS k, repeat('z', g % 50) AS pad
  FROM generate_series(1, 2000) g;
SELECT a.amname = current_setting('default_table_access_method') AS uses_am
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'd_ctas';
SELECT count(*), sum(id), sum(k), sum(length(pad)) FROM d_ctas;
SELECT id, k, k * 2 AS k2 INTO d_into FROM d_ctas WHERE k = 3;
SELECT a.amname = current_setting('default_table_access_method') AS uses_am
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'd_into';
SELECT count(*), min(id), max(id), sum(k2) FROM d_into;
CREATE TABLE d_ctas_empty USING aether AS SELECT * FROM d_ctas WITH NO DATA;
SELECT count(*) FROM d_ctas_empty;
INSERT INTO d_ctas_empty SELECT * FROM d_ctas WHERE id <= 3;
SELECT id, k, pad FROM d_ctas_empty ORDER BY id;
CREATE TABLE d_ctas_rb AS SELECT 1 AS x;
BEGIN;
CREATE TABLE d_ctas_rb2 AS SELECT * FROM d_ctas;
SELECT count(*) FROM d_ctas_rb2;
ROLLBACK;
SELECT relname FROM pg_class WHERE relname LIKE 'd_ctas_rb%' ORDER BY relname;
-- a materialized view over an aether table, refreshed
CREATE MATERIALIZED VIEW d_mv AS SELECT k, count(*) AS n FROM d_ctas GROUP BY k;
SELECT * FROM d_mv ORDER BY k;
DELETE FROM d_ctas WHERE k = 0;
REFRESH MATERIALIZED VIEW d_mv;
SELECT * FROM d_mv ORDER BY k;

-- VACUUM, VACUUM FULL, VACUUM ANALYZE after updates and deletes
CREATE TABLE d_vac (id int PRIMARY KEY, k int, v text);
CREATE INDEX d_vac_k ON d_vac (k);
INSERT INTO d_vac SELECT g, g % 10, repeat('v', 100) FROM generate_series(1, 5000) g;
UPDATE d_vac SET v = 'updated' WHERE id % 3 = 0;
UPDATE d_vac SET k = k + 100 WHERE id % 5 = 0;
DELETE FROM d_vac WHERE id % 4 = 0;
VACUUM d_vac;
SELECT count(*), sum(id), sum(k), count(*) FILTER (WHERE v = 'updated') FROM d_vac;
VACUUM ANALYZE d_vac;
VACUUM (FREEZE) d_vac;
SELECT count(*), sum(id), sum(k) FROM d_vac;
VACUUM FULL d_vac;
SELECT count(*), sum(id), sum(k), count(*) FILTER (WHERE v = 'updated') FROM d_vac;
SELECT a.amname = current_setting('default_table_access_method') AS uses_am
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'd_vac';
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM d_vac WHERE k = 103;
SELECT id, k, v FROM d_vac WHERE k = 103 ORDER BY id LIMIT 5;
SELECT id, k FROM d_vac WHERE id BETWEEN 10 AND 20 ORDER BY id;
RESET enable_seqscan;
RESET enable_bitmapscan;
-- the primary key still rejects duplicates after VACUUM FULL
INSERT INTO d_vac VALUES (1, 1, 'dup');
SELECT count(*) FROM d_vac;
-- VACUUM FULL of a table with a dropped column and large values
ALTER TABLE d_vac ADD COLUMN big text;
UPDATE d_vac SET big = repeat('B', 20000) WHERE id % 97 = 1;
ALTER TABLE d_vac DROP COLUMN v;
VACUUM FULL d_vac;
SELECT count(*), count(big), sum(length(big)) FROM d_vac;
INSERT INTO d_vac VALUES (100000, 5, 'x');
SELECT * FROM d_vac WHERE id = 100000;

-- CLUSTER on an index; the data and indexes are intact afterwards
CREATE TABLE d_clu (id int PRIMARY KEY, k int, v text);
CREATE INDEX d_clu_k ON d_clu (k);
INSERT INTO d_clu SELECT g, (g * 7919) % 1000, 'v' || g FROM generate_series(1, 3000) g;
DELETE FROM d_clu WHERE id % 10 = 0;
CLUSTER d_clu USING d_clu_k;
SELECT indexrelid::regclass, indisclustered FROM pg_index
 WHERE indrelid = 'd_clu'::regclass ORDER BY indexrelid::regclass::text;
SELECT count(*), sum(id), sum(k) FROM d_clu;
SELECT * FROM d_clu WHERE k < 3 ORDER BY k, id;
CLUSTER d_clu;	-- uses the remembered index
SELECT count(*), sum(id), sum(k) FROM d_clu;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT * FROM d_clu WHERE id = 1234;
SELECT * FROM d_clu WHERE k = 999 ORDER BY id;
RESET enable_seqscan;
RESET enable_bitmapscan;
UPDATE d_clu SET v = 'after cluster' WHERE id = 1;
INSERT INTO d_clu VALUES (5000, 5, 'new');
SELECT * FROM d_clu WHERE id IN (1, 5000) ORDER BY id;

-- ANALYZE, then queries; statistics exist for every column
CREATE TABLE d_an (id int PRIMARY KEY, grp int, flag bool, note text);
INSERT INTO d_an SELECT g, g % 10, g % 3 = 0, CASE WHEN g % 4 = 0 THEN NULL ELSE 'n' END
  FROM generate_series(1, 1000) g;
ANALYZE d_an;
SELECT attname, null_frac, n_distinct FROM pg_stats
 WHERE tablename = 'd_an' ORDER BY attname;
SELECT most_common_vals FROM pg_stats WHERE tablename = 'd_an' AND attname = 'flag';
SELECT reltuples > 0 AS has_tuples FROM pg_class WHERE relname = 'd_an';
SELECT grp, count(*), count(note) FROM d_an GROUP BY grp ORDER BY grp;
SELECT count(*) FROM d_an a JOIN d_an b ON a.id = b.id + 1 WHERE a.flag;
ANALYZE d_an (grp);
ANALYZE;	-- the whole database

-- CREATE INDEX CONCURRENTLY after concurrent-style changes, then use it
CREATE TABLE d_cic (id int PRIMARY KEY, k int, v text);
INSERT INTO d_cic SELECT g, g % 100, 'v' || g FROM generate_series(1, 5000) g;
UPDATE d_cic SET k = -1 WHERE id % 50 = 0;
DELETE FROM d_cic WHERE id % 7 = 0;
CREATE INDEX CONCURRENTLY d_cic_k ON d_cic (k);
CREATE UNIQUE INDEX CONCURRENTLY d_cic_v ON d_cic (v);
SELECT indexrelid::regclass, indisvalid, indisready FROM pg_index
 WHERE indrelid = 'd_cic'::regclass ORDER BY indexrelid::regclass::text;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM d_cic WHERE k = -1;
SELECT count(*), sum(id) FROM d_cic WHERE k = -1;
SELECT * FROM d_cic WHERE v = 'v4999';
SELECT * FROM d_cic WHERE v = 'v4998';	-- 4998 = 7 * 714 was deleted
RESET enable_seqscan;
RESET enable_bitmapscan;
INSERT INTO d_cic VALUES (6000, 1, 'v1');	-- unique violation through the new index
DROP INDEX CONCURRENTLY d_cic_v;
INSERT INTO d_cic VALUES (6000, 1, 'v1');
SELECT count(*) FROM d_cic WHERE v = 'v1';

-- REINDEX: index, table, concurrently; results do not change
UPDATE d_cic SET k = k + 1000 WHERE id % 3 = 0;
REINDEX INDEX d_cic_k;
REINDEX TABLE d_cic;
REINDEX TABLE CONCURRENTLY d_cic;
REINDEX INDEX CONCURRENTLY d_cic_pkey;
SELECT indexrelid::regclass, indisvalid FROM pg_index
 WHERE indrelid = 'd_cic'::regclass ORDER BY indexrelid::regclass::text;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*), sum(id) FROM d_cic WHERE k >= 1000;
SELECT * FROM d_cic WHERE id = 3;
SELECT * FROM d_cic WHERE k = 1003 ORDER BY id LIMIT 3;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*), sum(id), sum(k) FROM d_cic;

-- DROP TABLE inside a rolled-back transaction: the table and its data stay
CREATE TABLE d_drop (id int PRIMARY KEY, v text);
INSERT INTO d_drop SELECT g, 'keep' || g FROM generate_series(1, 100) g;
BEGIN;
DROP TABLE d_drop;
SELECT count(*) FROM pg_class WHERE relname = 'd_drop';
ROLLBACK;
SELECT count(*), min(v), max(v) FROM d_drop;
SET enable_seqscan = off;
SELECT * FROM d_drop WHERE id = 50;
RESET enable_seqscan;
BEGIN;
SAVEPOINT s;
DROP TABLE d_drop;
ROLLBACK TO SAVEPOINT s;
INSERT INTO d_drop VALUES (101, 'after rollback to');
COMMIT;
SELECT count(*) FROM d_drop;
-- DROP then recreate with the same name in one transaction, rolled back
BEGIN;
DROP TABLE d_drop;
CREATE TABLE d_drop (other int);
INSERT INTO d_drop VALUES (1);
ROLLBACK;
SELECT count(*), max(id) FROM d_drop;
DROP TABLE d_drop;
SELECT count(*) FROM pg_class WHERE relname = 'd_drop';

-- partitioned tables with aether partitions: routing, moves between
-- partitions, partition-wise queries, attach/detach
CREATE TABLE d_part (id int, region text, amount int, PRIMARY KEY (region, id))
  PARTITION BY LIST (region);
CREATE TABLE d_part_eu PARTITION OF d_part FOR VALUES IN ('eu');
CREATE TABLE d_part_us PARTITION OF d_part FOR VALUES IN ('us') USING aether;
CREATE TABLE d_part_other PARTITION OF d_part DEFAULT;
SELECT c.relname, a.amname = current_setting('default_table_access_method') AS uses_am
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname LIKE 'd_part_%' AND c.relkind = 'r' ORDER BY c.relname;
INSERT INTO d_part SELECT g, (ARRAY['eu', 'us', 'asia'])[g % 3 + 1], g * 10
  FROM generate_series(1, 300) g;
SELECT tableoid::regclass, count(*), sum(amount) FROM d_part GROUP BY 1 ORDER BY 1;
-- UPDATE that moves rows between partitions
WITH m AS (
  UPDATE d_part SET region = 'us' WHERE region = 'eu' AND id <= 10
  RETURNING tableoid::regclass AS part, id, region
) SELECT * FROM m ORDER BY id;
SELECT tableoid::regclass, count(*), sum(amount) FROM d_part GROUP BY 1 ORDER BY 1;
SELECT tableoid::regclass, * FROM d_part WHERE id <= 12 ORDER BY id;
-- a move that conflicts with the primary key fails and changes nothing
INSERT INTO d_part VALUES (3, 'asia', 0);
UPDATE d_part SET region = 'asia' WHERE id = 3 AND region = 'us';
SELECT tableoid::regclass, * FROM d_part WHERE id IN (2, 3) ORDER BY id, region;
-- move rolled back
BEGIN;
UPDATE d_part SET region = 'eu' WHERE region = 'us';
SELECT tableoid::regclass, count(*) FROM d_part GROUP BY 1 ORDER BY 1;
ROLLBACK;
SELECT tableoid::regclass, count(*) FROM d_part GROUP BY 1 ORDER BY 1;
-- DELETE and partition pruning
DELETE FROM d_part WHERE region = 'asia' AND id > 250;
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM d_part WHERE region = 'us' AND id = 5;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT * FROM d_part WHERE region = 'us' AND id = 5;
SELECT region, count(*), sum(amount) FROM d_part GROUP BY region ORDER BY region;
-- detach, attach
ALTER TABLE d_part DETACH PARTITION d_part_other;
SELECT count(*) FROM d_part;
SELECT count(*) FROM d_part_other;
DELETE FROM d_part_other WHERE region <> 'asia';
CREATE TABLE d_part_asia (LIKE d_part INCLUDING ALL);
INSERT INTO d_part_asia SELECT * FROM d_part_other;
ALTER TABLE d_part ATTACH PARTITION d_part_asia FOR VALUES IN ('asia');
SELECT tableoid::regclass, count(*) FROM d_part GROUP BY 1 ORDER BY 1;
INSERT INTO d_part VALUES (1000, 'mars', 1);	-- no partition any more
-- range partitioning with a sub-partitioned partition
CREATE TABLE d_range (k int, v text) PARTITION BY RANGE (k);
CREATE TABLE d_range_1 PARTITION OF d_range FOR VALUES FROM (0) TO (100);
CREATE TABLE d_range_2 PARTITION OF d_range FOR VALUES FROM (100) TO (200)
  PARTITION BY HASH (k);
CREATE TABLE d_range_2a PARTITION OF d_range_2 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE d_range_2b PARTITION OF d_range_2 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO d_range SELECT g, 'v' || g FROM generate_series(0, 199) g;
SELECT count(*), sum(k) FROM d_range;
SELECT count(*) FROM d_range_2a;
SELECT count(*) FROM d_range_2b;
UPDATE d_range SET k = k + 100 WHERE k < 10;
SELECT count(*), sum(k) FROM d_range_1;
SELECT count(*), sum(k) FROM d_range_2;
SELECT * FROM d_range WHERE v IN ('v0', 'v9', 'v10') ORDER BY k;
TRUNCATE d_range_2;
SELECT count(*) FROM d_range;

-- inheritance
CREATE TABLE d_city (name text, population int);
CREATE TABLE d_capital (country text) INHERITS (d_city);
INSERT INTO d_city VALUES ('Lyon', 500), ('Porto', 230);
INSERT INTO d_capital VALUES ('Paris', 2100, 'FR'), ('Lisbon', 545, 'PT');
SELECT tableoid::regclass, * FROM d_city ORDER BY name;
SELECT * FROM ONLY d_city ORDER BY name;
SELECT * FROM d_capital ORDER BY name;
UPDATE d_city SET population = population + 1 WHERE population > 500;
SELECT tableoid::regclass, * FROM d_city ORDER BY name;
DELETE FROM d_city WHERE name = 'Lisbon';
SELECT tableoid::regclass, * FROM d_city ORDER BY name;
ALTER TABLE d_city ADD COLUMN mayor text DEFAULT 'unknown';
SELECT * FROM d_capital ORDER BY name;
UPDATE ONLY d_city SET mayor = 'M' WHERE name = 'Lyon';
SELECT tableoid::regclass, name, mayor FROM d_city ORDER BY name;
SELECT count(*) FROM d_city WHERE name LIKE 'P%';
