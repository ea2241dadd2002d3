# Crash recovery of the whole server. While clients commit transfers, the
# postmaster and every backend are killed with SIGKILL at the same instant
# (nothing gets to write a page or the log afterwards); a plain start must
# then bring every aether table back to exactly its committed state:
#
#   - money is neither created nor destroyed (sum of balances unchanged),
#   - every transaction whose COMMIT was acknowledged is there, also one
#     that wrote only aether rows (no PostgreSQL WAL record of its own
#     before the commit record),
#   - each transaction is all or nothing across three tables (one transfers
#     row and one ballast increment per committed transfer),
#   - PostgreSQL's indexes and Aether's B+trees agree (index scans and
#     sequential scans count the same rows) and aether_verify passes.
#
# Cycles: five load + kill + start cycles with synchronous_commit = on,
# killed at different times relative to Aether's 5-second checkpoints, one
# with synchronous_commit = off, a prepared transaction across a crash, DROP
# and TRUNCATE right before a crash, CREATE TABLE + load + crash with no
# checkpoint in between.
#
# The buffer pool is small (2048 pages, 16 MB) and the ballast table larger
# than it, so dirty pages are evicted (written before the crash, newer than
# the last checkpoint) while the load runs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep time);
use FindBin;
use lib $FindBin::Bin;
use AetherTest;

my $NACCOUNTS      = 1000;
my $START_BALANCE  = 1000;
my $TOTAL          = $NACCOUNTS * $START_BALANCE;
my $NBALLAST       = 200_000;
my $INITIAL_XFERS  = 20_000;
my $CLIENTS        = 4;
# seconds of load before each kill: around and across the 5 s checkpoints
my @KILL_AFTER     = (2.0, 6.5, 3.5, 8.0, 5.0);

my $node = PostgreSQL::Test::Cluster->new('crash_recovery');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'aether'
aether.checkpoint_timeout = 5
aether.buffer_pool_size = 2048
max_prepared_transactions = 10
max_connections = 40
});
$node->start;

# ------------------------------------------------------------------ helpers

# Run SQL without dying: returns stdout, or undef after a diag of the error
# (an error, a lost connection or a hang of more than 120 s); see
# AetherTest::try_sql.
sub sql
{
	my ($q, %opt) = @_;
	return try_sql($node, $q, %opt);
}

# Like sql, but the statement is expected to fail: returns stderr, or undef
# when it unexpectedly succeeded.
sub sql_error
{
	my ($q) = @_;
	my $timed_out = 0;
	my ($ret, $out, $err) = $node->psql(
		'postgres', $q,
		on_error_stop => 1,
		timeout       => 120,
		timed_out     => \$timed_out);
	return "timed out" if $timed_out;
	return undef if defined $ret && $ret == 0;
	return $err;
}

# Start after a crash; the server must come up by itself.
my $server_up = 1;
sub start_after
{
	my ($label) = @_;
	my $t0 = time;
	my $ok = $node->start(fail_ok => 1);
	ok($ok, "$label: the server starts after kill -9");
	note sprintf("%s: start took %.1f s", $label, time - $t0);
	$server_up = $ok;
	return $ok;
}

my $pgbench_script = $node->basedir . '/transfer.sql';
append_to_file(
	$pgbench_script, qq{
\\set src random(1, $NACCOUNTS)
\\set dst 1 + (:src + random(0, $NACCOUNTS - 2)) % $NACCOUNTS
\\set amt random(1, 100)
\\set b random(1, $NBALLAST)
BEGIN;
UPDATE accounts SET balance = balance + CASE WHEN id = :src THEN -:amt ELSE :amt END
	WHERE id = least(:src, :dst);
UPDATE accounts SET balance = balance + CASE WHEN id = :src THEN -:amt ELSE :amt END
	WHERE id = greatest(:src, :dst);
INSERT INTO transfers (src, dst, amount, note)
	VALUES (:src, :dst, :amt, 'transfer of ' || :amt || repeat('.', :amt));
UPDATE ballast SET v = v + 1 WHERE id = :b;
END;
});
# dst != src (src + 1 .. src + 999 modulo 1000); the two accounts are updated
# in id order, so concurrent transfers never deadlock.

