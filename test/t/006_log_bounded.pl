# Aether's log stays bounded while the server runs: after each checkpoint
# the 16 MiB log segments before its redo point are removed, whether the
# checkpoint was due by time (aether.checkpoint_timeout) or by log volume
# (aether.max_wal_size). The worker creates the next segment ahead of the
# writers, zero-filled, unless aether.wal_init_zero is off.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('log_bounded');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'aether'
aether.checkpoint_timeout = 1
});
$node->start;

my $logdir = $node->data_dir . '/pg_aether';
sub segments { opendir(my $d, $logdir) or die $!; my @s = grep { /^log\./ } readdir($d); closedir($d); return scalar @s; }

$node->safe_psql('postgres', 'CREATE EXTENSION aether');
$node->safe_psql('postgres', 'CREATE TABLE t (id int, pad text) USING aether');
# about 100 MB of log: 400k rows of ~200 bytes, each logged
for my $i (0 .. 3)
{
	$node->safe_psql('postgres',
		"INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series($i * 100000 + 1, ($i + 1) * 100000) g");
}
my $wal_bytes = $node->safe_psql('postgres', 'SELECT wal_insert_lsn FROM aether_stats()');
cmp_ok($wal_bytes, '>', 64 * 1024 * 1024, 'the load wrote more than four log segments');

my $n = segments();
for (my $tries = 0; $tries < 100 && $n > 2; $tries++)
{
	usleep(100_000);
	$n = segments();
}
cmp_ok($n, '<=', 2, "old log segments are removed after checkpoints ($n left)");
is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), '400000', 'all rows are there');

# checkpoints by log volume: no timeout, 16 MB of log triggers one
$node->append_conf('postgresql.conf', "aether.checkpoint_timeout = 3600\naether.max_wal_size = 16\n");
$node->reload;
my $before = $node->safe_psql('postgres', 'SELECT checkpoints FROM pg_stat_aether_wal');
for my $i (4 .. 7)
{
	$node->safe_psql('postgres',
		"INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series($i * 100000 + 1, ($i + 1) * 100000) g");
}
$n = segments();
for (my $tries = 0; $tries < 100 && $n > 3; $tries++)
{
	usleep(100_000);
	$n = segments();
}
cmp_ok($n, '<=', 3, "aether.max_wal_size bounds the log without a timeout ($n segments left)");
cmp_ok($node->safe_psql('postgres', 'SELECT checkpoints FROM pg_stat_aether_wal'), '>=', $before + 3,
	'checkpoints were triggered by log volume');

$node->restart;
is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), '800000',
	'and after a clean restart');

# aether.wal_init_zero: the worker keeps the segment after the insert
# position ready, 16 MiB of zeros, so commits never grow a log file
my $SEG = 16 * 1024 * 1024;
sub next_segment
{
	my $lsn = $node->safe_psql('postgres', 'SELECT wal_insert_lsn FROM aether_stats()');
	return sprintf('%s/log.%016x', $logdir, int($lsn / $SEG) + 1);
}
my $next = next_segment();
for (my $tries = 0; $tries < 100 && !(-e $next && -s $next == $SEG); $tries++)
{
	usleep(100_000);
}
is(-s $next, $SEG, 'the next log segment is created ahead of the writers, 16 MiB');
open(my $fh, '<', $next) or die "$next: $!";
binmode $fh;
my $nonzero = 0;
while (read($fh, my $buf, 1024 * 1024)) { $nonzero++ if $buf =~ /[^\0]/; }
close $fh;
is($nonzero, 0, 'and holds only zeros');

$node->safe_psql('postgres', 'ALTER SYSTEM SET aether.wal_init_zero = off');
$node->reload;
usleep(1_000_000);
$node->safe_psql('postgres',
	"INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(800001, 900000) g");
usleep(1_000_000);
ok(!-e next_segment(), 'with aether.wal_init_zero = off no segment is created ahead');
$node->stop;
done_testing();
