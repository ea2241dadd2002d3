# Aether's log stays bounded while the server runs: after each checkpoint
# no 16 MiB log segment is left before its redo point (they are recycled as
# future segments, at most aether.max_wal_size worth ahead of the writers,
# or removed: 013_log_recycle.pl looks at the recycling itself), whether
# the checkpoint was due by time (aether.checkpoint_timeout) or by log
# volume (aether.max_wal_size). The worker creates the next segment ahead
# of the writers, zero-filled, unless aether.wal_init_zero is off.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::Bin;
use AetherTest;

my $SEG = $LOG_SEGMENT_SIZE;

my $node = PostgreSQL::Test::Cluster->new('log_bounded');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'aether'
aether.checkpoint_timeout = 1
});
$node->start;

# Is the log bounded now? Files below the last checkpoint's redo segment,
# and files beyond (the redo segment to the insert segment) + $ahead.
sub log_excess
{
	my ($ahead) = @_;
	my ($redo, $insert) = split /\|/,
	  $node->safe_psql('postgres', 'SELECT checkpoint_redo_lsn, insert_lsn FROM pg_stat_aether_wal');
	my @nums = keys %{ log_segments($node) };
	my $below = grep { $_ < int($redo / $SEG) } @nums;
	my $over = @nums - (int($insert / $SEG) - int($redo / $SEG) + 1 + $ahead);
	return ($below, $over > 0 ? $over : 0, scalar(@nums));
}

# Wait (10 s at most) until the log is bounded; the last (below, over, files).
sub wait_bounded
{
	my ($ahead) = @_;
	my @r = log_excess($ahead);
	for (my $tries = 0; $tries < 100 && ($r[0] || $r[1]); $tries++)
	{
		usleep(100_000);
		@r = log_excess($ahead);
	}
	return @r;
}

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

# aether.max_wal_size = 1GB: up to 64 recycled segments may wait ahead
my ($below, $over, $n) = wait_bounded(64);
is($below, 0, "no log segment is left before the redo point after checkpoints by time ($n files)");
is($over, 0, 'and no more than 1 GB of them ahead of the writers');
is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), '400000', 'all rows are there');

# checkpoints by log volume: no timeout, 16 MB of log triggers one, and
# at most 2 segments wait ahead
$node->append_conf('postgresql.conf', "aether.checkpoint_timeout = 3600\naether.max_wal_size = 16\n");
$node->reload;
my $before = $node->safe_psql('postgres', 'SELECT checkpoints FROM pg_stat_aether_wal');
for my $i (4 .. 7)
{
	$node->safe_psql('postgres',
		"INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series($i * 100000 + 1, ($i + 1) * 100000) g");
}
($below, $over, $n) = wait_bounded(2);
is($below, 0, "aether.max_wal_size bounds the log without a timeout ($n files)");
is($over, 0, 'with at most 2 segments ahead of the writers');
cmp_ok($n, '<=', 5, 'five log files at most');
cmp_ok($node->safe_psql('postgres', 'SELECT checkpoints FROM pg_stat_aether_wal'), '>=', $before + 3,
	'checkpoints were triggered by log volume');

$node->restart;
is($node->safe_psql('postgres', 'SELECT count(*) FROM t'), '800000',
	'and after a clean restart');
$node->stop;

# aether.wal_init_zero: the worker keeps the two segments after the insert
# position ready, 16 MiB of zeros, so commits never grow a log file (and
# when the log enters the next one, the one after it is there already). A
# node without checkpoints in the way, so that no old segment is recycled
# there.
$node = aether_node('log_prealloc', q{
aether.checkpoint_timeout = 3600
aether.max_wal_size = 10GB
});
$node->safe_psql('postgres', 'CREATE TABLE t (id int, pad text) USING aether');
$node->safe_psql('postgres',
	"INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g");
my $logdir = $node->data_dir . '/pg_aether';
sub next_segment
{
	my ($ahead) = @_;
	my $lsn = $node->safe_psql('postgres', 'SELECT wal_insert_lsn FROM aether_stats()');
	return sprintf('%s/log.%016x', $logdir, int($lsn / $SEG) + ($ahead // 1));
}
my $lsn0 = $node->safe_psql('postgres', 'SELECT wal_insert_lsn FROM aether_stats()');
my ($next, $after) = map { sprintf('%s/log.%016x', $logdir, int($lsn0 / $SEG) + $_) } (1, 2);
for (my $tries = 0; $tries < 100 && !(-e $after && -s $after == $SEG); $tries++)
{
	usleep(100_000);
}
is(-s $next, $SEG, 'the next log segment is created ahead of the writers, 16 MiB');
is(-s $after, $SEG, 'and so is the one after it');
my $nonzero = 0;
for my $f ($next, $after)
{
	open(my $fh, '<', $f) or die "$f: $!";
	binmode $fh;
	while (read($fh, my $buf, 1024 * 1024)) { $nonzero++ if $buf =~ /[^\0]/; }
	close $fh;
}
is($nonzero, 0, 'both hold only zeros');

$node->safe_psql('postgres', 'ALTER SYSTEM SET aether.wal_init_zero = off');
$node->reload;
usleep(1_000_000);
# write past every segment created while it was on, then look ahead
my ($highest) = sort { $b <=> $a } keys %{ log_segments($node) };
for (my $i = 1; $i <= 20; $i++)
{
	my $lsn = $node->safe_psql('postgres', 'SELECT wal_insert_lsn FROM aether_stats()');
	last if int($lsn / $SEG) > $highest;
	$node->safe_psql('postgres',
		"INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series($i * 100000 + 1, ($i + 1) * 100000) g");
}
usleep(1_000_000);
ok(!-e next_segment(1) && !-e next_segment(2),
	'with aether.wal_init_zero = off no segment is created ahead');
$node->stop;
done_testing();
