--
-- aether_basic: the access method, DML, RETURNING, NULLs and common types.
-- The expected output is produced by running this file on heap
-- (scripts/regen-expected-from-heap.sh); it must never differ on aether.
--
SET client_min_messages = warning;	-- no NOTICE when an earlier test created it
CREATE EXTENSION IF NOT EXISTS aether;
RESET client_min_messages;
SET default_table_access_method = aether;

-- the access method exists and new tables use it. Queries name it only
-- through default_table_access_method, so the heap run prints the same.
SELECT amtype FROM pg_am WHERE amname = current_setting('default_table_access_method');
CREATE TABLE b_default (id int, v text);
CREATE TABLE b_explicit (id int, v text) USING aether;
SELECT c.relname, a.amname = current_setting('default_table_access_method') AS uses_am
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname IN ('b_default', 'b_explicit')
 ORDER BY c.relname;

-- single-row, multi-row and INSERT ... SELECT
INSERT INTO b_explicit VALUES (1, 'one');
INSERT INTO b_explicit VALUES (2, 'two'), (3, 'three'), (4, NULL), (NULL, 'no id');
INSERT INTO b_explicit SELECT g, 'row ' || g FROM generate_series(5, 2000) g;
SELECT count(*), count(id), count(v), sum(id), min(v), max(v) FROM b_explicit;
SELECT * FROM b_explicit WHERE id <= 5 OR id IS NULL ORDER BY id NULLS FIRST;
SELECT * FROM b_explicit WHERE v IS NULL ORDER BY id;
SELECT * FROM b_explicit WHERE id BETWEEN 1000 AND 1003 ORDER BY id;

-- RETURNING
INSERT INTO b_explicit VALUES (2001, 'returned') RETURNING *;
INSERT INTO b_explicit VALUES (2002, NULL), (2003, 'x') RETURNING id, v IS NULL AS v_is_null;
UPDATE b_explicit SET v = 'updated one' WHERE id = 1 RETURNING id, v;
DELETE FROM b_explicit WHERE id = 2 RETURNING *;
WITH u AS (UPDATE b_explicit SET v = v || '!' WHERE id % 250 = 0 RETURNING id, v)
SELECT * FROM u ORDER BY id;
WITH d AS (DELETE FROM b_explicit WHERE id > 1990 RETURNING id)
SELECT count(*), min(id), max(id) FROM d;

-- UPDATE and DELETE, then read back
UPDATE b_explicit SET v = upper(v) WHERE id BETWEEN 10 AND 14;
UPDATE b_explicit SET id = id + 10000 WHERE id BETWEEN 20 AND 22;
UPDATE b_explicit SET v = NULL WHERE id = 3;
UPDATE b_explicit SET v = 'no longer null' WHERE id = 4;
DELETE FROM b_explicit WHERE id % 3 = 0;
DELETE FROM b_explicit WHERE id IS NULL;
SELECT * FROM b_explicit WHERE id < 25 OR id > 10000 ORDER BY id;
SELECT count(*), count(id), count(v), sum(id) FROM b_explicit;
-- the same row updated many times
UPDATE b_explicit SET v = 'again' WHERE id = 1;
UPDATE b_explicit SET v = 'and again' WHERE id = 1;
UPDATE b_explicit SET v = v || ' and again' WHERE id = 1;
SELECT * FROM b_explicit WHERE id = 1;
-- a row that grows a lot and shrinks again
UPDATE b_explicit SET v = repeat('g', 3000) WHERE id = 5;
SELECT id, length(v) FROM b_explicit WHERE id = 5;
UPDATE b_explicit SET v = 'small' WHERE id = 5;
SELECT id, v FROM b_explicit WHERE id = 5;
-- whole-table update and delete
UPDATE b_explicit SET id = -id;
SELECT count(*), min(id), max(id) FROM b_explicit;
DELETE FROM b_explicit;
SELECT count(*) FROM b_explicit;
INSERT INTO b_explicit VALUES (1, 'after delete');
SELECT * FROM b_explicit ORDER BY id;

