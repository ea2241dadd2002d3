--
-- aether_sql: SQL features on aether tables — ON CONFLICT, MERGE,
-- data-modifying CTEs, UPDATE FROM / DELETE USING, triggers (row and
-- statement with transition tables), constraints, generated and identity
-- columns, sequences, TID and TID range scans, scroll cursors, OFFSET/LIMIT,
-- window functions, json, arrays, domains, enums, composite types, 100
-- columns with NULLs, wide rows. Expected output comes from heap.
--
SET client_min_messages = warning;	-- no NOTICE when an earlier test created it
CREATE EXTENSION IF NOT EXISTS aether;
RESET client_min_messages;
SET default_table_access_method = aether;

-- INSERT ... ON CONFLICT
CREATE TABLE s_kv (k int PRIMARY KEY, v text NOT NULL, n int DEFAULT 0, u text UNIQUE);
INSERT INTO s_kv (k, v) SELECT g, 'v' || g FROM generate_series(1, 100) g;
INSERT INTO s_kv (k, v) VALUES (1, 'dup'), (101, 'new') ON CONFLICT DO NOTHING;
INSERT INTO s_kv (k, v) VALUES (2, 'dup') ON CONFLICT (k) DO NOTHING;
SELECT * FROM s_kv WHERE k IN (1, 2, 101) ORDER BY k;
WITH r AS (
  INSERT INTO s_kv (k, v) VALUES (3, 'three'), (102, 'one-oh-two'), (4, 'four')
  ON CONFLICT (k) DO UPDATE SET v = excluded.v || ' (was ' || s_kv.v || ')', n = s_kv.n + 1
  RETURNING k, v, n
) SELECT * FROM r ORDER BY k;
-- excluded.* as a whole row, and a WHERE on DO UPDATE
INSERT INTO s_kv VALUES (5, 'five', 50, 'u5')
  ON CONFLICT (k) DO UPDATE SET (k, v, n, u) = ROW(excluded.*);
INSERT INTO s_kv VALUES (5, 'five'), (6, 'six')
  ON CONFLICT (k) DO UPDATE SET n = s_kv.n + 100 WHERE s_kv.n > 10;
SELECT * FROM s_kv WHERE k IN (5, 6) ORDER BY k;
-- ON CONFLICT ON CONSTRAINT, and a second unique index
INSERT INTO s_kv VALUES (7, 'seven', 0, 'u5')
  ON CONFLICT ON CONSTRAINT s_kv_u_key DO UPDATE SET n = s_kv.n + 1;
SELECT * FROM s_kv WHERE u = 'u5' OR k = 7 ORDER BY k;
INSERT INTO s_kv VALUES (8, 'eight', 0, 'u5') ON CONFLICT (k) DO NOTHING;	-- error: u
INSERT INTO s_kv VALUES (200, 'x', 0, 'u5') ON CONFLICT DO NOTHING;	-- any conflict
SELECT count(*) FROM s_kv WHERE k = 200;
-- the same key twice in one command
INSERT INTO s_kv (k, v) VALUES (9, 'a'), (9, 'b') ON CONFLICT (k) DO UPDATE SET v = excluded.v;
INSERT INTO s_kv (k, v) VALUES (300, 'a'), (300, 'b') ON CONFLICT (k) DO NOTHING;
SELECT * FROM s_kv WHERE k IN (9, 300) ORDER BY k;
-- upsert many rows, half new, inside a rolled-back savepoint and then for real
BEGIN;
SAVEPOINT s;
INSERT INTO s_kv (k, v) SELECT g, 'bulk' FROM generate_series(50, 150) g
  ON CONFLICT (k) DO UPDATE SET n = s_kv.n + 1000;
SELECT count(*), sum(n) FROM s_kv;
ROLLBACK TO SAVEPOINT s;
INSERT INTO s_kv (k, v) SELECT g, 'bulk' FROM generate_series(50, 150) g
  ON CONFLICT (k) DO UPDATE SET n = s_kv.n + 1;
COMMIT;
SELECT count(*), sum(n), count(*) FILTER (WHERE v = 'bulk') FROM s_kv;
SET enable_seqscan = off;
SELECT * FROM s_kv WHERE k IN (49, 50, 150, 151) ORDER BY k;
RESET enable_seqscan;

-- MERGE
CREATE TABLE s_stock (item text PRIMARY KEY, qty int NOT NULL);
CREATE TABLE s_delta (item text, change int);
INSERT INTO s_stock VALUES ('apple', 10), ('pear', 5), ('plum', 1), ('fig', 3);
INSERT INTO s_delta VALUES ('apple', 5), ('pear', -5), ('kiwi', 7), ('plum', 2), ('lime', 0);
MERGE INTO s_stock s USING s_delta d ON s.item = d.item
  WHEN MATCHED AND s.qty + d.change <= 0 THEN DELETE
  WHEN MATCHED THEN UPDATE SET qty = s.qty + d.change
  WHEN NOT MATCHED AND d.change > 0 THEN INSERT VALUES (d.item, d.change)
  WHEN NOT MATCHED THEN DO NOTHING;
SELECT * FROM s_stock ORDER BY item;
BEGIN;
MERGE INTO s_stock s USING (SELECT 'fig' AS item) d ON s.item = d.item
  WHEN MATCHED THEN DELETE;
