# A damaged aether page is reported, not returned: a scan that reaches a
# page whose checksum fails raises ERRCODE_DATA_CORRUPTED (XX001) naming
# the relation and the block, and the server stays up for everything else.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $BLCKSZ = 8192;
my $BAD_BLOCK = 2;

my $node = PostgreSQL::Test::Cluster->new('corruption');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'aether'");
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION aether;
	CREATE TABLE damaged (id int, v text) USING aether;
	INSERT INTO damaged SELECT g, 'row ' || g || repeat('x', 50)
		FROM generate_series(1, 20000) g;
	CREATE TABLE intact (id int, v text) USING aether;
	INSERT INTO intact SELECT g, 'intact ' || g FROM generate_series(1, 5000) g;
	CREATE TABLE plain (id int, v text) USING heap;
	INSERT INTO plain SELECT g, 'plain ' || g FROM generate_series(1, 1000) g;
	SELECT aether_flush();
});
my $count_q = 'SELECT count(*), sum(id) FROM damaged';
is($node->safe_psql('postgres', $count_q), '20000|200010000',
	'the table reads back before the damage');
my $intact_before =
  $node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM intact');

my $relpath = $node->safe_psql('postgres',
	"SELECT pg_relation_filepath('damaged')");
my $file = $node->data_dir . '/' . $relpath;
$node->stop;

my $size = -s $file;
cmp_ok($size, '>=', ($BAD_BLOCK + 2) * $BLCKSZ,
	"$relpath has more than " . ($BAD_BLOCK + 1) . ' blocks');

# Flip 16 bytes in the middle of block 2 (block 0 is the metapage).
my $off = $BAD_BLOCK * $BLCKSZ + $BLCKSZ / 2;
open(my $fh, '+<', $file) or die "open $file: $!";
binmode $fh;
sysseek($fh, $off, 0) or die "seek: $!";
my $got = sysread($fh, my $buf, 16);
die "read: $!" unless defined $got && $got == 16;
$buf ^= "\xff" x 16;
sysseek($fh, $off, 0) or die "seek: $!";
syswrite($fh, $buf) == 16 or die "write: $!";
close($fh) or die "close: $!";

$node->start;

# A full scan reaches every page.
my $scan = "\\set VERBOSITY verbose\n$count_q;";
for my $attempt (1, 2)
{
	my ($ret, $stdout, $stderr) =
	  $node->psql('postgres', $scan, on_error_stop => 0);
	note "attempt $attempt: stdout: $stdout\nstderr: $stderr";
	is($stdout, '', "attempt $attempt: the damaged table returns no result");
	like($stderr, qr/ERROR:\s+XX001:/,
		"attempt $attempt: the scan fails with SQLSTATE XX001 (data corrupted)");
	like($stderr, qr/"damaged"/,
		"attempt $attempt: the error names the relation");
	like($stderr, qr/block $BAD_BLOCK\b/,
		"attempt $attempt: the error names block $BAD_BLOCK");
	like($stderr, qr/checksum/, "attempt $attempt: the error says why");
}

# aether_verify checks checksums too.
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT * FROM aether_verify('damaged');",
	on_error_stop => 0);
like($stderr, qr/ERROR:\s+XX001:.*\n.*"damaged".*block $BAD_BLOCK\b/,
	'aether_verify reports XX001 naming the relation and block');

is($node->safe_psql('postgres', 'SELECT 1'), '1',
	'the server still answers after the error');
is($node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM intact'),
	$intact_before, 'another aether table still reads back');
$node->safe_psql('postgres',
	"INSERT INTO intact SELECT g, 'after' FROM generate_series(5001, 5100) g");
is($node->safe_psql('postgres', 'SELECT count(*) FROM intact'),
	'5100', 'another aether table still takes inserts');
is($node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM plain'),
	'1000|500500', 'a heap table in the same database still works');
$node->safe_psql('postgres',
	"INSERT INTO plain VALUES (1001, 'after'); UPDATE plain SET v = 'u' WHERE id = 1");
is($node->safe_psql('postgres', "SELECT count(*) FROM plain WHERE v IN ('u', 'after')"),
	'2', 'a heap table in the same database still takes writes');

$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|TRAP:/, 'no process crashed');
like($log, qr/ERROR:\s+aether:/, 'the error is in the server log');

done_testing();
