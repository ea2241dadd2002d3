#!/bin/bash
# scripts/demo.sh — the README's first command.
#
# Installs what is missing, builds and installs Aether, starts a throw-away
# PostgreSQL 15 instance as the unprivileged user "aether" with
# shared_preload_libraries = 'aether', and shows a double-entry ledger kept
# in aether tables. The instance keeps running afterwards; the last lines say
# how to connect and how to stop it.
#
#   DEMO_DIR   data directory   (default /tmp/aether-demo; wiped first)
#   DEMO_PORT  port             (default 5499)
#   DEMO_ROWS  transfers loaded (default 1000000)
set -Eeuo pipefail
. "$(dirname "$0")/common.sh"

DEMO_DIR=${DEMO_DIR:-/tmp/aether-demo}
DEMO_PORT=${DEMO_PORT:-5499}
DEMO_ROWS=${DEMO_ROWS:-1000000}
CHUNK=100000
SOCK=/tmp
DB=ledger
PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$DEMO_PORT" -U "$AETHER_USER")

on_error() {
	local rc=$?
	echo
	echo "demo FAILED (exit $rc) at line $1."
	if [ -s "$DEMO_DIR/server.log" ]; then
		echo "---- last lines of $DEMO_DIR/server.log ----"
		tail -n 30 "$DEMO_DIR/server.log"
	fi
	exit "$rc"
}
trap 'on_error $LINENO' ERR

sql() { "${PSQL[@]}" -d "$DB" "$@"; }
now_ms() { date +%s%3N; }

section "1. dependencies"
bash "$REPO_ROOT/scripts/install-deps.sh"

section "2. build and install the extension"
build_and_install
say "installed $("$PG_CONFIG" --pkglibdir)/aether.so"

section "3. throw-away instance in $DEMO_DIR (port $DEMO_PORT, user $AETHER_USER)"
ensure_user
if [ -f "$DEMO_DIR/postmaster.pid" ]; then
	say "stopping the instance left by an earlier run"
	as_user "$PG_BINDIR/pg_ctl" -D "$DEMO_DIR" -m immediate -w stop >/dev/null || true
fi
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
chown "$AETHER_USER": "$DEMO_DIR" 2>/dev/null || true
chmod 700 "$DEMO_DIR"
as_user "$PG_BINDIR/initdb" -D "$DEMO_DIR" -U "$AETHER_USER" --auth=trust \
	--encoding=UTF8 --locale=C.UTF-8 >/dev/null
cat >> "$DEMO_DIR/postgresql.conf" <<CONF

# --- added by scripts/demo.sh ---
shared_preload_libraries = 'aether'
port = $DEMO_PORT
listen_addresses = ''
unix_socket_directories = '$SOCK'
max_wal_size = 4GB
CONF
as_user "$PG_BINDIR/pg_ctl" -D "$DEMO_DIR" -l "$DEMO_DIR/server.log" -w start >/dev/null
say "server started: $("${PSQL[@]}" -d postgres -Atc 'SELECT version()')"
"${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB"

section "4. CREATE EXTENSION aether"
sql -e -c "CREATE EXTENSION aether"
sql -c "\dx aether"
sql -c "SELECT amname, amtype FROM pg_am WHERE amname = 'aether'"

section "5. a double-entry ledger in aether tables"
sql -e <<'SQL'
CREATE TABLE accounts (
    id       int PRIMARY KEY,
    name     text NOT NULL,
    balance  numeric(14,2) NOT NULL DEFAULT 0
) USING aether;
CREATE TABLE transfers (
    id           bigint PRIMARY KEY,
    debit_acct   int NOT NULL,      -- money leaves this account
    credit_acct  int NOT NULL,      -- and arrives in this one
    amount       numeric(12,2) NOT NULL CHECK (amount > 0),
    booked_at    timestamptz NOT NULL,
    memo         text
) USING aether;
INSERT INTO accounts (id, name)
SELECT g, 'account ' || g FROM generate_series(1, 1000) g;
SQL
sql -c "SELECT c.relname, a.amname AS access_method FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname IN ('accounts', 'transfers') ORDER BY 1"

section "6. bulk load: $DEMO_ROWS transfers in chunks of $CHUNK"
t0=$(now_ms)
for ((start = 1; start <= DEMO_ROWS; start += CHUNK)); do
	end=$((start + CHUNK - 1)); [ "$end" -le "$DEMO_ROWS" ] || end=$DEMO_ROWS
	c0=$(now_ms)
	sql -c "INSERT INTO transfers
	        SELECT g,
	               1 + (g * 7919) % 1000,
	               1 + ((g * 7919) % 1000 + 1 + g % 999) % 1000,
	               ((g * 37) % 100000 + 1) / 100.0,
	               timestamptz '2024-01-01 00:00:00+00' + g * interval '30 seconds',
	               'transfer #' || g
	          FROM generate_series(${start}::bigint, $end) g"
	c1=$(now_ms)
	printf '  loaded %8d / %d transfers  (chunk %5d ms, total %3d.%d s)\n' \
		"$end" "$DEMO_ROWS" $((c1 - c0)) $(((c1 - t0) / 1000)) $(((c1 - t0) % 1000 / 100))
