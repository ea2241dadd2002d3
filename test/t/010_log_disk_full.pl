# A full disk under Aether's log: the transaction whose commit cannot make
# its log durable fails with SQLSTATE 53100 (disk full) and a message naming
# the log; everything committed before stays, and once space is back the
# server goes on, across a crash too.
#
# Needs a small file system for pg_aether/: scripts/test.sh mounts a 64 MB
# tmpfs (as root) and passes its path in AETHER_SMALL_FS; without it the
# test is skipped.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Path qw(rmtree);

my $fs = $ENV{AETHER_SMALL_FS};
plan skip_all => 'AETHER_SMALL_FS (a small file system for the log) is not set'
  unless $fs && -d $fs && -w $fs;

my $node = PostgreSQL::Test::Cluster->new('log_disk_full');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'aether'
aether.checkpoint_timeout = 3600
aether.wal_buffers = 32MB
});
my $logdir = "$fs/pg_aether_" . $$;
mkdir $logdir or die "mkdir $logdir: $!";
symlink($logdir, $node->data_dir . '/pg_aether') or die "symlink: $!";
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

sql('CREATE EXTENSION aether');
sql('CREATE TABLE t (id int PRIMARY KEY, v text) USING aether');
sql("INSERT INTO t SELECT g, repeat('c', 100) FROM generate_series(1, 1000) g");

# fill the file system, then give back about 2 MB
my $filler = "$fs/filler_$$";
open(my $fh, '>', $filler) or die "open $filler: $!";
my $chunk = 'z' x (1024 * 1024);
my $written = 0;
while (syswrite($fh, $chunk)) { $written++; }
close($fh);
truncate($filler, ($written - 2) * 1024 * 1024) or die "truncate: $!";
note("filled $written MB, gave back 2 MB");

# about 8 MB of log: more than the space left, less than the log buffer
my ($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO t SELECT g, repeat('f', 150) FROM generate_series(1001, 41000) g",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($ret, 0, 'the transaction whose log does not fit fails');
like($err, qr/53100/, 'with SQLSTATE 53100 (disk full)');
like($err, qr{log file "pg_aether/log\.[0-9a-f]{16}"}, 'naming Aether\'s log file');
is(sql('SELECT count(*) FROM t'), '1000', 'committed rows are all there, the failed ones invisible');

unlink($filler) or die "unlink: $!";
sql("INSERT INTO t SELECT g, repeat('n', 100) FROM generate_series(50001, 52000) g");
is(sql('SELECT count(*) FROM t'), '3000', 'with space back, commits work again');

$node->stop('immediate');
$node->start;
is(sql('SELECT count(*) FROM t'), '3000', 'after a crash: every acknowledged commit, nothing of the failed one');
is(sql('SELECT count(*) FROM t WHERE id BETWEEN 1001 AND 41000'), '0', 'the failed rows stay invisible');
is(sql("SELECT rows FROM aether_verify('t')") >= 3000 ? 'ok' : 'short', 'ok', 'the table verifies');
$node->stop;
unlink($node->data_dir . '/pg_aether');
rmtree($logdir);
done_testing();
