--
-- aether_txn: transactions, savepoints, errors, cursors, visibility of a
-- transaction's own changes. Expected output comes from heap.
--
SET client_min_messages = warning;	-- no NOTICE when an earlier test created it
CREATE EXTENSION IF NOT EXISTS aether;
RESET client_min_messages;
SET default_table_access_method = aether;

CREATE TABLE x_acct (id int PRIMARY KEY, balance int NOT NULL, note text);
INSERT INTO x_acct SELECT g, 100, NULL FROM generate_series(1, 10) g;

-- ROLLBACK undoes inserts, updates and deletes; own changes are visible
BEGIN;
UPDATE x_acct SET balance = balance - 50 WHERE id = 1;
INSERT INTO x_acct VALUES (11, 0, 'new');
DELETE FROM x_acct WHERE id = 2;
SELECT * FROM x_acct ORDER BY id;
ROLLBACK;
SELECT * FROM x_acct ORDER BY id;

-- COMMIT keeps them
BEGIN;
UPDATE x_acct SET balance = balance - 50 WHERE id = 1;
UPDATE x_acct SET balance = balance + 50 WHERE id = 2;
INSERT INTO x_acct VALUES (11, 0, 'new');
COMMIT;
SELECT * FROM x_acct ORDER BY id;
SELECT sum(balance) FROM x_acct;

-- savepoints: ROLLBACK TO, RELEASE, nesting
BEGIN;
UPDATE x_acct SET balance = balance + 1 WHERE id = 3;
SAVEPOINT a;
UPDATE x_acct SET balance = balance + 10 WHERE id = 3;
INSERT INTO x_acct VALUES (12, 12, 'in a');
SAVEPOINT b;
DELETE FROM x_acct WHERE id = 4;
UPDATE x_acct SET balance = balance + 100 WHERE id = 3;
INSERT INTO x_acct VALUES (13, 13, 'in b');
SELECT * FROM x_acct WHERE id IN (3, 4, 12, 13) ORDER BY id;
ROLLBACK TO SAVEPOINT b;
SELECT * FROM x_acct WHERE id IN (3, 4, 12, 13) ORDER BY id;
SAVEPOINT c;
UPDATE x_acct SET note = 'in c' WHERE id = 4;
RELEASE SAVEPOINT c;
ROLLBACK TO SAVEPOINT a;
SELECT * FROM x_acct WHERE id IN (3, 4, 12, 13) ORDER BY id;
UPDATE x_acct SET note = 'after a' WHERE id = 3;
COMMIT;
SELECT * FROM x_acct WHERE id IN (3, 4, 12, 13) ORDER BY id;

-- a row deleted in a subtransaction that is rolled back comes back,
-- a row inserted in a released one stays
BEGIN;
SAVEPOINT s1;
DELETE FROM x_acct WHERE id = 5;
SAVEPOINT s2;
INSERT INTO x_acct VALUES (14, 14, 'released');
RELEASE SAVEPOINT s2;
ROLLBACK TO SAVEPOINT s1;
INSERT INTO x_acct VALUES (15, 15, 'top level');
SAVEPOINT s3;
INSERT INTO x_acct VALUES (16, 16, 's3');
RELEASE SAVEPOINT s3;
COMMIT;
SELECT * FROM x_acct WHERE id >= 5 ORDER BY id;

-- an error aborts the transaction; nothing of it remains
BEGIN;
INSERT INTO x_acct VALUES (20, 20, 'doomed');
INSERT INTO x_acct VALUES (1, 0, 'duplicate');
SELECT 1;
COMMIT;
SELECT count(*) FROM x_acct WHERE id = 20;

-- an error inside a savepoint is recoverable
BEGIN;
INSERT INTO x_acct VALUES (20, 20, 'kept');
SAVEPOINT s;
UPDATE x_acct SET balance = balance + 1000 WHERE id = 6;
INSERT INTO x_acct VALUES (1, 0, 'duplicate');
ROLLBACK TO SAVEPOINT s;
SAVEPOINT s;
UPDATE x_acct SET balance = balance / 0 WHERE id = 7;
ROLLBACK TO SAVEPOINT s;
INSERT INTO x_acct VALUES (21, 21, 'also kept');
COMMIT;
SELECT * FROM x_acct WHERE id IN (6, 7, 20, 21) ORDER BY id;