# Background pgbench: the multi-client transfer load. Output goes to files.
my $load_no = 0;
sub start_load
{
	my (%env) = @_;
	$load_no++;
	my $out = $node->basedir . "/pgbench.$load_no.out";
	my $err = $node->basedir . "/pgbench.$load_no.err";
	local %ENV = (%ENV, PGHOST => $node->host, PGPORT => $node->port, %env);
	my $h = IPC::Run::start(
		[ 'pgbench', '-n', '-c', $CLIENTS, '-j', 2, '-T', 300, '-f', $pgbench_script,
			'postgres' ],
		'<', '/dev/null', '>', $out, '2>', $err);
	return { h => $h, out => $out, err => $err, no => $load_no };
}

sub finish_load
{
	my ($load, $label) = @_;
	my $t = IPC::Run::timer(60);
	$t->start;
	while ($load->{h}->pumpable && !$t->is_expired)
	{
		eval { $load->{h}->pump_nb };
		usleep(20_000);
	}
	eval { $load->{h}->kill_kill } if $load->{h}->pumpable;
	eval { $load->{h}->finish };
	my $err = -e $load->{err} ? slurp_file($load->{err}) : '';
	# Errors other than the lost connections are a test or server problem.
	# (A kill -9 shows as "server closed the connection unexpectedly".)
	my @other = grep { /\b(ERROR|FATAL|PANIC):/ } split /\n/, $err;
	is(scalar(@other), 0, "$label: the load had no SQL errors before the kill")
	  or diag(join("\n", @other[ 0 .. ($#other < 20 ? $#other : 19) ]));
}

# The acknowledged-commit client: one psql, fed two autocommit statements
# per id: an INSERT into acked (its primary key index writes PostgreSQL WAL)
# and an UPDATE of acked_noidx (no index: the transaction writes no
# PostgreSQL WAL before its commit record). An id counts as acknowledged
# once psql has printed both RETURNING results (both COMMITs returned).
sub start_acked
{
	my (%env) = @_;
	my ($in, $out, $err) = ('', '', '');
	local %ENV = (%ENV, PGHOST => $node->host, PGPORT => $node->port, %env);
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', 'postgres', '-f', '-' ],
		'<', \$in, '>', \$out, '2>', \$err);
	return { h => $h, in => \$in, out => \$out, err => \$err };
}

# Commit ids from $next on, one acknowledged id at a time, until $deadline;
# then send one more id and return without waiting for it (it is in flight
# at the kill). Returns the highest acknowledged id (or $next-1).
sub run_acked_until
{
	my ($s, $next, $deadline) = @_;
	my $acked = $next - 1;
	my $id = $next;
	my $stmts = sub {
		"INSERT INTO acked VALUES ($_[0]) RETURNING id;\n"
		  . "UPDATE acked_noidx SET n = $_[0] RETURNING n;\n";
	};
	while (time < $deadline)
	{
		${ $s->{in} } .= $stmts->($id);
		my $t0 = time;
		while (${ $s->{out} } !~ /^$id\n$id$/m)
		{
			if (!$s->{h}->pumpable || time - $t0 > 60 || ${ $s->{err} } ne '')
			{
				diag("acked client stopped at id $id: " . ${ $s->{err} });
				return $acked;
			}
			eval { $s->{h}->pump_nb };
			usleep(200) if ${ $s->{out} } !~ /^$id\n$id$/m;
		}
		${ $s->{out} } = '';
		$acked = $id++;
	}
	${ $s->{in} } .= $stmts->($id);
	eval { $s->{h}->pump_nb };
	return $acked;
}

sub finish_acked
{
	my ($s) = @_;
	eval { $s->{h}->kill_kill };
	eval { $s->{h}->finish };
}

# Index scans and sequential scans agree on a table; returns the seq result.
sub scans_agree
{
	my ($label, $table, $index, $where, $agg) = @_;
	my $idx_q = "SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT $agg FROM $table WHERE $where";
	my $plan = sql("SET enable_seqscan = off; SET enable_bitmapscan = off;
		EXPLAIN (COSTS OFF) SELECT $agg FROM $table WHERE $where");
	like($plan // '', qr/Index (Only )?Scan using $index/,
		"$label: $table: the plan uses $index");
	my $idx = sql($idx_q);
	my $seq = sql("SET enable_indexscan = off; SET enable_bitmapscan = off;
		SET enable_indexonlyscan = off; SELECT $agg FROM $table");
	ok(defined $seq && defined $idx && $seq eq $idx,
		"$label: $table: an index scan on $index and a sequential scan agree")
	  or diag("index: " . ($idx // 'error') . "  seq: " . ($seq // 'error'));
	return $seq;
}

sub verify_tables
{
	my ($label, @tables) = @_;
	for my $t (@tables)
	{
		my $v = sql("SELECT * FROM aether_verify('$t')");
		ok(defined $v, "$label: aether_verify('$t') passes")
		  and note "$label: aether_verify('$t'): $v";
	}
}

my $acked_hi = 0;    # highest acknowledged id over all cycles
my $noidx_hi = 0;    # the value of acked_noidx.n last acknowledged

# Everything that must hold after any crash of the transfer load.
# require_acked: every acknowledged commit must be there.
sub check_ledger
{
	my ($label, %opt) = @_;
	is(sql("SELECT count(*), sum(balance) FROM accounts"), "$NACCOUNTS|$TOTAL",
		"$label: the balances still sum to $TOTAL");
	scans_agree($label, 'accounts', 'accounts_pkey', 'id > 0', 'count(*), sum(balance)');
	my $seq = scans_agree($label, 'transfers', 'transfers_src', 'src >= 0',
		'count(*), sum(amount)');
	scans_agree($label, 'transfers', 'transfers_pkey', 'id > 0', 'count(*), sum(amount)');
	my $xfers = defined $seq ? (split /\|/, $seq)[0] : undef;
	# one ballast increment per committed transfer: all or nothing across tables
	is(sql("SELECT sum(v) FROM ballast"),
		defined $xfers ? $xfers - $INITIAL_XFERS : 'transfers unreadable',
		"$label: one ballast increment per transfers row (transactions are atomic)");
	is(sql("SELECT count(*) FROM transfers WHERE amount = 0"), $INITIAL_XFERS,
		"$label: the initial transfers are intact");
	# each balance against the ledger: start + credits - debits
	my $bad = sql(qq{SET enable_indexscan = off; SET enable_bitmapscan = off;
		SET enable_indexonlyscan = off;
		WITH l AS (SELECT id, sum(d) AS d FROM (
				SELECT src AS id, -amount AS d FROM transfers
				UNION ALL SELECT dst, amount FROM transfers) x GROUP BY id),
			b AS (SELECT a.id, a.balance, $START_BALANCE + coalesce(l.d, 0) AS ledger
				FROM accounts a LEFT JOIN l USING (id))
		SELECT (SELECT count(*) FROM b WHERE balance <> ledger) || '|'
			|| coalesce((SELECT string_agg(id || ': balance ' || balance || ', ledger ' || ledger, '; ')
				FROM (SELECT * FROM b WHERE balance <> ledger ORDER BY id LIMIT 10) t), '')});
	is($bad // 'error', '0|', "$label: every balance matches the transfers ledger")
	  or diag("$label: accounts off the ledger (count, first ten): " . ($bad // 'error'));
	if ($opt{require_acked})
	{
		is(sql("SELECT count(*) FROM acked WHERE id <= $acked_hi"), $acked_hi,
			"$label: all $acked_hi acknowledged commits are there");
	}
	my $a = sql("SELECT count(*), coalesce(max(id), 0) FROM acked") // '|';
	my ($nacked, $max) = split /\|/, $a;
	ok(defined $nacked && $nacked ne '' && $nacked == $max,
		"$label: acked ids have no holes (only a tail can be missing)")
	  or diag("acked count|max: $a");
	ok(defined $max && $max ne '' && $max <= $acked_hi + 1,
		"$label: acked has nothing beyond the one id in flight at the kill")
	  or diag("acked max $max, highest acknowledged $acked_hi");
	my $nv = sql("SELECT count(*) || ':' || coalesce(max(n)::text, '') FROM acked_noidx") // ':';
	my ($rows, $n) = split /:/, $nv, -1;
	$n //= '';
	if ($opt{require_acked})
	{
		ok($rows eq '1' && $n ne '' && $n >= $noidx_hi,
			"$label: the last acknowledged commit of an aether-only transaction ($noidx_hi) is there")
		  or diag("acked_noidx rows:value $nv; acknowledged $noidx_hi");
	}
	ok($rows eq '1' && $n ne '' && $n <= $acked_hi + 1,
		"$label: acked_noidx has nothing beyond the value in flight at the kill")
	  or diag("acked_noidx rows:value $nv; highest acknowledged $acked_hi");
	verify_tables($label, qw(accounts transfers ballast acked acked_noidx));
	return ($xfers, $max, $n);
}

# ------------------------------------------------------------------ schema
my $t0 = time;
is( sql(
		qq{
	CREATE EXTENSION aether;
	CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL) USING aether;
	INSERT INTO accounts SELECT g, $START_BALANCE FROM generate_series(1, $NACCOUNTS) g;
	CREATE TABLE transfers (id bigserial PRIMARY KEY, src int NOT NULL, dst int NOT NULL,
		amount int NOT NULL, note text) USING aether;
	CREATE INDEX transfers_src ON transfers (src);
	INSERT INTO transfers (src, dst, amount, note)
		SELECT 1 + g % $NACCOUNTS, 1 + (g * 7) % $NACCOUNTS, 0, 'initial ' || g
		FROM generate_series(1, $INITIAL_XFERS) g;
	CREATE TABLE ballast (id int PRIMARY KEY, v bigint NOT NULL, pad text) USING aether;
	INSERT INTO ballast SELECT g, 0, repeat(md5(g::text), 3)
		FROM generate_series(1, $NBALLAST) g;
	CREATE TABLE acked (id int PRIMARY KEY) USING aether;
	CREATE TABLE acked_noidx (n bigint NOT NULL) USING aether;
	INSERT INTO acked_noidx VALUES (0);
	SELECT 'ok';}
	),
	'ok',
	'schema and data loaded');
note sprintf("load took %.1f s", time - $t0);
cmp_ok(sql("SELECT pages FROM aether_verify('ballast')") // 0,
	'>', 2048, 'the ballast table is larger than the buffer pool (evictions)');
check_ledger('before any crash', require_acked => 1);

# ------------------------------------------------- load, kill -9, start
my ($xfers_before) = $INITIAL_XFERS;
my $next_id = 1;
my $cycle = 0;

sub crash_cycle
{
	my ($label, $seconds, %opt) = @_;
	my %env = $opt{async} ? (PGOPTIONS => '-c synchronous_commit=off') : ();
	my $evict0 = sql("SELECT evictions, writes FROM aether_stats()") // '?';
	my $load = start_load(%env);
	my $acked_s = start_acked(%env);
	my $acked = run_acked_until($acked_s, $next_id, time + $seconds);
	my $stats = sql("SELECT evictions, writes, wal_insert_lsn FROM aether_stats()", quiet => 1) // '?';
	ok(crash_server($node, $label), "$label: the server ran until the kill");
	finish_acked($acked_s);
	finish_load($load, $label);
	note "$label: acknowledged ids $next_id..$acked; aether evictions|writes before: $evict0, at the kill: $stats";
	cmp_ok($acked, '>=', $next_id, "$label: the acknowledged-commit client committed");
	$acked_hi = $acked;
	$noidx_hi = $acked unless $opt{async};
	start_after($label) or return 0;
	my ($xfers, $max, $n) = check_ledger($label, require_acked => !$opt{async});
	if ($opt{async})
	{
		# only a tail may be missing; later checks count from what survived
		$acked_hi = $max if defined $max && $max ne '' && $max < $acked_hi;
		$noidx_hi = $n if defined $n && $n ne '';
	}
	# (with synchronous_commit = off, all of a short load may be lost)
	cmp_ok($xfers // 0, '>', $xfers_before,
		"$label: transfers committed during the load survived (some)")
	  unless $opt{async};
	$xfers_before = $xfers if defined $xfers;
	$next_id = (defined $max && $max ne '' ? $max : $acked_hi) + 1;
	return 1;
}

for my $s (@KILL_AFTER)
{
	$cycle++;
	last unless crash_cycle("cycle $cycle (kill after $s s)", $s);
}

# synchronous_commit = off: the tail may be lost, but what is there is
# consistent (balances, atomicity, indexes, no holes in acked).
crash_cycle('synchronous_commit = off', 4.0, async => 1) if $server_up;

# ------------------------------------------------- an aether-only commit
# A transaction that changes only aether rows (no index entry, so no
# PostgreSQL WAL record before its commit record), killed right after its
# COMMIT returned: PostgreSQL must know it as committed after the restart.
# PostgreSQL flushes the commit record at COMMIT only if the transaction
# wrote WAL itself; otherwise the commit record waits for the WAL writer
# (asynchronous commit) unless Aether sees to it. In the load cycles other
# clients' commits flush it along; here nothing else runs, and the WAL
# writer is made to wait 10 s. (An asynchronous commit to a heap table
# first keeps the WAL writer out of hibernation: a hibernating WAL writer is
# woken by any commit and would flush at once.)
SKIP:
{
	skip 'the server is down', 1 unless $server_up;
	sql(q{CREATE TABLE only_aether (n bigint NOT NULL) USING aether;
		INSERT INTO only_aether VALUES (0);
		CREATE TABLE wal_nudge (i int) USING heap;
		CHECKPOINT;});
	sql("ALTER SYSTEM SET wal_writer_delay = '10s'; SELECT pg_reload_conf();");
	usleep(300_000);
	sql(q{SET synchronous_commit = off; INSERT INTO wal_nudge VALUES (1);});
	usleep(300_000);
	my $xid = sql(q{BEGIN; UPDATE only_aether SET n = n + 1; SELECT txid_current(); COMMIT;});
	like($xid // '', qr/^\d+$/, 'aether-only commit: committed');
	crash_server($node, 'aether-only commit') or last;
	start_after('aether-only commit') or last;
	is(sql("SELECT txid_status($xid)"), 'committed',
		'aether-only commit: PostgreSQL knows the transaction as committed after the crash');
	is(sql("SELECT n FROM only_aether"), '1', 'aether-only commit: its change is there');
	sql("ALTER SYSTEM RESET wal_writer_delay; SELECT pg_reload_conf();");
}

# ------------------------------------------------- prepared transactions
SKIP:
{
	skip 'the server is down', 1 unless $server_up;
	is( sql(
			q{
		CREATE TABLE prep (id int PRIMARY KEY, v text NOT NULL) USING aether;
		INSERT INTO prep SELECT g, 'base' FROM generate_series(1, 1000) g;
		BEGIN;
		INSERT INTO prep SELECT g, 'p1 new' FROM generate_series(1001, 1100) g;
		UPDATE prep SET v = 'p1 upd' WHERE id BETWEEN 1 AND 10;
		DELETE FROM prep WHERE id = 50;
		PREPARE TRANSACTION 'p1';
		BEGIN;
		INSERT INTO prep SELECT g, 'p2 new' FROM generate_series(2001, 2100) g;
		UPDATE prep SET v = 'p2 upd' WHERE id BETWEEN 11 AND 20;
		DELETE FROM prep WHERE id = 60;
		PREPARE TRANSACTION 'p2';
		SELECT 'ok';}
		),
		'ok',
		'two transactions prepared on aether rows');
	my $prep_q = q{SELECT count(*), count(*) FILTER (WHERE v = 'base'),
		count(*) FILTER (WHERE v LIKE 'p1%'), count(*) FILTER (WHERE v LIKE 'p2%'),
		count(*) FILTER (WHERE id IN (50, 60)) FROM prep};
	is(sql($prep_q), '1000|1000|0|0|2', 'prepared changes are invisible before the crash');
	crash_server($node, 'prepared') or last;
	start_after('prepared') or last;
	is(sql("SELECT string_agg(gid, ',' ORDER BY gid) FROM pg_prepared_xacts"), 'p1,p2',
		'prepared: both transactions are still prepared after the crash');
	is(sql($prep_q), '1000|1000|0|0|2',
		'prepared: their changes are still invisible after the crash');
	like(sql_error("SET lock_timeout = '1s'; UPDATE prep SET v = 'other' WHERE id = 5") // 'succeeded',
		qr/lock timeout/, 'prepared: a row updated by p1 is still locked by it');
	ok(defined sql("COMMIT PREPARED 'p1'"), 'prepared: COMMIT PREPARED p1 after the crash');
	ok(defined sql("ROLLBACK PREPARED 'p2'"), 'prepared: ROLLBACK PREPARED p2 after the crash');
	my $expect = '1099|989|110|0|1';
	is(sql($prep_q), $expect,
		'prepared: p1 inserted, updated and deleted; p2 left nothing');
	scans_agree('prepared', 'prep', 'prep_pkey', 'id > 0', 'count(*), sum(length(v))');
	verify_tables('prepared', 'prep');
	ok(defined sql("UPDATE prep SET v = 'after' WHERE id BETWEEN 11 AND 20"),
		'prepared: rows p2 had updated can be updated again');
	# and the resolution itself survives another crash
	crash_server($node, 'prepared, resolved') or last;
	start_after('prepared, resolved') or last;
	is(sql($prep_q), '1099|979|110|0|1', 'prepared, resolved: all of it survives another crash');
	is(sql("SELECT count(*) FROM pg_prepared_xacts"), '0', 'prepared, resolved: nothing prepared');
	verify_tables('prepared, resolved', 'prep');
}

# ------------------------------------------------- DROP and TRUNCATE, then kill
SKIP:
{
	skip 'the server is down', 1 unless $server_up;
	is( sql(
			q{
		CREATE TABLE gone (id int PRIMARY KEY, v text) USING aether;
		INSERT INTO gone SELECT g, repeat('g', 100) FROM generate_series(1, 30000) g;
		CREATE TABLE emptied (id int PRIMARY KEY, v text) USING aether;
		CREATE INDEX emptied_v ON emptied (v);
		INSERT INTO emptied SELECT g, 'e' || g FROM generate_series(1, 30000) g;
		CREATE TABLE kept (id int PRIMARY KEY, v text) USING aether;
		INSERT INTO kept SELECT g, 'k' || g FROM generate_series(1, 30000) g;
		SELECT 'ok';}
		),
		'ok',
		'drop/truncate: tables loaded');
	my $kept = sql("SELECT count(*), sum(id), md5(string_agg(v, ',' ORDER BY id)) FROM kept");
	# changes after the load, so the last checkpoint is older than some of them
	ok(defined sql(q{UPDATE gone SET v = 'updated' WHERE id % 3 = 0;
		UPDATE emptied SET v = 'updated' WHERE id % 3 = 0;
		DELETE FROM kept WHERE id % 100 = 0;
		INSERT INTO kept SELECT g, 'k' || g FROM generate_series(30001, 31000) g;}),
		'drop/truncate: tables changed');
	$kept = sql("SELECT count(*), sum(id), md5(string_agg(v, ',' ORDER BY id)) FROM kept");
	ok(defined sql(q{DROP TABLE gone; TRUNCATE emptied;}), 'drop/truncate: DROP and TRUNCATE');
	crash_server($node, 'drop/truncate') or last;
	start_after('drop/truncate') or last;
	is(sql("SELECT count(*) FROM pg_class WHERE relname = 'gone'"), '0',
		'drop/truncate: the dropped table is gone');
	is(sql("SELECT count(*) FROM emptied"), '0', 'drop/truncate: the truncated table is empty');
	verify_tables('drop/truncate', 'emptied', 'kept');
	is(sql("SELECT count(*), sum(id), md5(string_agg(v, ',' ORDER BY id)) FROM kept"),
		$kept, 'drop/truncate: the other table is intact');
	scans_agree('drop/truncate', 'kept', 'kept_pkey', 'id > 0', 'count(*), sum(length(v))');
	ok(defined sql(q{INSERT INTO emptied SELECT g, 'again' || g FROM generate_series(1, 5000) g}),
		'drop/truncate: the truncated table takes inserts');
	ok(defined sql(q{CREATE TABLE gone (id int PRIMARY KEY, v text) USING aether;
		INSERT INTO gone SELECT g, 'new' FROM generate_series(1, 100) g;}),
		'drop/truncate: the dropped name can be reused');
	scans_agree('drop/truncate', 'emptied', 'emptied_v', "v >= ''", 'count(*), sum(id)');
	is(sql("SELECT count(*), min(v), max(v) FROM gone"), '100|new|new',
		'drop/truncate: the new table of the dropped name has only its own rows');
	check_ledger('drop/truncate: ledger', require_acked => 1);
}

# ----------------------------- CREATE TABLE + load + kill, no checkpoint between
SKIP:
{
	skip 'the server is down', 1 unless $server_up;
	# Push Aether's next timed checkpoint out of the way (if it can be reloaded).
	sql("ALTER SYSTEM SET aether.checkpoint_timeout = 3600; SELECT pg_reload_conf();",
		quiet => 1);
	is( sql(
			q{
		CREATE TABLE fresh (id int PRIMARY KEY, v text) USING aether;
		INSERT INTO fresh SELECT g, 'fresh ' || g FROM generate_series(1, 20000) g;
		BEGIN;
		CREATE TABLE fresh2 (id int PRIMARY KEY, v text) USING aether;
		CREATE INDEX fresh2_v ON fresh2 (v);
		INSERT INTO fresh2 SELECT g, 'fresh2 ' || g FROM generate_series(1, 20000) g;
		COMMIT;
		CREATE TABLE fresh3 USING aether AS
			SELECT g AS id, repeat('x', g % 500) AS v FROM generate_series(1, 5000) g;
		SELECT 'ok';}
		),
		'ok',
		'new tables: created and loaded');
	crash_server($node, 'new tables') or last;
	start_after('new tables') or last;
	is(sql("SELECT count(*), sum(id) FROM fresh"), '20000|200010000',
		'new tables: rows of a table created just before the crash are there');
	is(sql("SELECT count(*), sum(id) FROM fresh2"), '20000|200010000',
		'new tables: rows of a table created and loaded in one transaction are there');
	is(sql("SELECT count(*), sum(length(v)) FROM fresh3"),
		sql("SELECT count(*), sum(g % 500) FROM generate_series(1, 5000) g"),
		'new tables: CREATE TABLE AS rows are there');
	scans_agree('new tables', 'fresh', 'fresh_pkey', 'id > 0', 'count(*), sum(id)');
	scans_agree('new tables', 'fresh2', 'fresh2_v', "v >= ''", 'count(*), sum(id)');
	verify_tables('new tables', qw(fresh fresh2 fresh3));
	sql("ALTER SYSTEM RESET aether.checkpoint_timeout; SELECT pg_reload_conf();", quiet => 1);
}

# ------------------------------------------------------ crash during recovery
# A crash in the middle of Aether's redo is just another crash: the control
# file has not moved, the next start replays again from the same point.
SKIP:
{
	skip 'the server is down', 1 unless $server_up;
	sql("ALTER SYSTEM SET aether.checkpoint_timeout = 3600; SELECT pg_reload_conf();",
		quiet => 1);
	sql("SELECT aether_checkpoint()", quiet => 1);
	is( sql(
			q{
		CREATE TABLE replayed (id int PRIMARY KEY, v text) USING aether;
		INSERT INTO replayed SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, 400000) g;
		UPDATE replayed SET v = 'updated' WHERE id % 7 = 0;
		SELECT 'ok';}
		),
		'ok',
		'during recovery: a large committed load after the last checkpoint');
	my $expected = sql("SELECT count(*), sum(id), sum(length(v)) FROM replayed");
	crash_server($node, 'during recovery, first crash') or last;
	my $offset = -s $node->logfile;
	$node->start(fail_ok => 1) or last;
	# kill again as soon as Aether's redo has begun
	my $tail = wait_log($node, qr/aether: recovery starting/, $offset, 60, 5_000);
	my $mid = $tail !~ /aether: redo done/;
	crash_server($node, 'during recovery, second crash') or last;
	note $mid ? 'during recovery: killed in the middle of the redo'
	  : 'during recovery: the redo finished before the kill (the test still checks the restart)';
	start_after('during recovery') or last;
	is(sql("SELECT count(*), sum(id), sum(length(v)) FROM replayed"), $expected,
		'during recovery: everything committed is there after the second recovery');
	scans_agree('during recovery', 'replayed', 'replayed_pkey', 'id > 0', 'count(*), sum(id)');
	verify_tables('during recovery', qw(replayed));
	sql("ALTER SYSTEM RESET aether.checkpoint_timeout; SELECT pg_reload_conf();", quiet => 1);
}

# ------------------------------------------------------------------ the end
$node->stop('fast', fail_ok => 1) if $server_up;
my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|terminated by signal/,
	'no process crashed other than by the test\'s kills');
note sprintf("total time %.0f s", time - $^T);

done_testing();
