# A ledger on aether survives clean restarts: contents, B+tree structure,
# the row id counter (new rows never reuse a row id, not even one of a row
# deleted before the restart) and the indexes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('restart');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'aether'");
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION aether;
	CREATE TABLE accounts (
		id int PRIMARY KEY,
		name text NOT NULL,
		balance numeric(14,2) NOT NULL DEFAULT 0
	) USING aether;
	CREATE TABLE transfers (
		id bigint PRIMARY KEY,
		debit_acct int NOT NULL,
		credit_acct int NOT NULL,
		amount numeric(12,2) NOT NULL,
		memo text
	) USING aether;
	CREATE INDEX transfers_debit ON transfers (debit_acct);
	INSERT INTO accounts (id, name)
		SELECT g, 'account ' || g FROM generate_series(1, 1000) g;
	INSERT INTO transfers
		SELECT g, 1 + (g * 7919) % 1000, 1 + (g * 104729) % 1000,
			((g * 37) % 100000) / 100.0, 'transfer ' || g
		FROM generate_series(1::bigint, 200000) g;
	UPDATE accounts a SET balance = s.bal
		FROM (SELECT acct, sum(amt) AS bal FROM (
				SELECT debit_acct AS acct, -amount AS amt FROM transfers
				UNION ALL
				SELECT credit_acct, amount FROM transfers) x
			GROUP BY acct) s
		WHERE a.id = s.acct;
	-- keeps the row id (no indexed column changes)
	UPDATE transfers SET memo = memo || ' (corrected)', amount = amount + 1
		WHERE id % 50 = 0;
	-- changes an indexed column: a new row id
	UPDATE transfers SET debit_acct = 1001 - debit_acct WHERE id % 997 = 0;
	DELETE FROM transfers WHERE id % 13 = 0;
	-- the last rows inserted, so the highest row ids are unused at restart
	DELETE FROM transfers WHERE id > 199000;
});

# Everything a restart must keep, as one line.
my $content_q = q{
	SELECT (SELECT count(*) FROM accounts),
		(SELECT sum(balance) FROM accounts),
		(SELECT md5(string_agg(id || ':' || name || ':' || balance, ',' ORDER BY id))
			FROM accounts),
		(SELECT count(*) FROM transfers),
		(SELECT sum(amount) FROM transfers),
		(SELECT count(*) FROM transfers WHERE memo LIKE '%(corrected)'),
		(SELECT md5(string_agg(id || ':' || debit_acct || ':' || credit_acct || ':'
				|| amount || ':' || coalesce(memo, '-'), ',' ORDER BY id))
			FROM transfers)};
my $verify_q = q{
	SELECT 'accounts', * FROM aether_verify('accounts')
	UNION ALL
	SELECT 'transfers', * FROM aether_verify('transfers')};

my $content = $node->safe_psql('postgres', $content_q);
my @c = split /\|/, $content;
# The same arithmetic in Perl: rows left and rows corrected.
my @left = grep { $_ % 13 != 0 && $_ <= 199000 } 1 .. 200000;
my $nleft = scalar @left;
my $ncorrected = scalar grep { $_ % 50 == 0 } @left;
is_deeply([ @c[ 0, 3, 5 ] ], [ 1000, $nleft, $ncorrected ],
	'ledger loaded, updated and deleted as planned')
  or diag "counts: $content";
# The balances sum to zero: a double-entry check of the UPDATE ... FROM.
is($c[1], '0.00', 'balances sum to zero');

my $verify = $node->safe_psql('postgres', $verify_q);
my $max_tid = $node->safe_psql('postgres', 'SELECT max(ctid) FROM transfers');