SELECT * FROM s_stock ORDER BY item;
ROLLBACK;
SELECT * FROM s_stock ORDER BY item;
-- MERGE with a source that matches a target row twice fails
INSERT INTO s_delta VALUES ('apple', 1);
MERGE INTO s_stock s USING s_delta d ON s.item = d.item
  WHEN MATCHED THEN UPDATE SET qty = s.qty + d.change;
SELECT * FROM s_stock ORDER BY item;

-- data-modifying CTEs
CREATE TABLE s_queue (id int PRIMARY KEY, payload text, done bool DEFAULT false);
CREATE TABLE s_archive (id int, payload text, archived_by text);
INSERT INTO s_queue SELECT g, 'job ' || g FROM generate_series(1, 20) g;
WITH moved AS (
  DELETE FROM s_queue WHERE id % 4 = 0 RETURNING id, payload
), ins AS (
  INSERT INTO s_archive SELECT id, payload, 'cte' FROM moved RETURNING id
) SELECT count(*), sum(id) FROM ins;
SELECT * FROM s_archive ORDER BY id;
WITH upd AS (
  UPDATE s_queue SET done = true WHERE id < 6 RETURNING *
) SELECT * FROM upd ORDER BY id;
-- the main statement does not see the CTE's changes (same snapshot)
WITH d AS (DELETE FROM s_queue WHERE done RETURNING id)
SELECT (SELECT count(*) FROM d) AS deleted, (SELECT count(*) FROM s_queue) AS still_seen;
SELECT count(*) FROM s_queue;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5),
  ins AS (INSERT INTO s_queue SELECT 100 + i, 'rec ' || i FROM n RETURNING id)
SELECT array_agg(id ORDER BY id) FROM ins;

-- UPDATE ... FROM, DELETE ... USING
CREATE TABLE s_price (item text PRIMARY KEY, price numeric);
INSERT INTO s_price VALUES ('apple', 1.5), ('kiwi', 0.8), ('plum', 2), ('fig', 3);
UPDATE s_stock s SET qty = s.qty * 10 FROM s_price p
 WHERE p.item = s.item AND p.price < 2;
SELECT * FROM s_stock ORDER BY item;
WITH r AS (
  UPDATE s_price p SET price = p.price + s.qty FROM s_stock s
   WHERE s.item = p.item RETURNING p.item, p.price, s.qty
) SELECT * FROM r ORDER BY item;
DELETE FROM s_price p USING s_stock s WHERE s.item = p.item AND s.qty > 50;
SELECT * FROM s_price ORDER BY item;
DELETE FROM s_queue q USING s_archive a WHERE a.id + 1 = q.id;
SELECT array_agg(id ORDER BY id) FROM s_queue;

-- row triggers: BEFORE changes NEW or skips, AFTER logs OLD/NEW
CREATE TABLE s_acct (id int PRIMARY KEY, owner text, balance int NOT NULL,
                     updated_count int DEFAULT 0);
CREATE TABLE s_log (seq serial, tg text, op text, old_row text, new_row text);
CREATE FUNCTION s_before() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.owner := upper(NEW.owner);
  ELSIF TG_OP = 'UPDATE' THEN
    NEW.updated_count := OLD.updated_count + 1;
  ELSIF TG_OP = 'DELETE' AND OLD.balance > 1000 THEN
    RETURN NULL;				-- rich accounts are never deleted
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE FUNCTION s_after() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO s_log (tg, op, old_row, new_row)
  VALUES (TG_NAME, TG_OP,
          CASE WHEN TG_OP <> 'INSERT' THEN OLD::text END,
          CASE WHEN TG_OP <> 'DELETE' THEN NEW::text END);
  RETURN NULL;
END $$;
CREATE TRIGGER s_acct_before BEFORE INSERT OR UPDATE OR DELETE ON s_acct
  FOR EACH ROW EXECUTE FUNCTION s_before();
CREATE TRIGGER s_acct_after AFTER INSERT OR UPDATE OR DELETE ON s_acct
  FOR EACH ROW EXECUTE FUNCTION s_after();
INSERT INTO s_acct VALUES (1, 'ann', 100), (2, 'bob', 2000), (3, 'cy', 50);
UPDATE s_acct SET balance = balance + 1 WHERE id IN (1, 3);
UPDATE s_acct SET balance = balance + 1 WHERE id = 1;
DELETE FROM s_acct WHERE id IN (2, 3);	-- 2 is skipped by the BEFORE trigger
SELECT * FROM s_acct ORDER BY id;
SELECT tg, op, old_row, new_row FROM s_log ORDER BY op, old_row NULLS FIRST, new_row;
-- a trigger's changes are rolled back with the statement that fired it
TRUNCATE s_log;
BEGIN;
UPDATE s_acct SET balance = -1 WHERE id = 1;
SELECT count(*) FROM s_log;
ROLLBACK;
SELECT count(*) FROM s_log;
SELECT * FROM s_acct ORDER BY id;
-- WHEN condition and a column-specific UPDATE trigger
CREATE TRIGGER s_acct_owner AFTER UPDATE OF owner ON s_acct
  FOR EACH ROW WHEN (OLD.owner IS DISTINCT FROM NEW.owner) EXECUTE FUNCTION s_after();
UPDATE s_acct SET owner = 'BOB' WHERE id = 2;	-- same value: only s_acct_after
UPDATE s_acct SET owner = 'Robert' WHERE id = 2;
SELECT tg, op, old_row, new_row FROM s_log ORDER BY tg, new_row;