-- the same row changed many times in one transaction, with savepoints
BEGIN;
UPDATE x_acct SET balance = balance + 1 WHERE id = 8;
UPDATE x_acct SET balance = balance + 1 WHERE id = 8;
SAVEPOINT p;
UPDATE x_acct SET balance = balance + 1 WHERE id = 8;
DELETE FROM x_acct WHERE id = 8;
SELECT * FROM x_acct WHERE id = 8;
ROLLBACK TO SAVEPOINT p;
SELECT * FROM x_acct WHERE id = 8;
UPDATE x_acct SET balance = balance + 1 WHERE id = 8;
COMMIT;
SELECT * FROM x_acct WHERE id = 8;

-- a cursor sees the data as of its opening (command ids)
BEGIN;
DECLARE c CURSOR FOR SELECT id, balance FROM x_acct WHERE id BETWEEN 8 AND 10 ORDER BY id;
UPDATE x_acct SET balance = 0 WHERE id BETWEEN 8 AND 10;
INSERT INTO x_acct VALUES (9999, 0, 'not seen by c');
FETCH ALL FROM c;
CLOSE c;
SELECT id, balance FROM x_acct WHERE id BETWEEN 8 AND 10 ORDER BY id;
ROLLBACK;

-- a statement does not see its own changes (Halloween problem)
UPDATE x_acct SET balance = balance + 1;
INSERT INTO x_acct SELECT id + 100, balance, 'copy' FROM x_acct;
SELECT count(*), sum(balance) FROM x_acct;
DELETE FROM x_acct WHERE id > 100;

-- a cursor WITH HOLD survives its transaction
BEGIN;
DECLARE h CURSOR WITH HOLD FOR SELECT id, balance FROM x_acct ORDER BY id;
FETCH 2 FROM h;
COMMIT;
UPDATE x_acct SET balance = -1;
FETCH 3 FROM h;
CLOSE h;
SELECT count(*) FROM x_acct WHERE balance = -1;

-- a scrollable cursor
BEGIN;
DECLARE sc SCROLL CURSOR FOR SELECT id FROM x_acct ORDER BY id;
FETCH LAST FROM sc;
FETCH BACKWARD 2 FROM sc;
FETCH ABSOLUTE 1 FROM sc;
COMMIT;

-- subtransactions in PL/pgSQL exception blocks
DO $$
BEGIN
	FOR i IN 1..50 LOOP
		BEGIN
			INSERT INTO x_acct VALUES (1000 + i, i, 'plpgsql');
			IF i % 3 = 0 THEN
				RAISE EXCEPTION 'undo %', i;
			END IF;
		EXCEPTION WHEN raise_exception THEN
			NULL;
		END;
	END LOOP;
END
$$;
SELECT count(*), sum(balance) FROM x_acct WHERE note = 'plpgsql';

-- SELECT FOR UPDATE / FOR SHARE on own rows
BEGIN;
SELECT id, balance FROM x_acct WHERE id = 1 FOR UPDATE;
UPDATE x_acct SET balance = 1 WHERE id = 1;
SELECT id, balance FROM x_acct WHERE id IN (1, 2) ORDER BY id FOR SHARE;
SELECT id, balance FROM x_acct WHERE id = 3 FOR NO KEY UPDATE;
SELECT id, balance FROM x_acct WHERE id = 3 FOR KEY SHARE;
COMMIT;
SELECT id, balance FROM x_acct WHERE id IN (1, 2, 3) ORDER BY id;

