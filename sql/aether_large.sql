--
-- aether_large: values of 8 kB, 1 MB and 100 MB. Aether keeps them in its own
-- overflow pages: an aether table has no TOAST table. Expected output comes
-- from heap.
--
SET client_min_messages = warning;	-- no NOTICE when an earlier test created it
CREATE EXTENSION IF NOT EXISTS aether;
RESET client_min_messages;
SET default_table_access_method = aether;

CREATE TABLE lg (id int PRIMARY KEY, label text, payload text, bin bytea) USING aether;

-- a TOAST table exists only for the heap access method
SELECT (c.reltoastrelid <> 0) = (a.amhandler = 'heap_tableam_handler'::regproc)
       AS toast_table_only_for_heap_am
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname = 'lg';

-- incompressible-ish text: concatenated md5 hashes (32 hex characters each)
INSERT INTO lg (id, label, payload)
SELECT 1, '8 kB', string_agg(md5(g::text), '' ORDER BY g) FROM generate_series(1, 256) g;
INSERT INTO lg (id, label, payload)
SELECT 2, '1 MB', string_agg(md5(g::text), '' ORDER BY g) FROM generate_series(1, 32768) g;
INSERT INTO lg (id, label, payload)
SELECT 3, '100 MB', string_agg(md5(g::text), '' ORDER BY g) FROM generate_series(1, 3276800) g;
INSERT INTO lg (id, label, payload, bin)
SELECT 4, '1 MB bytea', NULL, decode(string_agg(md5(g::text), '' ORDER BY g), 'hex')
  FROM generate_series(1, 65536) g;
-- highly compressible values
INSERT INTO lg (id, label, payload) VALUES (5, 'repeat 1 MB', repeat('a', 1024 * 1024));
INSERT INTO lg (id, label, payload) VALUES (6, 'repeat 8 kB', repeat('ab', 4096));

SELECT id, label, length(payload), md5(payload), length(bin), md5(bin)
  FROM lg ORDER BY id;
SELECT id, substr(payload, 1, 40) AS head, right(payload, 8) AS tail,
       substr(payload, 500001, 16) AS middle
  FROM lg WHERE payload IS NOT NULL ORDER BY id;

-- values around the sizes where a value stops fitting in a page
CREATE TABLE lg_sizes (n int PRIMARY KEY, v text) USING aether;
INSERT INTO lg_sizes
SELECT n, substr(repeat(md5(n::text) || md5((n + 1)::text), n / 64 + 1), 1, n)
  FROM unnest(ARRAY[0, 1, 100, 1000, 1900, 2000, 2100, 2500, 4000, 6000, 8000,
                    8100, 8192, 8193, 16383, 16384, 16385, 65536, 100000]) n;
SELECT n, length(v), md5(v) FROM lg_sizes ORDER BY n;

-- UPDATE of a large value, and of another column of a row holding one
UPDATE lg SET payload = payload || 'tail' WHERE id = 2;
UPDATE lg SET label = '100 MB relabelled' WHERE id = 3;
UPDATE lg SET payload = upper(payload) WHERE id = 1;
UPDATE lg SET bin = bin || '\x00ff'::bytea WHERE id = 4;
SELECT id, label, length(payload), md5(payload), length(bin), md5(bin)
  FROM lg ORDER BY id;

-- a large value replaced by a small one and back
UPDATE lg SET payload = 'small now' WHERE id = 5;
SELECT id, payload FROM lg WHERE id = 5;
UPDATE lg SET payload = repeat('b', 2 * 1024 * 1024) WHERE id = 5;
SELECT id, length(payload), md5(payload) FROM lg WHERE id = 5;

-- large values in a rolled-back transaction
BEGIN;
INSERT INTO lg (id, label, payload) VALUES (7, 'rolled back', repeat(md5('x'), 100000));
UPDATE lg SET payload = 'gone' WHERE id = 2;
SELECT id, length(payload) FROM lg WHERE id IN (2, 7) ORDER BY id;
ROLLBACK;
SELECT id, length(payload), md5(payload) FROM lg WHERE id IN (2, 7) ORDER BY id;

-- large jsonb and arrays
CREATE TABLE lg_docs (id int, doc jsonb, arr int[]) USING aether;
INSERT INTO lg_docs
SELECT 1, jsonb_agg(jsonb_build_object('i', g, 'h', md5(g::text))), array_agg(g)
  FROM generate_series(1, 50000) g;
SELECT id, jsonb_array_length(doc), doc -> 49999 -> 'h' AS last_h,
       array_length(arr, 1), arr[12345], md5(doc::text)
  FROM lg_docs ORDER BY id;

-- DELETE of large values
DELETE FROM lg WHERE id = 3;
DELETE FROM lg WHERE id IN (2, 4);
SELECT id, label, length(payload) FROM lg ORDER BY id;
-- and the space can be reused by a new large value
INSERT INTO lg (id, label, payload)
SELECT 8, '50 MB', string_agg(md5(g::text), '' ORDER BY g) FROM generate_series(1, 1638400) g;
SELECT id, label, length(payload), md5(payload) FROM lg ORDER BY id;

-- a table built from large values with CREATE TABLE AS
CREATE TABLE lg_ctas AS SELECT id, payload FROM lg WHERE id IN (1, 8);
SELECT id, length(payload), md5(payload) FROM lg_ctas ORDER BY id;
SELECT (c.reltoastrelid <> 0) = (a.amhandler = 'heap_tableam_handler'::regproc)
       AS toast_table_only_for_heap_am
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname IN ('lg', 'lg_sizes', 'lg_docs', 'lg_ctas')
 ORDER BY c.relname;

DROP TABLE lg, lg_sizes, lg_docs, lg_ctas;