-- statement triggers with transition tables
CREATE TABLE s_stmt_log (op text, rows_old bigint, rows_new bigint, sum_old bigint,
                         sum_new bigint, ids text);
CREATE FUNCTION s_stmt_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO s_stmt_log SELECT TG_OP, NULL, count(*), NULL, sum(balance),
         string_agg(id::text, ',' ORDER BY id) FROM n;
  RETURN NULL;
END $$;
CREATE FUNCTION s_stmt_upd() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO s_stmt_log SELECT TG_OP, (SELECT count(*) FROM o), (SELECT count(*) FROM n),
         (SELECT sum(balance) FROM o), (SELECT sum(balance) FROM n),
         (SELECT string_agg(o.id || ':' || o.balance || '->' || n.balance, ',' ORDER BY o.id)
            FROM o JOIN n ON o.id = n.id);
  RETURN NULL;
END $$;
CREATE FUNCTION s_stmt_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO s_stmt_log SELECT TG_OP, count(*), NULL, sum(balance), NULL,
         string_agg(id::text, ',' ORDER BY id) FROM o;
  RETURN NULL;
END $$;
CREATE TABLE s_tt (id int PRIMARY KEY, balance int);
CREATE TRIGGER s_tt_ins AFTER INSERT ON s_tt REFERENCING NEW TABLE AS n
  FOR EACH STATEMENT EXECUTE FUNCTION s_stmt_ins();
CREATE TRIGGER s_tt_upd AFTER UPDATE ON s_tt REFERENCING OLD TABLE AS o NEW TABLE AS n
  FOR EACH STATEMENT EXECUTE FUNCTION s_stmt_upd();
CREATE TRIGGER s_tt_del AFTER DELETE ON s_tt REFERENCING OLD TABLE AS o
  FOR EACH STATEMENT EXECUTE FUNCTION s_stmt_del();
INSERT INTO s_tt SELECT g, g * 10 FROM generate_series(1, 10) g;
UPDATE s_tt SET balance = balance + 1 WHERE id % 3 = 0;
UPDATE s_tt SET balance = balance WHERE false;	-- fires with empty tables
DELETE FROM s_tt WHERE id > 8;
INSERT INTO s_tt VALUES (3, 0) ON CONFLICT (id) DO UPDATE SET balance = excluded.balance;
SELECT * FROM s_stmt_log ORDER BY op, ids NULLS FIRST, rows_new;

-- foreign keys between aether tables
CREATE TABLE s_parent (id int PRIMARY KEY, name text UNIQUE);
CREATE TABLE s_child (id int PRIMARY KEY,
                      parent_id int NOT NULL REFERENCES s_parent ON DELETE CASCADE,
                      parent_name text REFERENCES s_parent (name) ON UPDATE CASCADE
                                                        ON DELETE SET NULL);
CREATE TABLE s_grandchild (id int PRIMARY KEY, child_id int REFERENCES s_child);
INSERT INTO s_parent VALUES (1, 'one'), (2, 'two'), (3, 'three');
INSERT INTO s_child VALUES (10, 1, 'one'), (11, 1, 'two'), (20, 2, 'two'), (30, 3, NULL);
INSERT INTO s_grandchild VALUES (100, 30);
INSERT INTO s_child VALUES (40, 4, NULL);	-- no parent 4
INSERT INTO s_child VALUES (41, 1, 'four');	-- no parent named four
UPDATE s_child SET parent_id = 9 WHERE id = 10;
DELETE FROM s_parent WHERE id = 3;	-- child 30 has a grandchild: NO ACTION fails
UPDATE s_parent SET name = 'TWO' WHERE id = 2;	-- ON UPDATE CASCADE
SELECT * FROM s_child ORDER BY id;
DELETE FROM s_parent WHERE id = 1;	-- cascades to 10 and 11
SELECT * FROM s_child ORDER BY id;
DELETE FROM s_grandchild;
DELETE FROM s_parent WHERE id = 3;
SELECT * FROM s_parent ORDER BY id;
SELECT * FROM s_child ORDER BY id;
UPDATE s_parent SET id = 5 WHERE id = 2;	-- referenced by parent_id: fails
-- deferred FK checked at commit
CREATE TABLE s_dchild (id int, pid int REFERENCES s_parent DEFERRABLE INITIALLY DEFERRED);
BEGIN;
INSERT INTO s_dchild VALUES (1, 7);
INSERT INTO s_parent VALUES (7, 'seven');
COMMIT;
BEGIN;
INSERT INTO s_dchild VALUES (2, 8);
COMMIT;
SELECT * FROM s_dchild ORDER BY id;
-- many cascaded deletes
INSERT INTO s_parent SELECT g, 'p' || g FROM generate_series(1000, 1099) g;
INSERT INTO s_child SELECT g, 1000 + g % 100, NULL FROM generate_series(1000, 2999) g;
DELETE FROM s_parent WHERE id BETWEEN 1000 AND 1049;
SELECT count(*), count(DISTINCT parent_id), min(parent_id) FROM s_child WHERE id >= 1000;

-- CHECK, NOT NULL, UNIQUE (incl. NULLS NOT DISTINCT), EXCLUDE on ranges
CREATE TABLE s_cons (id int PRIMARY KEY, qty int CHECK (qty >= 0),
                     code text NOT NULL, tag text,
                     CONSTRAINT s_cons_code UNIQUE (code),
                     CONSTRAINT s_cons_tag UNIQUE NULLS NOT DISTINCT (tag),
                     CHECK (qty < 1000 OR code LIKE 'big%'));
