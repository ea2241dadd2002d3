--
-- aether_copy: COPY FROM/TO in text, csv and binary formats, and COPY that
-- fails part way. Expected output comes from heap.
--
SET client_min_messages = warning;	-- no NOTICE when an earlier test created it
CREATE EXTENSION IF NOT EXISTS aether;
RESET client_min_messages;
SET default_table_access_method = aether;

\getenv abs_builddir PG_ABS_BUILDDIR
\set copyfile :abs_builddir '/results/aether_copy.data'
\set binfile :abs_builddir '/results/aether_copy.bin'

CREATE TABLE cp (id int PRIMARY KEY, name text, amount numeric(10, 2), day date,
                 tags text[], note text) USING aether;

COPY cp FROM STDIN;
1	alpha	1.50	2024-01-01	{a,b}	\N
2	beta	-2.25	2024-01-02	{}	tab\there
3	gamma	\N	\N	\N	back\\slash
4	delta	1000000.00	2024-12-31	{"x y",z}	newline\nin text
\.

COPY cp FROM STDIN (FORMAT csv, HEADER true);
id,name,amount,day,tags,note
5,epsilon,0.01,2023-06-15,"{q}","quoted, with comma"
6,zeta,,,,
7,"eta ""quoted""",7.77,2023-07-07,{},""
\.

COPY cp (id, name) FROM STDIN (DELIMITER '|');
8|theta
9|iota
\.

-- the table in scan order right after loading (insertion order on both AMs)
COPY cp TO STDOUT;
COPY cp TO STDOUT (FORMAT csv, HEADER true, FORCE_QUOTE (name));
COPY (SELECT id, name, amount FROM cp WHERE amount IS NOT NULL ORDER BY amount DESC) TO STDOUT;
COPY cp (name, id) TO STDOUT (DELIMITER '|');
SELECT * FROM cp ORDER BY id;

-- a bigger load through a file: COPY buffers rows and inserts them in batches
COPY (SELECT g, 'name ' || g, (g % 1000) / 10.0, date '2020-01-01' + g % 1000,
             ARRAY['t' || g % 7], CASE WHEN g % 10 = 0 THEN NULL ELSE md5(g::text) END
        FROM generate_series(100, 20099) g) TO :'copyfile';
COPY cp FROM :'copyfile';
SELECT count(*), sum(id), sum(amount), count(note), min(day), max(day) FROM cp;
SELECT * FROM cp WHERE id IN (100, 5000, 20099) ORDER BY id;

-- binary round trip into a second table
COPY cp TO :'binfile' (FORMAT binary);
CREATE TABLE cp2 (LIKE cp INCLUDING ALL) USING aether;
COPY cp2 FROM :'binfile' (FORMAT binary);
SELECT count(*) FROM cp2;
SELECT count(*) AS only_in_cp FROM (SELECT * FROM cp EXCEPT ALL SELECT * FROM cp2) s;
SELECT count(*) AS only_in_cp2 FROM (SELECT * FROM cp2 EXCEPT ALL SELECT * FROM cp) s;

-- COPY that fails part way leaves the table unchanged
COPY cp FROM STDIN;
30000	ok	1	2024-01-01	{}	\N
30001	ok	2	2024-01-01	{}	\N
not-a-number	bad	3	2024-01-01	{}	\N
\.
COPY cp (id, name) FROM STDIN;
30002	fine
1	duplicate of an existing key
\.
CREATE TABLE cp_nn (id int, v text NOT NULL) USING aether;
COPY (SELECT g, CASE WHEN g = 1500 THEN NULL ELSE 'v' END FROM generate_series(1, 2000) g)
  TO :'copyfile';
COPY cp_nn FROM :'copyfile';
SELECT count(*) FROM cp_nn;
SELECT count(*) FROM cp WHERE id >= 30000;

-- COPY inside a transaction, then rolled back
BEGIN;
COPY cp_nn FROM STDIN;
1	one
2	two
\.
SELECT * FROM cp_nn ORDER BY id;
ROLLBACK;
SELECT count(*) FROM cp_nn;

-- COPY into a table that was created in the same transaction
BEGIN;
CREATE TABLE cp_new (a int, b text);
COPY cp_new FROM STDIN;
1	x
2	y
\.
COMMIT;
SELECT * FROM cp_new ORDER BY a;

DROP TABLE cp, cp2, cp_nn, cp_new;
