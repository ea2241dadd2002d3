# A row id must never be handed out twice, not even across a crash that
# loses the tail of Aether's log. PostgreSQL's index entries live in
# PostgreSQL's WAL, and the two logs are flushed independently: an in-flight
# insert's index entry can be durable (another transaction's commit flushed
# PostgreSQL's WAL) while Aether's log records of its row and of the row-id
# reservation are lost. If recovery then handed the same row id to a new row,
# the stale entry would point at it, and an index scan for the lost key would
# return the new row (a btree scan does not recheck the key).
#
# Made deterministic: Aether's background writer is stopped (SIGSTOP), so
# nothing but a commit flushes Aether's log; the test checks that the
# in-flight row's records were not flushed, and that its index entry did
# survive the crash (pageinspect), before it checks what matters. A clean
# restart between the crash and the next insert must not make the engine
# forget that ids may have been lost.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use AetherTest;

my $node = AetherTest::aether_node('rowid', $NO_BACKGROUND_CHECKPOINTS);
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION pageinspect;
CREATE TABLE t (id int PRIMARY KEY, v text) USING aether;
CREATE TABLE h (i int);
INSERT INTO t SELECT g, 'before' FROM generate_series(1, 10) g;
});

my $worker = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'aether background writer'");
ok($worker =~ /^\d+$/, 'found the aether background writer');
kill 'STOP', $worker;

# the in-flight insert: its row id is under the reserved limit, so nothing
# flushes Aether's log for it
my $bg = $node->background_psql('postgres');
$bg->query_safe("BEGIN; INSERT INTO t VALUES (1000, 'in flight')");
my $lost_ctid = $bg->query_safe("SELECT ctid FROM t WHERE id = 1000");
chomp $lost_ctid;
like($lost_ctid, qr/^\(\d+,\d+\)$/, "the in-flight row is at $lost_ctid");

# a heap-only commit flushes PostgreSQL's WAL, the index entry with it
$node->safe_psql('postgres', 'INSERT INTO h VALUES (1)');
my $lsns = $node->safe_psql('postgres',
	'SELECT flushed_lsn < insert_lsn FROM pg_stat_aether_wal');
is($lsns, 't', "Aether's log holding the in-flight row is not flushed");

AetherTest::crash_server($node, 'crash with an in-flight insert', must_run => 1);
eval { $bg->quit };
$node->start;

is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM bt_page_items('t_pkey', 1) WHERE ctid = '$lost_ctid'"),
	'1',
	"the in-flight row's index entry survived the crash");

# a clean restart before anything is inserted must not forget the crash
$node->restart;

# new rows after the crash (and the clean restart) get fresh row ids
$node->safe_psql('postgres',
	"INSERT INTO t SELECT g, 'after' FROM generate_series(2000, 2099) g");
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM t WHERE ctid = '$lost_ctid'"),
	'0',
	'no row reuses the lost row id');

my $by_index = q{SET enable_seqscan = off; SET enable_bitmapscan = off;
SELECT count(*), coalesce(sum(id), 0) FROM t WHERE id > 0};
my $by_seq = q{SET enable_indexscan = off; SET enable_bitmapscan = off;
SELECT count(*), coalesce(sum(id), 0) FROM t WHERE id > 0};
is($node->safe_psql('postgres', $by_index),
	$node->safe_psql('postgres', $by_seq),
	'an index scan and a sequential scan agree');
is( $node->safe_psql(
		'postgres',
		"SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM t WHERE id = 1000"),
	'0',
	'an index scan for the lost key finds nothing');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), '110', 'committed rows are all there');

# and so on after a clean restart
$node->restart;
$node->safe_psql('postgres', "INSERT INTO t VALUES (3000, 'after restart')");
is( $node->safe_psql(
		'postgres', "SELECT count(*) FROM t WHERE ctid = '$lost_ctid'"),
	'0',
	'no row reuses the lost row id after a clean restart either');
is($node->safe_psql('postgres', $by_index),
	$node->safe_psql('postgres', $by_seq),
	'index and sequential scans still agree');

$node->stop;
done_testing();