INSERT INTO s_cons VALUES (1, 5, 'a', NULL), (2, 0, 'b', 't');
INSERT INTO s_cons VALUES (3, -1, 'c', NULL);
INSERT INTO s_cons VALUES (3, 1, NULL, 'u');
INSERT INTO s_cons VALUES (3, 1, 'a', 'u');
INSERT INTO s_cons VALUES (3, 1, 'c', NULL);	-- second NULL tag
INSERT INTO s_cons VALUES (3, 5000, 'c', 'u');
INSERT INTO s_cons VALUES (3, 5000, 'big c', 'u');
UPDATE s_cons SET qty = qty - 1;	-- row 2 goes negative: all rolled back
SELECT * FROM s_cons ORDER BY id;
ALTER TABLE s_cons ADD CONSTRAINT s_cons_small CHECK (qty < 10);	-- row 3 fails it
ALTER TABLE s_cons ADD CONSTRAINT s_cons_small CHECK (qty < 10) NOT VALID;
ALTER TABLE s_cons VALIDATE CONSTRAINT s_cons_small;
DELETE FROM s_cons WHERE id = 3;
ALTER TABLE s_cons VALIDATE CONSTRAINT s_cons_small;
ALTER TABLE s_cons ALTER COLUMN tag SET NOT NULL;	-- row 1 has NULL
CREATE TABLE s_booking (id int PRIMARY KEY, during int4range,
                        EXCLUDE USING gist (during WITH &&));
INSERT INTO s_booking VALUES (1, '[1,5)'), (2, '[5,10)'), (3, '[20,30)');
INSERT INTO s_booking VALUES (4, '[9,12)');
INSERT INTO s_booking VALUES (4, '[10,12)');
UPDATE s_booking SET during = '[25,40)' WHERE id = 4;
BEGIN;
DELETE FROM s_booking WHERE id = 3;
INSERT INTO s_booking VALUES (5, '[25,26)');
ROLLBACK;
INSERT INTO s_booking VALUES (5, '[25,26)');
SELECT * FROM s_booking ORDER BY id;

-- generated columns, identity columns, sequences
CREATE TABLE s_gen (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    a int, b int,
                    total int GENERATED ALWAYS AS (a + b) STORED,
                    label text GENERATED ALWAYS AS ('#' || coalesce(a, -1)) STORED);
INSERT INTO s_gen (a, b) VALUES (1, 2), (10, 20), (NULL, 5);
INSERT INTO s_gen (id, a, b) VALUES (99, 1, 1);	-- cannot set an ALWAYS identity
INSERT INTO s_gen (id, a, b) OVERRIDING SYSTEM VALUE VALUES (99, 1, 1);
INSERT INTO s_gen (a, b, total) VALUES (1, 1, 5);	-- cannot set a generated column
UPDATE s_gen SET a = a * 100 WHERE id = 2;
UPDATE s_gen SET b = NULL WHERE id = 1;
INSERT INTO s_gen (a, b) VALUES (7, 7);
SELECT * FROM s_gen ORDER BY id;
ALTER TABLE s_gen ALTER COLUMN id RESTART WITH 1000;
INSERT INTO s_gen (a, b) VALUES (0, 0);
SELECT id, total FROM s_gen WHERE id >= 99 ORDER BY id;
CREATE TABLE s_ident (id bigint GENERATED BY DEFAULT AS IDENTITY (START 10 INCREMENT 5),
                      v text);
INSERT INTO s_ident (v) VALUES ('a'), ('b');
INSERT INTO s_ident VALUES (1, 'explicit');
INSERT INTO s_ident (v) VALUES ('c');
SELECT * FROM s_ident ORDER BY id;
CREATE SEQUENCE s_seq START 100 INCREMENT 10 MAXVALUE 150 CYCLE MINVALUE 1;
CREATE TABLE s_seqtab (id int DEFAULT nextval('s_seq'), s serial, v text);
INSERT INTO s_seqtab (v) SELECT 'r' || g FROM generate_series(1, 8) g;
SELECT * FROM s_seqtab ORDER BY s;
SELECT currval('s_seq'), lastval();
SELECT setval('s_seq', 120);
INSERT INTO s_seqtab (v) VALUES ('after setval');
BEGIN;
INSERT INTO s_seqtab (v) VALUES ('rolled back');
ROLLBACK;
INSERT INTO s_seqtab (v) VALUES ('gap');	-- sequences are not rolled back
SELECT * FROM s_seqtab WHERE s > 8 ORDER BY s;

-- TID scans: a row found by its ctid is the row the ctid was read from
CREATE TABLE s_tid (id int, v text);
INSERT INTO s_tid SELECT g, 'tid ' || g FROM generate_series(1, 2000) g;
EXPLAIN (COSTS OFF) SELECT * FROM s_tid WHERE ctid = '(0,1)';
SELECT * FROM s_tid WHERE ctid = (SELECT ctid FROM s_tid WHERE id = 77);
SELECT * FROM s_tid WHERE ctid = (SELECT ctid FROM s_tid WHERE id = 1999);
SELECT count(*), sum(id) FROM s_tid
 WHERE ctid = ANY (ARRAY(SELECT ctid FROM s_tid WHERE id % 100 = 0));
