--
-- aether_serializable: SERIALIZABLE transactions in one session read and
-- write aether tables as any other transaction would (the concurrent cases
-- are in test/isolation). Expected output comes from heap.
--
SET client_min_messages = warning;	-- no NOTICE when an earlier test created it
CREATE EXTENSION IF NOT EXISTS aether;
RESET client_min_messages;
SET default_table_access_method = aether;

CREATE TABLE z_acct (id int PRIMARY KEY, owner text NOT NULL, balance int NOT NULL);
CREATE INDEX z_acct_owner ON z_acct (owner);
INSERT INTO z_acct SELECT g, 'owner' || (g % 10), 100 FROM generate_series(1, 1000) g;

BEGIN ISOLATION LEVEL SERIALIZABLE;
SHOW transaction_isolation;
SELECT count(*), sum(balance) FROM z_acct;
SELECT * FROM z_acct WHERE id = 5;
UPDATE z_acct SET balance = balance - 30 WHERE id = 5;
UPDATE z_acct SET balance = balance + 30 WHERE id = 6;
INSERT INTO z_acct VALUES (1001, 'new', 0);
DELETE FROM z_acct WHERE id = 7;
SELECT * FROM z_acct WHERE id BETWEEN 4 AND 8 OR id = 1001 ORDER BY id;
SELECT count(*), sum(balance) FROM z_acct;
COMMIT;
SELECT * FROM z_acct WHERE id BETWEEN 4 AND 8 OR id = 1001 ORDER BY id;

-- index scans (predicate locks on index pages), a rollback
SET enable_seqscan = off;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT count(*), sum(balance) FROM z_acct WHERE owner = 'owner3';
UPDATE z_acct SET balance = 0 WHERE owner = 'owner3';
SELECT count(*), sum(balance) FROM z_acct WHERE owner = 'owner3';
ROLLBACK;
SELECT count(*), sum(balance) FROM z_acct WHERE owner = 'owner3';
RESET enable_seqscan;

-- savepoints, errors and row locks inside a serializable transaction
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT * FROM z_acct WHERE id = 10 FOR UPDATE;
UPDATE z_acct SET balance = 1 WHERE id = 10;
SAVEPOINT a;
UPDATE z_acct SET balance = 2 WHERE id = 10;
INSERT INTO z_acct VALUES (10, 'dup', 0);
ROLLBACK TO SAVEPOINT a;
SELECT * FROM z_acct WHERE id = 10 FOR SHARE;
SAVEPOINT b;
DELETE FROM z_acct WHERE id = 11;
RELEASE SAVEPOINT b;
COMMIT;
SELECT * FROM z_acct WHERE id IN (10, 11) ORDER BY id;

-- many statements, one row changed many times, a new table
BEGIN ISOLATION LEVEL SERIALIZABLE;
UPDATE z_acct SET balance = balance + 1 WHERE id = 20;
UPDATE z_acct SET balance = balance + 1 WHERE id = 20;
UPDATE z_acct SET balance = balance + 1 WHERE id = 20;
CREATE TABLE z_log AS SELECT id, balance FROM z_acct WHERE id = 20;
INSERT INTO z_log SELECT id, balance FROM z_acct WHERE id BETWEEN 21 AND 23;
UPDATE z_acct a SET balance = a.balance + l.balance FROM z_log l WHERE l.id = a.id;
SELECT * FROM z_log ORDER BY id;
COMMIT;
SELECT * FROM z_acct WHERE id BETWEEN 20 AND 23 ORDER BY id;

-- READ ONLY and READ ONLY DEFERRABLE
BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY;
SELECT count(*), sum(balance) FROM z_acct;
UPDATE z_acct SET balance = 0 WHERE id = 1;
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY DEFERRABLE;
SELECT count(*), sum(balance) FROM z_acct;
COMMIT;

-- the default isolation level set to serializable; autocommit statements
SET default_transaction_isolation = serializable;
SHOW transaction_isolation;
INSERT INTO z_acct SELECT g, 'bulk', 5 FROM generate_series(2000, 2999) g;
UPDATE z_acct SET balance = balance * 2 WHERE owner = 'bulk';
DELETE FROM z_acct WHERE owner = 'bulk' AND id % 2 = 0;
SELECT count(*), sum(balance) FROM z_acct WHERE owner = 'bulk';
INSERT INTO z_acct VALUES (2001, 'again', 0) ON CONFLICT (id) DO UPDATE SET owner = 'upserted';
INSERT INTO z_acct VALUES (2002, 'again', 0) ON CONFLICT (id) DO UPDATE SET owner = 'upserted';
SELECT * FROM z_acct WHERE id IN (2001, 2002) ORDER BY id;
BEGIN;
SELECT count(*) FROM z_acct;
TRUNCATE z_log;
INSERT INTO z_log VALUES (1, 1);
COMMIT;
SELECT * FROM z_log ORDER BY id;
RESET default_transaction_isolation;

-- a serializable transaction that only reads, then one that writes after
-- another session-level transaction committed: both commit
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT sum(balance) FROM z_acct WHERE id < 100;
COMMIT;
BEGIN ISOLATION LEVEL SERIALIZABLE;
UPDATE z_acct SET balance = balance + 1 WHERE id < 100;
SELECT sum(balance) FROM z_acct WHERE id < 100;
COMMIT;
SELECT count(*), sum(balance) FROM z_acct;
