# Commits of transactions that wrote only aether tables go through Aether's
# log alone (aether_commit.c): one log flush, and PostgreSQL's commit record
# is written asynchronously. A crash that loses those commit records from
# PostgreSQL's WAL must not lose the commits:
#   - X2's xid is below PostgreSQL's next xid after its recovery (a later
#     transaction Y's commit is durable): Aether's recovery marks X2 and its
#     released subtransaction committed in clog;
#   - X1's xid was never seen by PostgreSQL's recovery: the worker commits it
#     (and its subtransaction) when it moves the next xid past the log's note.
# Rolled-back and in-flight work stays invisible, a rolled-back savepoint's
# row stays gone (that transaction, X3, takes the general protocol), and a second crash right after recovery keeps everything
# (the restored commits are durable in PostgreSQL by then).
#
# The WAL writer is stopped (SIGSTOP) while the commits happen, so
# PostgreSQL's commit records of X1 and X2 are certainly not flushed; the
# test checks that too.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use AetherTest;

my $node = PostgreSQL::Test::Cluster->new('fastcommit');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'aether'
autovacuum = off
checkpoint_timeout = 1h
aether.checkpoint_timeout = 3600
aether.max_wal_size = 10GB
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION aether;
CREATE TABLE t (id int, v text) USING aether;
CREATE TABLE h (id int);
});

# a session that stays open: X2, then an in-flight transaction
my $bg = $node->background_psql('postgres');

# Stop (SIGSTOP) the WAL writer of the running server; returns its pid.
sub stop_walwriter
{
	my $pid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'");
	ok($pid =~ /^\d+$/, 'found the WAL writer');
	kill 'STOP', $pid;
	return $pid;
}

my $walwriter = stop_walwriter();

$bg->query_safe(
	q{BEGIN;
INSERT INTO t VALUES (2, 'x2');
SAVEPOINT s; INSERT INTO t VALUES (3, 'x2 released'); RELEASE s;});
my $x2 = $bg->query_safe('SELECT txid_current()');

# X3: a rolled-back savepoint writes an abort record to PostgreSQL's WAL, so
# this commit takes the general protocol (both logs flushed)
$node->safe_psql('postgres', q{BEGIN;
INSERT INTO t VALUES (5, 'x3');
SAVEPOINT s2; INSERT INTO t VALUES (4, 'x3 rolled back'); ROLLBACK TO s2;
COMMIT;});

# Y: a heap transaction with a later xid, committed and flushed
$node->safe_psql('postgres', 'INSERT INTO h VALUES (1)');
my $flushed_y = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');

my $x1 = $node->safe_psql(
	'postgres', q{BEGIN;
INSERT INTO t VALUES (10, 'x1');
SAVEPOINT a; INSERT INTO t VALUES (11, 'x1 released'); RELEASE a;
SELECT txid_current();
COMMIT;});
$bg->query_safe('COMMIT');
$node->safe_psql('postgres',
	"BEGIN; INSERT INTO t VALUES (20, 'rolled back'); ROLLBACK;");
$bg->query_safe("BEGIN; INSERT INTO t VALUES (30, 'in flight')");

is( $node->safe_psql(
		'postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'),
	'2,3,5,10,11',
	'before the crash: the committed rows');
is($node->safe_psql('postgres',
		"SELECT pg_current_wal_flush_lsn() <= '$flushed_y'::pg_lsn"),
	't', "PostgreSQL's WAL is not flushed past Y: the commit records of X1 and X2 are not durable");
ok($x1 > $x2, "X1 ($x1) came after X2 ($x2)");

my $logpos = -s $node->logfile;
crash_server($node, 'crash', must_run => 1);
eval { $bg->quit };
$node->start;

is( $node->safe_psql(
		'postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'),
	'2,3,5,10,11',
	'after the crash: every commit is there, nothing rolled back or in flight');
is($node->safe_psql('postgres', "SELECT pg_xact_status('$x2'::xid8)"),
	'committed', 'X2 is committed in clog');
is($node->safe_psql('postgres', "SELECT pg_xact_status('$x1'::xid8)"),
	'committed', 'X1 is committed in clog');
my $log = slurp_file($node->logfile, $logpos);
like(
	$log,
	qr/restored 3 commits.*\n.*1 marked committed in clog, 2 committed as new transaction ids/,
	'recovery says what it restored (X2 in clog; X1 and its subtransaction as new xids)');

# a second crash right after recovery: the restored commits are durable in PostgreSQL
$logpos = -s $node->logfile;
crash_server($node, 'crash', must_run => 1);
$node->start;
is( $node->safe_psql(
		'postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'),
	'2,3,5,10,11',
	'after a second crash: the same rows');
is($node->safe_psql('postgres', "SELECT pg_xact_status('$x2'::xid8) || pg_xact_status('$x1'::xid8)"),
	'committedcommitted', 'X1 and X2 stay committed');
unlike(slurp_file($node->logfile, $logpos), qr/restored \d+ commits/,
	'nothing to restore the second time');

# A transaction that fails after its commit record reached Aether's log
# (aether.debug_fail_commit injects the error) must stay aborted after a
# crash: the error report logs its abort in Aether's log first.
$walwriter = stop_walwriter();
my ($fret, $fout, $ferr) = $node->psql('postgres',
	"SET aether.debug_fail_commit = on; INSERT INTO t VALUES (50, 'failed commit')");
