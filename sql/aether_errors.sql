--
-- aether_errors: statements that fail leave an aether table unchanged.
-- Expected output comes from heap.
--
SET client_min_messages = warning;	-- no NOTICE when an earlier test created it
CREATE EXTENSION IF NOT EXISTS aether;
RESET client_min_messages;
SET default_table_access_method = aether;

CREATE TABLE e_parent (id int PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE e_child (
	id			int PRIMARY KEY,
	parent_id	int NOT NULL REFERENCES e_parent (id),
	qty			int CHECK (qty > 0),
	code		varchar(3)
);
INSERT INTO e_parent VALUES (1, 'one'), (2, 'two'), (3, 'three');
INSERT INTO e_child VALUES (10, 1, 5, 'a'), (11, 1, 6, 'b'), (12, 2, 7, 'c');

-- unique violations: primary key, unique column, inside a multi-row insert
INSERT INTO e_parent VALUES (1, 'uno');
INSERT INTO e_parent VALUES (4, 'one');
INSERT INTO e_parent VALUES (4, 'four'), (5, 'five'), (4, 'four again');
UPDATE e_parent SET id = 3 WHERE id = 2;
SELECT * FROM e_parent ORDER BY id;

-- not-null violations
INSERT INTO e_parent VALUES (6, NULL);
INSERT INTO e_child (id, qty) VALUES (13, 1);
UPDATE e_parent SET name = NULL WHERE id = 1;
INSERT INTO e_parent (name) VALUES ('no id');
SELECT * FROM e_parent ORDER BY id;

-- check violations
INSERT INTO e_child VALUES (13, 1, 0, 'd');
UPDATE e_child SET qty = qty - 6 WHERE id = 11;
SELECT * FROM e_child ORDER BY id;

-- value too long, bad input
INSERT INTO e_child VALUES (13, 1, 1, 'toolong');
INSERT INTO e_child VALUES ('thirteen', 1, 1, 'd');
SELECT * FROM e_child ORDER BY id;

-- foreign key violations, both directions
INSERT INTO e_child VALUES (13, 99, 1, 'd');
UPDATE e_child SET parent_id = 42 WHERE id = 12;
DELETE FROM e_parent WHERE id = 1;
UPDATE e_parent SET id = 100 WHERE id = 2;
DELETE FROM e_parent WHERE id = 3;
SELECT * FROM e_parent ORDER BY id;
SELECT * FROM e_child ORDER BY id;

-- an error part way through a statement leaves every row as it was
CREATE TABLE e_nums (id int PRIMARY KEY, v int) USING aether;
INSERT INTO e_nums SELECT g, g FROM generate_series(1, 1000) g;
INSERT INTO e_nums SELECT g, 10 / (1500 - g) FROM generate_series(1001, 2000) g;
UPDATE e_nums SET v = 1000 / (500 - id);
UPDATE e_nums SET v = v + 1 WHERE id < 900 OR 1 / (id - 950) > 0;
DELETE FROM e_nums WHERE id > 100 AND 1 / (id - 700) <> 0;
SELECT count(*), sum(id), sum(v), min(v), max(v) FROM e_nums;
-- the same inside an explicit transaction
BEGIN;
UPDATE e_nums SET v = 0 WHERE id <= 10;
UPDATE e_nums SET v = 1 / v;
COMMIT;
SELECT count(*), sum(v) FROM e_nums;

-- a deferred unique constraint fails at COMMIT
CREATE TABLE e_deferred (k int UNIQUE DEFERRABLE INITIALLY DEFERRED, v text);
INSERT INTO e_deferred VALUES (1, 'a'), (2, 'b');
BEGIN;
INSERT INTO e_deferred VALUES (1, 'duplicate, checked at commit');
UPDATE e_deferred SET v = 'changed' WHERE k = 2;
COMMIT;
SELECT * FROM e_deferred ORDER BY k;
BEGIN;
INSERT INTO e_deferred VALUES (1, 'duplicate, but resolved before commit');
DELETE FROM e_deferred WHERE v = 'a';
COMMIT;
SELECT * FROM e_deferred ORDER BY k;

-- an exclusion constraint (gist)
CREATE TABLE e_booking (room int, during int4range,
	EXCLUDE USING gist (during WITH &&)) USING aether;
INSERT INTO e_booking VALUES (1, '[1,5)'), (1, '[5,10)');
INSERT INTO e_booking VALUES (2, '[2,4)');
UPDATE e_booking SET during = '[0,6)' WHERE during = '[1,5)';
SELECT * FROM e_booking ORDER BY during;

-- errors raised by triggers, before and after the row is written
CREATE FUNCTION e_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.v < 0 THEN
		RAISE EXCEPTION 'negative value refused by % trigger', TG_WHEN;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER e_before BEFORE INSERT OR UPDATE ON e_nums
	FOR EACH ROW EXECUTE FUNCTION e_refuse();
INSERT INTO e_nums VALUES (5000, -1);
UPDATE e_nums SET v = -v WHERE id = 5;
DROP TRIGGER e_before ON e_nums;
CREATE TRIGGER e_after AFTER INSERT OR UPDATE ON e_nums
	FOR EACH ROW EXECUTE FUNCTION e_refuse();
INSERT INTO e_nums SELECT g, 1 - (g - 5000) FROM generate_series(5000, 5010) g;
UPDATE e_nums SET v = 50 - v WHERE id <= 100;
SELECT count(*), sum(id), sum(v) FROM e_nums;

-- writes in a read-only transaction
BEGIN READ ONLY;
INSERT INTO e_nums VALUES (6000, 1);
ROLLBACK;
SELECT count(*) FROM e_nums WHERE id = 6000;

DROP TABLE e_child, e_parent, e_nums, e_deferred, e_booking;
DROP FUNCTION e_refuse();