-- transactional DDL: TRUNCATE, CREATE and DROP rolled back
BEGIN;
TRUNCATE x_acct;
SELECT count(*) FROM x_acct;
ROLLBACK;
SELECT count(*) FROM x_acct;
BEGIN;
CREATE TABLE x_gone (a int);
INSERT INTO x_gone VALUES (1);
SELECT * FROM x_gone;
ROLLBACK;
SELECT to_regclass('x_gone') IS NULL AS gone;
BEGIN;
DROP TABLE x_acct;
ROLLBACK;
SELECT count(*) FROM x_acct;
BEGIN;
CREATE TABLE x_new (a int);
INSERT INTO x_new SELECT generate_series(1, 100);
TRUNCATE x_new;
INSERT INTO x_new VALUES (42);
COMMIT;
SELECT * FROM x_new;

-- isolation levels within one session
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM x_acct;
INSERT INTO x_acct VALUES (30, 30, 'rr');
SELECT count(*) FROM x_acct;
COMMIT;
BEGIN ISOLATION LEVEL SERIALIZABLE;
UPDATE x_acct SET note = 'serializable' WHERE id = 30;
SELECT * FROM x_acct WHERE id = 30;
COMMIT;
BEGIN READ ONLY;
SELECT count(*) FROM x_acct;
INSERT INTO x_acct VALUES (31, 31, 'read only');
ROLLBACK;

DROP TABLE x_acct, x_new;

-- An in-place UPDATE logs, for crash undo, the lowest row id its transaction
-- changed in the table, rounded down to 64K row ids: updating 20000 rows from
-- the last to the first logs about as many records as from the first to the
-- last, not one more per row.
CREATE TABLE x_down (id int PRIMARY KEY, v int) USING aether;
INSERT INTO x_down SELECT g, 0 FROM generate_series(1, 20000) g;
CREATE TABLE x_rec (up bigint, down bigint) USING heap;
INSERT INTO x_rec SELECT records, 0 FROM pg_stat_aether_wal;
DO $$ BEGIN FOR i IN 1..20000 LOOP UPDATE x_down SET v = v + 1 WHERE id = i; END LOOP; END $$;
UPDATE x_rec SET up = (SELECT records FROM pg_stat_aether_wal) - up,
  down = (SELECT records FROM pg_stat_aether_wal);
DO $$ BEGIN FOR i IN REVERSE 20000..1 LOOP UPDATE x_down SET v = v + 1 WHERE id = i; END LOOP; END $$;
UPDATE x_rec SET down = (SELECT records FROM pg_stat_aether_wal) - down;
SELECT up >= 20000 AS logged_each_update, down - up < 1000 AS no_record_per_row FROM x_rec;
SELECT count(*), sum(v) FROM x_down;
DROP TABLE x_down, x_rec;

-- A hot row under synchronous_commit = off: the versions its updates replace
-- may go only once each updater's commit record is durable. Pruning asks the
-- worker to flush PostgreSQL's WAL (counted in pg_wal_flushes_for_pruning)
-- instead of waiting for the WAL writer or flushing itself; a backend
-- flushes only when the row holds more than 32 versions.
CREATE TABLE x_hot (id int PRIMARY KEY, n int) USING aether;
INSERT INTO x_hot VALUES (1, 0);
CREATE TABLE x_flushes (before bigint, most_versions bigint) USING heap;
INSERT INTO x_flushes SELECT pg_wal_flushes_for_pruning, 0 FROM pg_stat_aether_wal;
SET synchronous_commit = off;
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    UPDATE x_hot SET n = n + 1;
    COMMIT;
    PERFORM pg_sleep(0.001);
    UPDATE x_flushes SET most_versions = greatest(most_versions, (SELECT versions FROM aether_versions('x_hot')));
    COMMIT;
  END LOOP;
END $$;
RESET synchronous_commit;
SELECT f.pg_wal_flushes_for_pruning > x.before AS worker_flushed,
       x.most_versions BETWEEN 2 AND 34 AS row_stayed_short
  FROM pg_stat_aether_wal f, x_flushes x;
SELECT n FROM x_hot;
DROP TABLE x_hot, x_flushes;