SELECT count(*) FROM s_tid a JOIN s_tid b ON a.ctid = b.ctid AND a.id = b.id;
SELECT count(*) FROM s_tid WHERE ctid = '(4294967295,1)';
-- TID range scans: a range bounded by ctids of rows returns the same rows as
-- a sequential scan with the same condition
EXPLAIN (COSTS OFF) SELECT count(*) FROM s_tid WHERE ctid >= '(0,1)' AND ctid < '(1,1)';
SELECT count(*) FROM s_tid WHERE ctid >= '(0,0)';
SELECT count(*) FROM s_tid WHERE ctid < '(0,0)';
CREATE FUNCTION s_tid_range(lo int, hi int) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE
  q text := format('SELECT count(*), sum(id) FROM s_tid WHERE ctid >= (SELECT ctid FROM s_tid WHERE id = %s)'
                   ' AND ctid < coalesce((SELECT ctid FROM s_tid WHERE id = %s), ''(4294967295,0)'')', lo, hi);
  c1 bigint; c2 bigint; s1 bigint; s2 bigint;
BEGIN
  EXECUTE q INTO c1, s1;				-- TID range scan
  PERFORM set_config('enable_tidscan', 'off', true);
  EXECUTE q INTO c2, s2;				-- sequential scan and filter
  PERFORM set_config('enable_tidscan', 'on', true);
  RETURN c1 = c2 AND s1 IS NOT DISTINCT FROM s2;
END $$;
EXPLAIN (COSTS OFF) SELECT count(*) FROM s_tid
 WHERE ctid >= (SELECT ctid FROM s_tid WHERE id = 51) AND ctid < (SELECT ctid FROM s_tid WHERE id = 151);
SELECT lo, hi, s_tid_range(lo, hi) AS same
  FROM (VALUES (1, 2000), (51, 151), (1000, 1001), (1500, 3000), (700, 300)) r(lo, hi)
 ORDER BY lo;
SELECT (SELECT count(*) FROM s_tid WHERE ctid >= '(0,1)' AND ctid < '(1,1)') =
       (SELECT count(*) FROM s_tid WHERE (ctid::text::point)[0] = 0) AS block0_same;
-- after an UPDATE, a TID scan on the row's current ctid finds the new version
UPDATE s_tid SET v = 'changed' WHERE id = 77;
SELECT * FROM s_tid WHERE ctid = (SELECT ctid FROM s_tid WHERE id = 77);
DELETE FROM s_tid WHERE id = 78;
SELECT count(*) FROM s_tid WHERE ctid >= '(0,0)';
-- WHERE CURRENT OF
BEGIN;
DECLARE cur CURSOR FOR SELECT * FROM s_tid WHERE id IN (5, 6) ORDER BY id FOR UPDATE;
FETCH cur;
UPDATE s_tid SET v = 'current of' WHERE CURRENT OF cur;
FETCH cur;
DELETE FROM s_tid WHERE CURRENT OF cur;
COMMIT;
SELECT * FROM s_tid WHERE id BETWEEN 4 AND 7 ORDER BY id;

-- scroll cursors. A sequential scan returns rows in an order that is the
-- access method's own, so its cursor is checked against itself: walking
-- backward gives the forward order reversed, ABSOLUTE/PRIOR/RELATIVE agree.
CREATE TABLE s_scroll (id int PRIMARY KEY, v text);
INSERT INTO s_scroll SELECT g, 'row ' || g FROM generate_series(1, 1000) g;
DELETE FROM s_scroll WHERE id % 10 = 3;
UPDATE s_scroll SET v = v || ' upd' WHERE id % 10 = 5;
CREATE FUNCTION s_scroll_check(q text) RETURNS TABLE (n int, distinct_n bigint,
    backward_ok bool, absolute_ok bool, prior_ok bool, relative_ok bool, ends_ok bool)
LANGUAGE plpgsql AS $$
DECLARE
  c refcursor := 's_scroll_cur';
  fwd int[] := '{}';
  bwd int[] := '{}';
  r int;
  k int;
BEGIN
  OPEN c SCROLL FOR EXECUTE q;
  LOOP FETCH NEXT FROM c INTO r; EXIT WHEN NOT FOUND; fwd := fwd || r; END LOOP;
  LOOP FETCH PRIOR FROM c INTO r; EXIT WHEN NOT FOUND; bwd := bwd || r; END LOOP;
  n := cardinality(fwd);
  SELECT count(DISTINCT x) INTO distinct_n FROM unnest(fwd) x;
  backward_ok := bwd = ARRAY(SELECT fwd[i] FROM generate_series(n, 1, -1) i);
  absolute_ok := true;
  prior_ok := true;
  FOREACH k IN ARRAY ARRAY[1, 2, n / 2, n - 1, n, n / 7, n / 3] LOOP
    FETCH ABSOLUTE k FROM c INTO r;
    absolute_ok := absolute_ok AND r = fwd[k];
    FETCH PRIOR FROM c INTO r;
    IF k > 1 THEN prior_ok := prior_ok AND FOUND AND r = fwd[k - 1];
    ELSE prior_ok := prior_ok AND NOT FOUND; END IF;
  END LOOP;
  FETCH ABSOLUTE -3 FROM c INTO r;
  absolute_ok := absolute_ok AND r = fwd[n - 2];
  FETCH ABSOLUTE n / 10 FROM c INTO r;
  FETCH RELATIVE n / 2 FROM c INTO r;
  relative_ok := r = fwd[n / 10 + n / 2];
  FETCH RELATIVE -(n / 4) FROM c INTO r;
  relative_ok := relative_ok AND r = fwd[n / 10 + n / 2 - n / 4];
  FETCH RELATIVE 0 FROM c INTO r;
  relative_ok := relative_ok AND r = fwd[n / 10 + n / 2 - n / 4];
  FETCH LAST FROM c INTO r;
  ends_ok := r = fwd[n];
  FETCH NEXT FROM c INTO r;
  ends_ok := ends_ok AND NOT FOUND;
  FETCH PRIOR FROM c INTO r;
  ends_ok := ends_ok AND r = fwd[n];
  FETCH FIRST FROM c INTO r;
  ends_ok := ends_ok AND r = fwd[1];
  FETCH ABSOLUTE n + 5 FROM c INTO r;
  ends_ok := ends_ok AND NOT FOUND;
  FETCH PRIOR FROM c INTO r;
  ends_ok := ends_ok AND r = fwd[n];
  CLOSE c;
  RETURN NEXT;