# Index and sequential scans agree on every access path the test uses.
sub index_agrees
{
	my ($label) = @_;
	my $where = 'debit_acct IN (1, 7, 500, 999)';
	my $agg   = "count(*), sum(amount), md5(string_agg(id::text, ',' ORDER BY id))";
	my $plan  = $node->safe_psql(
		'postgres', qq{SET enable_seqscan = off; SET enable_bitmapscan = off;
		EXPLAIN (COSTS OFF) SELECT $agg FROM transfers WHERE $where});
	like($plan, qr/Index Scan using transfers_debit/,
		"$label: the index scan plan is used");
	my $idx = $node->safe_psql(
		'postgres', qq{SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT $agg FROM transfers WHERE $where});
	my $seq = $node->safe_psql(
		'postgres', qq{SET enable_indexscan = off; SET enable_bitmapscan = off;
		SET enable_indexonlyscan = off;
		SELECT $agg FROM transfers WHERE $where});
	is($idx, $seq, "$label: index scan and sequential scan agree");
	my $pkq = 'SELECT count(*) FROM transfers WHERE id BETWEEN 1 AND 1000000';
	like($node->safe_psql('postgres', qq{SET enable_seqscan = off;
		SET enable_bitmapscan = off; EXPLAIN (COSTS OFF) $pkq}),
		qr/Index (Only )?Scan using transfers_pkey/,
		"$label: the primary key plan is used");
	my $pk = $node->safe_psql('postgres', qq{SET enable_seqscan = off;
		SET enable_bitmapscan = off; $pkq});
	is($pk, $node->safe_psql('postgres',
			'SET enable_indexscan = off; SET enable_bitmapscan = off;
			SELECT count(*) FROM transfers'),
		"$label: primary key range count equals the sequential count");
}
index_agrees('before restart');

sub check_after
{
	my ($label) = @_;
	is($node->safe_psql('postgres', $content_q), $content,
		"$label: contents identical");
	is($node->safe_psql('postgres', $verify_q), $verify,
		"$label: aether_verify passes with the same rows, height, pages, free pages");
}

# 1. a clean restart (smart shutdown by default in restart)
$node->restart;
check_after('after restart');

# New rows after the restart get fresh row ids: above every row id used
# before, including those of the rows deleted just before the restart.
$node->safe_psql(
	'postgres', q{
	INSERT INTO transfers
		SELECT g, 1 + (g * 7919) % 1000, 1 + (g * 104729) % 1000, 1.00, 'after restart'
		FROM generate_series(300001::bigint, 310000) g});
is( $node->safe_psql(
		'postgres',
		"SELECT min(ctid) > '$max_tid'::tid FROM transfers WHERE id > 300000"),
	't',
	'rows inserted after the restart have row ids above all earlier ones');
is( $node->safe_psql(
		'postgres', 'SELECT count(*) = count(DISTINCT ctid) FROM transfers'),
	't', 'no row id is duplicated');
index_agrees('after restart and inserts');
is( $node->safe_psql(
		'postgres', q{SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT count(*) FROM transfers WHERE id > 199000}),
	'10000', 'the primary key finds exactly the new rows, none of the deleted ones');

# 2. fast shutdown, then start
$content = $node->safe_psql('postgres', $content_q);
$verify  = $node->safe_psql('postgres', $verify_q);
$max_tid = $node->safe_psql('postgres', 'SELECT max(ctid) FROM transfers');
$node->stop('fast');
$node->start;
check_after('after fast stop and start');

$node->safe_psql(
	'postgres', q{
	INSERT INTO transfers
		SELECT g, 1 + (g * 7919) % 1000, 1 + (g * 104729) % 1000, 2.00, 'after fast stop'
		FROM generate_series(310001::bigint, 315000) g;
	UPDATE transfers SET amount = amount + 3 WHERE id % 1000 = 0;
	INSERT INTO accounts (id, name) VALUES (1001, 'account 1001');
});
is( $node->safe_psql(
		'postgres',
		"SELECT min(ctid) > '$max_tid'::tid FROM transfers WHERE id > 310000"),
	't',
	'rows inserted after the fast stop have row ids above all earlier ones');
is( $node->safe_psql(
		'postgres', 'SELECT count(*) = count(DISTINCT ctid) FROM transfers'),
	't', 'no row id is duplicated after the second restart');
is( $node->safe_psql(
		'postgres', 'SELECT count(*) = count(DISTINCT ctid) FROM accounts'),
	't', 'no row id is duplicated in accounts');
is( $node->safe_psql(
		'postgres', q{SELECT count(*), count(*) FILTER (WHERE memo = 'after fast stop')
		FROM transfers}),
	($nleft + 10000 + 5000) . '|5000',
	'row counts after more inserts');
index_agrees('after fast stop and inserts');
$node->safe_psql('postgres', $verify_q);    # dies if aether_verify fails
pass('aether_verify passes after the inserts');

# pg_terminate_backend of Aether's worker: the postmaster starts it again
# (it exits with code 1), and the new one checkpoints at once, so the
# control file no longer says "shut down" while the server runs
my $worker_q =
  "SELECT pid FROM pg_stat_activity WHERE backend_type = 'aether background writer'";
my $old_worker = $node->safe_psql('postgres', $worker_q);
my $checkpoints = $node->safe_psql('postgres', 'SELECT checkpoints FROM pg_stat_aether_wal');
is( $node->safe_psql('postgres',
		"SELECT pg_terminate_backend($old_worker)"), 't', 'worker told to stop');
my $new_worker = '';
for (1 .. 300)
{
	$new_worker = $node->safe_psql('postgres', $worker_q);
	last if $new_worker =~ /^\d+$/ && $new_worker ne $old_worker;
	usleep(100_000);
}
ok($new_worker =~ /^\d+$/ && $new_worker ne $old_worker,
	'the postmaster started Aether\'s worker again');
ok( $node->poll_query_until('postgres',
		"SELECT checkpoints > $checkpoints + 1 FROM pg_stat_aether_wal"),
	'the new worker took a checkpoint (after the stopped one\'s shutdown checkpoint)');
$node->safe_psql('postgres', "INSERT INTO accounts (id, name) VALUES (1002, 'after worker restart')");
is($node->safe_psql('postgres', 'SELECT count(*) FROM accounts WHERE id = 1002'),
	'1', 'the server works after the worker restart');

$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no process crashed');

done_testing();
