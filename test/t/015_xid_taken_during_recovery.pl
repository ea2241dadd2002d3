# Client connections wait at the gate until Aether's recovery has run, but
# other processes do not: here a subscription's apply worker, which applies
# a change while Aether's recovery still runs (aether.debug_recovery_delay)
# and so takes the next transaction id PostgreSQL's recovery left. That xid
# is the one of a transaction that was in flight at the crash and whose
# rows reached Aether's log only (PostgreSQL's WAL never saw the xid).
# Committing the apply worker's transaction would make those rows visible;
# the commit must instead wait for Aether's recovery and then be refused
# (the apply worker retries with a new xid and the change arrives).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use AetherTest;

my $pub = PostgreSQL::Test::Cluster->new('pub');
$pub->init(allows_streaming => 'logical');
$pub->start;
$pub->safe_psql('postgres',
	'CREATE TABLE s (id int PRIMARY KEY, v text); CREATE PUBLICATION p FOR TABLE s');

my $sub = AetherTest::aether_node(
	'sub', q{
autovacuum = off
checkpoint_timeout = 1h
aether.checkpoint_timeout = 3600
wal_retrieve_retry_interval = 200ms
});
$sub->safe_psql(
	'postgres', q{
CREATE TABLE s (id int PRIMARY KEY, v text);
-- no PostgreSQL index: an insert into t writes no WAL, only Aether's log
CREATE TABLE t (i int) USING aether;
CREATE TABLE h (i int);
});
my $connstr = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('postgres', "CREATE SUBSCRIPTION sb CONNECTION '$connstr' PUBLICATION p");
$sub->wait_for_subscription_sync($pub, 'sb');
$pub->safe_psql('postgres', "INSERT INTO s VALUES (1, 'before')");
$sub->poll_query_until('postgres', 'SELECT count(*) = 1 FROM s')
  or die 'the first change did not arrive';

# A heap commit makes the xid just below durable in PostgreSQL's WAL; then
# the in-flight transaction takes the next one, which only Aether's log sees.
$sub->safe_psql('postgres', 'INSERT INTO h VALUES (1)');
my $bg = $sub->background_psql('postgres');
$bg->query_safe('BEGIN; INSERT INTO t SELECT generate_series(1, 100)');
my $xid = $bg->query_safe('SELECT txid_current()');
chomp $xid;
ok($xid =~ /^\d+$/, "the in-flight transaction has xid $xid");
# the worker syncs the log within a second: the in-flight rows are durable
$sub->poll_query_until('postgres',
	'SELECT flushed_lsn >= insert_lsn FROM pg_stat_aether_wal')
  or die "Aether's log was not flushed";

AetherTest::crash_server($sub, 'crash with an in-flight transaction', must_run => 1);
eval { $bg->quit };

$sub->append_conf('postgresql.conf', 'aether.debug_recovery_delay = 3s');
my $off = -s $sub->logfile;
$sub->start;
# the apply worker applies this while Aether's recovery is delayed
$pub->safe_psql('postgres', "INSERT INTO s VALUES (2, 'during recovery')");

my $log = AetherTest::wait_log($sub, qr/aether: redo done|aether: clean shutdown/, $off, 60);
like($log, qr/aether: redo done/, 'Aether recovered after the delay');
$sub->poll_query_until('postgres', 'SELECT count(*) = 2 FROM s')
  or die 'the change applied during recovery did not arrive';
pass('the change applied during recovery arrived');
$log = slurp_file($sub->logfile, $off);
like(
	$log,
	qr/aether: transaction id $xid was taken while Aether's recovery ran and belongs to a transaction in flight at the crash/,
	"the apply worker's commit with the in-flight xid $xid was refused");
# the rows of the in-flight transaction stay invisible, and are removed
is($sub->safe_psql('postgres', 'SELECT count(*) FROM t'),
	'0', 'no row of the transaction in flight at the crash is visible');
is($sub->safe_psql('postgres', "SELECT v FROM s WHERE id = 2"),
	'during recovery', 'the subscriber has the change');
unlike($log, qr/did not commit/, 'no commit restored from the log was lost');

$sub->stop;
$pub->stop;
done_testing();