END $$;
EXPLAIN (COSTS OFF) SELECT id FROM s_scroll;
SELECT * FROM s_scroll_check('SELECT id FROM s_scroll');
SELECT * FROM s_scroll_check('SELECT id FROM s_scroll WHERE v LIKE ''%upd''');
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT * FROM s_scroll_check('SELECT id FROM s_scroll WHERE id > 0');
-- an index scan in a scroll cursor, printed
EXPLAIN (COSTS OFF) SELECT * FROM s_scroll WHERE id > 0 ORDER BY id;
BEGIN;
DECLARE ci SCROLL CURSOR FOR SELECT * FROM s_scroll WHERE id > 0 ORDER BY id;
FETCH 3 FROM ci;
FETCH BACKWARD 2 FROM ci;
FETCH ABSOLUTE 500 FROM ci;
FETCH PRIOR FROM ci;
FETCH RELATIVE 10 FROM ci;
FETCH LAST FROM ci;
FETCH BACKWARD 3 FROM ci;
FETCH ABSOLUTE -2 FROM ci;
FETCH NEXT FROM ci;
FETCH NEXT FROM ci;
FETCH PRIOR FROM ci;
FETCH FIRST FROM ci;
FETCH PRIOR FROM ci;
FETCH NEXT FROM ci;
FETCH ABSOLUTE 5000 FROM ci;
FETCH PRIOR FROM ci;
MOVE ABSOLUTE 0 IN ci;
FETCH FORWARD 2 FROM ci;
CLOSE ci;
DECLARE cd SCROLL CURSOR FOR SELECT * FROM s_scroll WHERE id BETWEEN 100 AND 120 ORDER BY id DESC;
FETCH 4 FROM cd;
FETCH BACKWARD 2 FROM cd;
FETCH ABSOLUTE -1 FROM cd;
FETCH PRIOR FROM cd;
COMMIT;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- large OFFSET and LIMIT
CREATE TABLE s_big (id int PRIMARY KEY, grp int, v text);
INSERT INTO s_big SELECT g, g % 10, md5(g::text) FROM generate_series(1, 100000) g;
SELECT id, v FROM s_big ORDER BY id OFFSET 99995;
SELECT id FROM s_big ORDER BY id OFFSET 99999 LIMIT 10;
SELECT id FROM s_big ORDER BY id OFFSET 100000;
SELECT id FROM s_big ORDER BY id DESC LIMIT 3 OFFSET 50000;
SELECT count(*) FROM (SELECT * FROM s_big OFFSET 99990) s;
SELECT count(*) FROM (SELECT * FROM s_big LIMIT 12345) s;
SELECT count(*) FROM (SELECT * FROM s_big LIMIT 0) s;
SELECT id FROM s_big WHERE grp = 3 ORDER BY id LIMIT 5 OFFSET 9990;
SELECT id FROM s_big ORDER BY id FETCH FIRST 2 ROWS WITH TIES;

-- window functions
SELECT grp, count(*), sum(id), min(id), max(id) FROM s_big GROUP BY grp ORDER BY grp;
SELECT id, grp, row_number() OVER w, rank() OVER (ORDER BY grp),
       sum(id) OVER w, lag(id) OVER w, lead(id, 2) OVER w,
       first_value(id) OVER w, ntile(3) OVER w
  FROM s_big WHERE id <= 12 WINDOW w AS (PARTITION BY grp % 3 ORDER BY id)
 ORDER BY id;
SELECT grp, id, running FROM (
  SELECT grp, id, sum(id) OVER (PARTITION BY grp ORDER BY id
                                ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS running,
         row_number() OVER (PARTITION BY grp ORDER BY id DESC) AS rn
    FROM s_big) s
 WHERE rn <= 2 ORDER BY grp, id;
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY id),
       mode() WITHIN GROUP (ORDER BY grp) FROM s_big;

-- json / jsonb aggregation
SELECT json_agg(s ORDER BY id) FROM (SELECT id, grp, v FROM s_big WHERE id <= 3) s;
SELECT jsonb_agg(jsonb_build_object('id', id, 'g', grp) ORDER BY id)
  FROM s_big WHERE id BETWEEN 10 AND 13;
SELECT jsonb_object_agg(id::text, v) FROM s_big WHERE id <= 4;
SELECT json_object_agg(grp, n ORDER BY grp) FROM (SELECT grp, count(*) AS n FROM s_big GROUP BY grp) s;
CREATE TABLE s_doc (id int PRIMARY KEY, doc jsonb);
INSERT INTO s_doc SELECT g, jsonb_build_object('n', g, 'tags', jsonb_build_array('t' || g % 3, 'all'),
                                              'nested', jsonb_build_object('even', g % 2 = 0))
  FROM generate_series(1, 300) g;