-- common types, with NULLs in every column
CREATE TYPE b_pair AS (a int, b text);
CREATE TABLE b_types (
	id		int PRIMARY KEY,
	i2		int2,
	i4		int4,
	i8		int8,
	num		numeric(20, 5),
	f4		float4,
	f8		float8,
	t		text,
	vc		varchar(20),
	ch		char(5),
	by		bytea,
	bo		bool,
	d		date,
	ts		timestamp,
	tstz	timestamptz,
	iv		interval,
	u		uuid,
	j		jsonb,
	js		json,
	ia		int[],
	ta		text[],
	pr		b_pair,
	ip		inet,
	r		int4range
) USING aether;
INSERT INTO b_types VALUES
	(1, 32767, 2147483647, 9223372036854775807, 123456789012345.12345,
	 1.5, 3.141592653589793, 'text', 'varchar', 'ch', '\xdeadbeef', true,
	 '2024-02-29', '2024-02-29 12:34:56.789', '2024-02-29 12:34:56.789+01',
	 '1 year 2 mons 3 days 04:05:06', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	 '{"a": 1, "b": [1, 2, {"c": null}]}', '{"x" : 1}', '{1,2,3}',
	 '{"a","b c",NULL}', ROW(7, 'seven'), '192.168.0.1/24', '[1,10)'),
	(2, -32768, -2147483648, -9223372036854775808, -0.00001,
	 '-Infinity', 'NaN', '', '', '', '\x', false,
	 '0001-01-01', '1999-12-31 23:59:59', '1970-01-01 00:00:00+00',
	 '-1 day', '00000000-0000-0000-0000-000000000000',
	 '[]', '[]', '{}', '{}', ROW(NULL, NULL), '::1', 'empty'),
	(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO b_types (id, t, j) VALUES (4, 'only some columns', '{"k": "v"}');
SELECT * FROM b_types ORDER BY id;
SELECT id, i2 + 1 AS i2p, i8 / 2 AS i8h, num * 2 AS num2, f8 * 2 AS f8x2,
       length(by) AS bylen, d + 1 AS dnext, iv * 2 AS iv2, j -> 'b' AS jb,
       ia[2] AS ia2, (pr).b AS prb, r @> 5 AS r5
  FROM b_types ORDER BY id;
UPDATE b_types SET i4 = 0, t = 'changed', j = j || '{"z": true}', ia = ia || 4,
       pr = ROW(8, 'eight'), tstz = tstz + interval '1 hour'
 WHERE id = 1;
UPDATE b_types SET i2 = 1, i4 = 1, i8 = 1, num = 1, t = 'was null' WHERE id = 3;
SELECT id, i2, i4, i8, num, t, j, ia, pr, tstz FROM b_types ORDER BY id;
SELECT count(*) FROM b_types WHERE u IS NULL;
DELETE FROM b_types WHERE id = 2;
SELECT id FROM b_types ORDER BY id;

-- many columns, sparse NULLs
CREATE TABLE b_wide AS
SELECT g AS id,
       CASE WHEN g % 2 = 0 THEN g END AS c1, CASE WHEN g % 3 = 0 THEN g::text END AS c2,
       CASE WHEN g % 5 = 0 THEN g * 1.5 END AS c3, g::text AS c4,
       CASE WHEN g % 7 = 0 THEN NULL ELSE md5(g::text) END AS c5,
       CASE WHEN g % 11 = 0 THEN now() IS NOT NULL END AS c6,
       g % 13 AS c7, NULL::int AS c8, repeat('w', g % 50) AS c9, g::bigint * 1000000007 AS c10
  FROM generate_series(1, 500) g;
SELECT c.relname, a.amname = current_setting('default_table_access_method') AS uses_am
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname = 'b_wide';
SELECT count(*), count(c1), count(c2), count(c3), count(c5), count(c6), count(c8),
       sum(c7), sum(length(c9)), sum(c10), md5(string_agg(c5, ',' ORDER BY id))
  FROM b_wide;
SELECT * FROM b_wide WHERE id IN (1, 30, 77, 330, 500) ORDER BY id;
SELECT id INTO b_selinto FROM b_wide WHERE id <= 3;
SELECT * FROM b_selinto ORDER BY id;

-- DDL on a populated table
ALTER TABLE b_wide ADD COLUMN c11 int;
ALTER TABLE b_wide ADD COLUMN c12 text DEFAULT 'dflt';
SELECT id, c11, c12 FROM b_wide WHERE id <= 3 ORDER BY id;
UPDATE b_wide SET c11 = id, c12 = NULL WHERE id = 2;
SELECT id, c11, c12 FROM b_wide WHERE id <= 3 ORDER BY id;
ALTER TABLE b_wide DROP COLUMN c2;
SELECT id, c1, c3, c4 FROM b_wide WHERE id <= 3 ORDER BY id;
ALTER TABLE b_wide ALTER COLUMN c7 TYPE bigint;
SELECT count(*), sum(c7), count(c11), count(c12) FROM b_wide;
SELECT c.relname, a.amname = current_setting('default_table_access_method') AS uses_am
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname = 'b_wide';
TRUNCATE b_wide;
SELECT count(*) FROM b_wide;
INSERT INTO b_wide (id, c4) VALUES (1, 'after truncate');
SELECT id, c4, c12 FROM b_wide ORDER BY id;
ANALYZE b_types;
SELECT relname, reltuples FROM pg_class WHERE relname = 'b_types';

DROP TABLE b_default, b_explicit, b_types, b_wide, b_selinto;
DROP TYPE b_pair;
