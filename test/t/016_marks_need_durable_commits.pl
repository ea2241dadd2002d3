# A version may be marked committed (HEAP_XMIN_COMMITTED) or frozen only
# once its inserter's commit is durable (aetam_xmin_hintable; the freeze in
# aether_ddl.c prune_versions): the mark is written to Aether's log, which is
# not ordered with an asynchronous commit's record in PostgreSQL's WAL.
#
# With the WAL writer stopped (SIGSTOP), an asynchronous commit's record
# stays in PostgreSQL's WAL buffers while the background worker syncs
# Aether's log. VACUUM FREEZE (also asynchronous) must then neither freeze
# nor mark the version. A kill -9 loses that commit; after recovery the row
# must be invisible (a frozen version outlived the lost commit before). A
# second asynchronous commit, made durable by a synchronous heap commit,
# is frozen by the same VACUUM FREEZE and survives the crash.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use AetherTest;

my $node = aether_node('marks', $NO_BACKGROUND_CHECKPOINTS);
$node->safe_psql(
	'postgres', q{
CREATE TABLE durable_first (id int, v text) USING aether;
CREATE TABLE async_only (id int, v text) USING aether;
CREATE TABLE h (id int);
});

# D: an asynchronous commit, then a synchronous heap commit flushes past it
$node->safe_psql('postgres',
	"SET synchronous_commit = off; INSERT INTO durable_first VALUES (1, 'durable')");
$node->safe_psql('postgres', 'INSERT INTO h VALUES (1)');
# clog keeps one commit LSN per 32 xids: put A's xid in another group than
# D's. (Those transactions write nothing, so their commits are asynchronous:
# a second heap commit flushes them too.)
$node->safe_psql('postgres', join('', map { "SELECT txid_current();\n" } 1 .. 40));
$node->safe_psql('postgres', 'INSERT INTO h VALUES (2)');

my $walwriter = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'");
ok($walwriter =~ /^\d+$/, 'found the WAL writer');
kill 'STOP', $walwriter;
my $flushed = $node->safe_psql('postgres', 'SELECT pg_current_wal_flush_lsn()');

# A: asynchronous, its commit record unflushed while the WAL writer sleeps
$node->safe_psql('postgres',
	"SET synchronous_commit = off; INSERT INTO async_only VALUES (2, 'async')");
# Aether's worker syncs its log for asynchronous commits every 200 ms
usleep(600_000);
$node->safe_psql('postgres',
	'SET synchronous_commit = off; VACUUM FREEZE durable_first; VACUUM FREEZE async_only');

is($node->safe_psql('postgres', "SELECT pg_current_wal_flush_lsn() = '$flushed'::pg_lsn"),
	't', "PostgreSQL's WAL was not flushed after A's commit");
is( $node->safe_psql(
		'postgres',
		"SELECT (SELECT unmarked FROM aether_versions('durable_first')) || '/' ||
		        (SELECT unmarked FROM aether_versions('async_only'))"),
	'0/1',
	'VACUUM FREEZE froze the durable commit\'s version, not the unflushed one\'s');
is( $node->safe_psql(
		'postgres',
		'SELECT (SELECT count(*) FROM durable_first) || \'/\' || (SELECT count(*) FROM async_only)'),
	'1/1',
	'before the crash both rows are visible');

# the VACUUMs were asynchronous too: wait until the worker has synced
# Aether's log past them, so that the freeze survives the crash
my $end = $node->safe_psql('postgres', 'SELECT insert_lsn FROM pg_stat_aether_wal');
ok( $node->poll_query_until(
		'postgres', "SELECT flushed_lsn >= $end FROM pg_stat_aether_wal"),
	"Aether's log is durable past the VACUUMs");
crash_server($node, 'crash with an unflushed asynchronous commit', must_run => 1);
$node->start;
# (connections wait until Aether's recovery is done)
is( $node->safe_psql(
		'postgres',
		'SELECT (SELECT count(*) FROM durable_first) || \'/\' || (SELECT count(*) FROM async_only)'),
	'1/0', 'after the crash: the durable commit\'s row is there, the lost commit\'s row is not');
is($node->safe_psql('postgres', "SELECT unmarked FROM aether_versions('durable_first')"),
	'0', 'the frozen version stayed frozen');

$node->stop;
done_testing();