UPDATE s_doc SET doc = jsonb_set(doc, '{nested,touched}', 'true') WHERE id % 50 = 0;
SELECT doc->'tags'->>0 AS tag, count(*), sum((doc->>'n')::int) FROM s_doc GROUP BY 1 ORDER BY 1;
SELECT id, doc FROM s_doc WHERE doc @> '{"nested": {"touched": true}}' ORDER BY id;
SELECT jsonb_agg(doc ORDER BY id) -> 0 FROM s_doc;
SELECT count(*) FROM s_doc, jsonb_array_elements_text(doc->'tags') t WHERE t = 'all';

-- arrays with many elements
CREATE TABLE s_arr (id int PRIMARY KEY, a int[], t text[]);
INSERT INTO s_arr SELECT 1, array_agg(g ORDER BY g), array_agg('e' || g ORDER BY g)
  FROM generate_series(1, 100000) g;
INSERT INTO s_arr SELECT 2, array_agg(g ORDER BY g DESC), NULL FROM generate_series(1, 5000) g;
INSERT INTO s_arr VALUES (3, '{}', '{NULL,x,NULL}');
SELECT id, cardinality(a), a[1], a[cardinality(a)], a[50000], cardinality(t), t[99999]
  FROM s_arr ORDER BY id;
SELECT id, (SELECT sum(x) FROM unnest(a) x) FROM s_arr ORDER BY id;
UPDATE s_arr SET a[50000] = -1, a[100001] = 7 WHERE id = 1;
UPDATE s_arr SET a = a || ARRAY[0, 0] WHERE id = 2;
SELECT id, cardinality(a), a[49999:50001], a[cardinality(a)] FROM s_arr ORDER BY id;
SELECT id FROM s_arr WHERE a @> ARRAY[4999, 5000] ORDER BY id;
SELECT id, md5(array_to_string(t, ',')) FROM s_arr ORDER BY id;
SELECT (array_agg(x ORDER BY x DESC))[1:3] FROM unnest((SELECT a FROM s_arr WHERE id = 1)) x;

-- domains, enums, composite types
CREATE DOMAIN s_posint AS int CHECK (VALUE > 0);
CREATE DOMAIN s_email AS text NOT NULL CHECK (VALUE LIKE '%@%');
CREATE TYPE s_mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE s_addr AS (street text, zip int);
CREATE TABLE s_typed (id s_posint PRIMARY KEY, mail s_email, mood s_mood,
                      home s_addr, homes s_addr[]);
INSERT INTO s_typed VALUES (1, 'a@x', 'happy', ('Main', 100), ARRAY[('A', 1), ('B', 2)]::s_addr[]),
                           (2, 'b@x', 'sad', ROW('Side', NULL), NULL),
                           (3, 'c@x', 'ok', NULL, '{}');
INSERT INTO s_typed VALUES (0, 'z@x', 'ok', NULL, NULL);
INSERT INTO s_typed VALUES (4, 'no at', 'ok', NULL, NULL);
INSERT INTO s_typed VALUES (4, NULL, 'ok', NULL, NULL);
INSERT INTO s_typed VALUES (4, 'd@x', 'angry', NULL, NULL);
SELECT * FROM s_typed ORDER BY mood;
SELECT id, mood, mood > 'sad' AS above_sad FROM s_typed WHERE mood BETWEEN 'ok' AND 'happy' ORDER BY id;
UPDATE s_typed SET home.zip = 200 WHERE id = 1;
UPDATE s_typed SET home = ('New', 300) WHERE id = 3;
UPDATE s_typed SET homes[2].street = 'BB' WHERE id = 1;
SELECT id, (home).street, (home).zip, homes[2] FROM s_typed ORDER BY id;
SELECT id FROM s_typed WHERE home = ROW('New', 300)::s_addr ORDER BY id;
ALTER TYPE s_mood ADD VALUE 'ecstatic' AFTER 'happy';
INSERT INTO s_typed VALUES (5, 'e@x', 'ecstatic', NULL, NULL);
SELECT id, mood FROM s_typed ORDER BY mood DESC, id;
ALTER DOMAIN s_posint ADD CONSTRAINT s_small CHECK (VALUE < 5);	-- row 5 fails

-- a table with 100 columns of mixed types, NULLs in various positions
DO $$
DECLARE
  cols text := 'id int PRIMARY KEY';
  types text[] := ARRAY['int2', 'int4', 'int8', 'text', 'float8', 'bool', 'numeric', 'char(3)', 'date', 'varchar'];
BEGIN
  FOR i IN 1..99 LOOP
    cols := cols || format(', c%s %s', i, types[i % 10 + 1]);
  END LOOP;
  EXECUTE format('CREATE TABLE s_wide (%s)', cols);