-- Full-page images (the first change of a page after a checkpoint) are
-- compressed with zstd (aether.wal_compression, on by default): far less
-- than a page each; with the setting off, a whole page each.
CREATE TABLE x_img (id int PRIMARY KEY, pad text) USING aether;
INSERT INTO x_img SELECT g, repeat('p', 200) FROM generate_series(1, 5000) g;
CREATE TABLE x_imgs (fpi bigint, bytes bigint, fpi_off bigint, bytes_off bigint) USING heap;
SELECT aether_checkpoint() > 0 AS checkpointed;
INSERT INTO x_imgs SELECT full_page_images, bytes, 0, 0 FROM pg_stat_aether_wal;
UPDATE x_img SET pad = pad || 'q' WHERE id % 40 = 0;
UPDATE x_imgs SET fpi = (SELECT full_page_images FROM pg_stat_aether_wal) - fpi,
  bytes = (SELECT bytes FROM pg_stat_aether_wal) - bytes;
SET aether.wal_compression = off;
SELECT aether_checkpoint() > 0 AS checkpointed;
UPDATE x_imgs SET fpi_off = (SELECT full_page_images FROM pg_stat_aether_wal),
  bytes_off = (SELECT bytes FROM pg_stat_aether_wal);
UPDATE x_img SET pad = pad || 'r' WHERE id % 40 = 0;
UPDATE x_imgs SET fpi_off = (SELECT full_page_images FROM pg_stat_aether_wal) - fpi_off,
  bytes_off = (SELECT bytes FROM pg_stat_aether_wal) - bytes_off;
RESET aether.wal_compression;
SELECT fpi >= 50 AS images_logged, bytes / fpi < 2000 AS compressed,
       fpi_off >= 50 AS images_logged_off, bytes_off / fpi_off > 7000 AS plain_when_off
  FROM x_imgs;
SELECT count(*), sum(length(pad)) FROM x_img;
DROP TABLE x_img, x_imgs;

-- A row rewritten anyway (a change, its pruning, VACUUM) marks its versions
-- whose inserter committed durably as committed, as heap's hint bits do, so
-- that readers of rows last changed long ago need not look them up in
-- pg_xact. Reading alone marks nothing; a version of a transaction still
-- running (here, our own) stays unmarked. clog keeps one commit LSN per 32
-- transactions, so a neighbour's asynchronous commit (Aether's own commits
-- leave PostgreSQL's record to the WAL writer) can defer a mark; a commit
-- of a heap table's row flushes PostgreSQL's WAL first (x_mark_flush).
CREATE TABLE x_mark (id int PRIMARY KEY, v int) USING aether;
CREATE TABLE x_mark_flush (n int) USING heap;
INSERT INTO x_mark SELECT g, 0 FROM generate_series(1, 100) g;
INSERT INTO x_mark_flush VALUES (1);
SELECT count(*) FROM x_mark;
SELECT rows, versions, unmarked FROM aether_versions('x_mark');
BEGIN;
UPDATE x_mark SET v = 1 WHERE id <= 10;
-- the 10 replaced versions are marked; the 10 new ones are ours
SELECT rows, versions, unmarked FROM aether_versions('x_mark');
COMMIT;
INSERT INTO x_mark_flush VALUES (2);
-- this backend's next writes prune the 10 rows it changed: the replaced
-- versions go and the new ones are marked; this update's 10 are not yet
UPDATE x_mark SET v = v WHERE id > 90;
SELECT rows, versions, unmarked FROM aether_versions('x_mark');
INSERT INTO x_mark_flush VALUES (3);
VACUUM x_mark;
SELECT rows, versions, unmarked FROM aether_versions('x_mark');
SELECT count(*), sum(v) FROM x_mark;
-- an aborted update's version is dropped, never marked
BEGIN;
UPDATE x_mark SET v = 2 WHERE id = 1;
ROLLBACK;
VACUUM x_mark;
SELECT rows, versions, unmarked FROM aether_versions('x_mark');
SELECT count(*), sum(v) FROM x_mark;
DROP TABLE x_mark, x_mark_flush;