done
sql -c "SELECT count(*) AS transfers, min(booked_at) AS first, max(booked_at) AS last FROM transfers"

section "7. balances: every debit is someone's credit"
sql -e <<'SQL'
CREATE VIEW entries AS
    SELECT id AS transfer, debit_acct AS acct, amount AS debit, 0::numeric AS credit FROM transfers
    UNION ALL
    SELECT id, credit_acct, 0, amount FROM transfers;
SELECT sum(debit) AS total_debits, sum(credit) AS total_credits,
       sum(debit) - sum(credit) AS difference
  FROM entries;
UPDATE accounts a
   SET balance = b.balance
  FROM (SELECT acct, sum(credit - debit) AS balance FROM entries GROUP BY acct) b
 WHERE a.id = b.acct;
SELECT sum(balance) AS sum_of_balances_must_be_zero FROM accounts;
SELECT id, name, balance FROM accounts ORDER BY balance DESC, id LIMIT 3;
SELECT id, name, balance FROM accounts ORDER BY balance, id LIMIT 3;
SQL

section "8. an index lookup"
sql -e <<'SQL'
CREATE INDEX transfers_debit_time ON transfers (debit_acct, booked_at);
EXPLAIN (COSTS OFF) SELECT * FROM transfers WHERE id = 424242;
SELECT * FROM transfers WHERE id = 424242;
EXPLAIN (COSTS OFF)
SELECT id, credit_acct, amount, booked_at FROM transfers
 WHERE debit_acct = 42 ORDER BY booked_at DESC LIMIT 5;
SELECT id, credit_acct, amount, booked_at FROM transfers
 WHERE debit_acct = 42 ORDER BY booked_at DESC LIMIT 5;
SQL

section "9. an UPDATE: correct one transfer, keep the books balanced"
sql -e <<'SQL'
BEGIN;
UPDATE transfers SET amount = amount + 100, memo = memo || ' (corrected)'
 WHERE id = 424242
 RETURNING id, debit_acct, credit_acct, amount, memo;
UPDATE accounts SET balance = balance - 100 WHERE id = (SELECT debit_acct FROM transfers WHERE id = 424242);
UPDATE accounts SET balance = balance + 100 WHERE id = (SELECT credit_acct FROM transfers WHERE id = 424242);
COMMIT;
SELECT sum(balance) AS sum_of_balances_still_zero FROM accounts;
SQL

section "10. a rolled-back transaction changes nothing"
sql -e <<'SQL'
SELECT count(*) AS transfers_before, sum(amount) AS amount_before FROM transfers;
BEGIN;
DELETE FROM transfers WHERE debit_acct = 7;
INSERT INTO transfers VALUES ((SELECT max(id) + 1 FROM transfers), 1, 2, 999999.99, now(), 'never happened');
UPDATE accounts SET balance = 0;
SELECT count(*) AS transfers_inside_txn, sum(amount) AS amount_inside_txn FROM transfers;
SELECT count(*) FILTER (WHERE balance <> 0) AS nonzero_accounts_inside_txn FROM accounts;
ROLLBACK;
SELECT count(*) AS transfers_after, sum(amount) AS amount_after FROM transfers;
SELECT sum(balance) AS sum_of_balances_after, count(*) FILTER (WHERE balance <> 0) AS nonzero_accounts FROM accounts;
SQL

section "11. size on disk: the same data in aether and in heap"
sql -e <<'SQL'
CREATE TABLE accounts_heap  (LIKE accounts  INCLUDING ALL) USING heap;
CREATE TABLE transfers_heap (LIKE transfers INCLUDING ALL) USING heap;
INSERT INTO accounts_heap  SELECT * FROM accounts;
INSERT INTO transfers_heap SELECT * FROM transfers;
CHECKPOINT;
SELECT aether_flush();   -- write Aether's dirty pages, so file sizes are current
SELECT c.relname AS table, a.amname AS am,
       pg_size_pretty(pg_relation_size(c.oid)) AS table_size,
       pg_size_pretty(pg_indexes_size(c.oid)) AS indexes,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS total
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname IN ('accounts', 'accounts_heap', 'transfers', 'transfers_heap')
 ORDER BY c.relname;
SQL

trap - ERR
section "done"
say "The instance keeps running with the $DB database."
say "  connect:  psql -h $SOCK -p $DEMO_PORT -U $AETHER_USER $DB"
say "  stop:     runuser -u $AETHER_USER -- $PG_BINDIR/pg_ctl -D $DEMO_DIR stop"