END $$;
CREATE FUNCTION s_wide_val(r int, i int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN (r + i) % 7 = 0 OR (r % 11 = 0 AND i > 50) OR (r % 13 = 0 AND i % 2 = 1)
                   OR r = 3 THEN NULL
              ELSE CASE i % 10 WHEN 5 THEN ((r * i) % 2 = 0)::text
                               WHEN 8 THEN to_char('2020-01-01'::date + (r + i), 'YYYY-MM-DD')
                               WHEN 7 THEN 'c' || (i % 10) || 'x'
                               ELSE ((r * 31 + i) % 30000)::text END END $$;
DO $$
BEGIN
  FOR r IN 1..200 LOOP
    EXECUTE format('INSERT INTO s_wide VALUES (%s, %s)', r,
      (SELECT string_agg(coalesce(quote_literal(s_wide_val(r, i)), 'NULL'), ', ' ORDER BY i)
         FROM generate_series(1, 99) i));
  END LOOP;
END $$;
INSERT INTO s_wide (id) VALUES (201);		-- all NULL but the key
INSERT INTO s_wide (id, c99) VALUES (202, 'last');
INSERT INTO s_wide (id, c1) VALUES (203, 1);
CREATE FUNCTION s_wide_nulls(j jsonb) RETURNS int LANGUAGE sql AS $$
  SELECT count(*)::int FROM jsonb_each(j) WHERE value = 'null' $$;
SELECT count(*), sum(s_wide_nulls(to_jsonb(w))) FROM s_wide w;
SELECT id, s_wide_nulls(to_jsonb(w)) AS nulls, md5(to_jsonb(w)::text)
  FROM s_wide w WHERE id IN (1, 2, 3, 7, 11, 13, 77, 143, 200, 201, 202, 203) ORDER BY id;
-- every stored value is the one inserted
SELECT count(*) AS mismatches FROM s_wide w, jsonb_each_text(to_jsonb(w)) e
 WHERE w.id <= 200 AND e.key <> 'id'
   AND e.value IS DISTINCT FROM
       CASE WHEN substr(e.key, 2)::int % 10 = 4 AND s_wide_val(w.id, substr(e.key, 2)::int) IS NOT NULL
            THEN s_wide_val(w.id, substr(e.key, 2)::int)::float8::text
            WHEN substr(e.key, 2)::int % 10 = 6 AND s_wide_val(w.id, substr(e.key, 2)::int) IS NOT NULL
            THEN s_wide_val(w.id, substr(e.key, 2)::int)::numeric::text
            ELSE s_wide_val(w.id, substr(e.key, 2)::int) END;
SELECT id, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c50, c51, c98, c99
  FROM s_wide WHERE id IN (1, 3, 14, 22, 201, 202) ORDER BY id;
UPDATE s_wide SET c50 = NULL, c51 = 51, c1 = NULL WHERE id % 5 = 0;
UPDATE s_wide SET c99 = 'v' WHERE c99 IS NULL AND id < 100;
ALTER TABLE s_wide DROP COLUMN c40;
ALTER TABLE s_wide ADD COLUMN c100 int DEFAULT 100;
SELECT count(*), count(c1), count(c50), count(c51), count(c99), sum(c100) FROM s_wide;
SELECT id, c49, c50, c51, c99, c100 FROM s_wide WHERE id IN (5, 10, 11, 202) ORDER BY id;
SELECT count(*), sum(s_wide_nulls(to_jsonb(w))) FROM s_wide w;

-- wide rows around 2000 and 8000 bytes, values that do not compress
CREATE FUNCTION s_noise(n int, seed int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT left(string_agg(md5((seed * 100000 + i)::text), '' ORDER BY i), n)
    FROM generate_series(0, n / 32) i $$;
CREATE TABLE s_rows (id int PRIMARY KEY, a text, b text, c bytea);
INSERT INTO s_rows SELECT n, s_noise(n, n), NULL, NULL
  FROM generate_series(1980, 2060, 4) n;
INSERT INTO s_rows SELECT n, s_noise(n, n), NULL, NULL
  FROM generate_series(8000, 8200, 8) n;
INSERT INTO s_rows SELECT 10000 + n, s_noise(n, 1), s_noise(n, 2), decode(s_noise(n, 3), 'hex')
  FROM (VALUES (1000), (2000), (2700), (4000), (8100)) v(n);
INSERT INTO s_rows SELECT 20000 + n, repeat('c', n), NULL, NULL
  FROM generate_series(1990, 2010, 5) n;
SELECT count(*), sum(length(a)), sum(length(b)), sum(length(c)) FROM s_rows;
SELECT count(*) FILTER (WHERE a = s_noise(id, id)) AS intact_2k_8k FROM s_rows WHERE id < 10000;
SELECT id, length(a), length(b), length(c), md5(a), md5(b), md5(c) FROM s_rows
 WHERE id >= 10000 ORDER BY id;
UPDATE s_rows SET a = s_noise(8000, 99) WHERE id = 2000;
UPDATE s_rows SET a = left(a, 100) WHERE id = 8000;
UPDATE s_rows SET b = s_noise(length(a), 7) WHERE id BETWEEN 2040 AND 2060;
DELETE FROM s_rows WHERE id BETWEEN 8100 AND 8150;
SELECT id, length(a), length(b), md5(a || coalesce(b, '')) FROM s_rows
 WHERE id IN (2000, 2040, 2060, 8000, 8096, 8152) ORDER BY id;
SELECT count(*), sum(length(a)), sum(length(b)) FROM s_rows;
BEGIN;
UPDATE s_rows SET a = s_noise(2000, 5) WHERE id < 10000;
SELECT count(*) FILTER (WHERE a = s_noise(2000, 5)) FROM s_rows;
ROLLBACK;
SELECT count(*) FILTER (WHERE a = s_noise(id, id)) FROM s_rows WHERE id < 8000 AND id <> 2000;
SET enable_seqscan = off;
SELECT id, length(a), md5(a) FROM s_rows WHERE id = 8200;
RESET enable_seqscan;