like($ferr, qr/injected failure after the commit record/, 'the commit fails after its record is logged');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id = 50'), '0', 'its row is invisible');
$logpos = -s $node->logfile;
crash_server($node, 'crash after a failed commit', must_run => 1);
$node->start;
is($node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE id = 50'), '0',
	'after a crash the failed commit stays aborted');
unlike(slurp_file($node->logfile, $logpos), qr/restored \d+ commits/,
	'recovery restores nothing for it');

# A MultiXact of two shared lockers lives in PostgreSQL's WAL, the row that
# names it in Aether's log; a commit through Aether's log alone makes that
# row durable. After a crash the row must still be usable (PostgreSQL must
# know the MultiXact: aether_rowlock.c flushes its WAL first).
$walwriter = stop_walwriter();
my @lockers = map { $node->background_psql('postgres') } 1 .. 2;
$_->query_safe('BEGIN; SELECT id FROM t WHERE id = 10 FOR SHARE') for @lockers;
$node->safe_psql('postgres', "INSERT INTO t VALUES (12, 'after the lock')");
crash_server($node, 'crash with a shared-locked row', must_run => 1);
eval { $_->quit } for @lockers;
$node->start;
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"UPDATE t SET v = 'updated' WHERE id = 10 RETURNING v");
is($stdout, 'updated', 'the row a MultiXact locked before the crash can be updated')
  or diag($stderr);
is($node->safe_psql('postgres', 'SELECT aether_only_commits FROM pg_stat_aether_wal'),
	'1', 'pg_stat_aether_wal counts that UPDATE as a commit through Aether\'s log alone');
is( $node->safe_psql(
		'postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'),
	'2,3,5,10,11,12',
	'and the commit after the lock is there');

# A commit through Aether's log alone leaves PostgreSQL's commit record to be
# written asynchronously, which wakes the WAL writer whenever a completed WAL
# page is unflushed; so once per page of such commit records, a commit asks
# Aether's worker to flush PostgreSQL's WAL up to its last completed page
# (the commit itself does not fsync while it holds its row locks), and the
# WAL writer is not woken for nearly every commit. The worker counts those
# flushes in pg_wal_flushes_for_commits. With the WAL writer stopped and
# only such commits running (no asynchronous commit, whose record a later
# commit would flush itself), only the worker can move the flushed position.
$walwriter = stop_walwriter();
my ($commit_flushes, $fast_before, $flushed_before) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT pg_wal_flushes_for_commits, aether_only_commits, pg_current_wal_flush_lsn() FROM pg_stat_aether_wal');
$node->safe_psql('postgres',
	q{DO $$ BEGIN FOR i IN 1..500 LOOP INSERT INTO t VALUES (1000 + i, 'fast'); COMMIT; END LOOP; END $$});
is( $node->safe_psql(
		'postgres', "SELECT aether_only_commits - $fast_before >= 500 FROM pg_stat_aether_wal"),
	't', '500 commits went through Aether\'s log alone');
ok( $node->poll_query_until(
		'postgres', "SELECT pg_current_wal_flush_lsn() - '$flushed_before' >= 8192"),
	'their commit records\' completed WAL pages were flushed (the WAL writer is stopped)');
is( $node->safe_psql(
		'postgres',
		"SELECT pg_wal_flushes_for_commits > $commit_flushes FROM pg_stat_aether_wal"),
	't', 'by the worker, which counted the flush');
kill 'CONT', $walwriter;
$node->safe_psql('postgres', 'DELETE FROM t WHERE id > 1000');

# Checkpoints flush PostgreSQL's WAL up to its insert position. Right after
# pg_switch_wal that position lies past the header of a page no record has
# reached: flushing exactly there fails ("xlog flush request ... is not
# satisfied"), so the checkpoint must flush to the end of the last record.
# (Another process writing WAL in between would hide the bug, not fail.)
for my $i (1 .. 3)
{
	($ret, $stdout, $stderr) = $node->psql('postgres',
		'SELECT pg_switch_wal(); SELECT aether_checkpoint() > 0');
	is($ret, 0, "an Aether checkpoint right after pg_switch_wal succeeds ($i)")
	  or diag($stderr);
}

# An asynchronous commit (D, synchronous_commit = off) followed by a commit
# through Aether's log alone (F) that builds on D's row: PostgreSQL makes
# every earlier commit durable with a synchronous one, so F's commit must
# flush PostgreSQL's WAL past D's commit record first. Otherwise a crash
# would keep F and lose D (D's other row gone, F's update of D's row kept).
$walwriter = stop_walwriter();
my $d_end = $node->safe_psql('postgres', q{SET synchronous_commit = off;
BEGIN; INSERT INTO t VALUES (60, 'd'), (61, 'd'); COMMIT;
SELECT pg_current_wal_insert_lsn();});
is($node->safe_psql('postgres', "SELECT pg_current_wal_flush_lsn() < '$d_end'"),
	't', "D's commit record is not flushed (WAL writer stopped)");
$node->safe_psql('postgres', "UPDATE t SET v = 'f' WHERE id = 60");
is($node->safe_psql('postgres', "SELECT pg_current_wal_flush_lsn() >= '$d_end'"),
	't', "F's commit through Aether's log flushed PostgreSQL's WAL past D's commit");
crash_server($node, 'crash after an asynchronous commit and a later fast one', must_run => 1);
$node->start;
is($node->safe_psql('postgres', "SELECT string_agg(id || v, ',' ORDER BY id) FROM t WHERE id >= 60"),
	'60f,61d', 'after the crash both D and F are there');

$node->stop;
done_testing();
