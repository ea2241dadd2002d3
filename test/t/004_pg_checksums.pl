# Aether pages carry PostgreSQL's page checksum: on a cluster initialised
# with data checksums, `pg_checksums --check` accepts every aether relation
# file (pages written by aether_flush, by the shutdown write-back, overflow
# pages and the metapage), and reports a page that was damaged afterwards.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $BLCKSZ = 8192;
my $BAD_BLOCK = 2;

my $node = PostgreSQL::Test::Cluster->new('checksums');
$node->init(extra => ['--data-checksums']);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'aether'");
$node->start;
is($node->safe_psql('postgres', 'SHOW data_checksums'), 'on',
	'the cluster has data checksums');

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION aether;
	CREATE TABLE flushed (id int PRIMARY KEY, v text) USING aether;
	INSERT INTO flushed SELECT g, 'row ' || g || repeat('y', g % 200)
		FROM generate_series(1, 30000) g;
	UPDATE flushed SET v = v || ' updated' WHERE id % 7 = 0;
	DELETE FROM flushed WHERE id % 11 = 0;
	-- values in overflow pages
	CREATE TABLE large (id int, v text) USING aether;
	INSERT INTO large SELECT g, repeat(md5(g::text), 2000) FROM generate_series(1, 20) g;
	SELECT aether_flush();
	-- changed after the flush: written by the clean shutdown
	CREATE TABLE at_shutdown (id int, v text) USING aether;
	INSERT INTO at_shutdown SELECT g, 'late ' || g FROM generate_series(1, 10000) g;
	UPDATE flushed SET v = 'after flush' WHERE id % 100 = 1;
});

my %file;
for my $rel (qw(flushed large at_shutdown))
{
	$file{$rel} = $node->safe_psql('postgres',
		"SELECT pg_relation_filepath('$rel')");
}
my $content_q = q{SELECT (SELECT count(*) || ':' || sum(id) || ':' || md5(string_agg(v, '' ORDER BY id)) FROM flushed),
	(SELECT md5(string_agg(v, '' ORDER BY id)) FROM large),
	(SELECT count(*) FROM at_shutdown)};
my $content = $node->safe_psql('postgres', $content_q);
$node->stop;

my $pgdata = $node->data_dir;
for my $rel (sort keys %file)
{
	my $blocks = (-s "$pgdata/$file{$rel}") / $BLCKSZ;
	cmp_ok($blocks, '>', $BAD_BLOCK, "$rel ($file{$rel}) has $blocks blocks");
}

# 1. every page passes PostgreSQL's own verification
my ($stdout, $stderr);
my $ok = IPC::Run::run [ 'pg_checksums', '--check', '--verbose', '-D', $pgdata ],
  '>', \$stdout, '2>', \$stderr;
note "pg_checksums --check: stdout:\n$stdout\nstderr (aether files):\n"
  . join("\n", grep { my $l = $_; grep { index($l, $_) >= 0 } values %file }
	  split /\n/, $stderr);
ok($ok, 'pg_checksums --check succeeds');
like($stdout, qr/Bad checksums:\s+0\b/, 'pg_checksums reports no bad checksum');
for my $rel (sort keys %file)
{
	like($stderr . $stdout, qr/checksums verified in file "[^"]*\Q$file{$rel}\E"/,
		"pg_checksums verified the file of $rel");
}

# 2. a damaged aether page is reported
my $bad = "$pgdata/$file{flushed}";
my $off = $BAD_BLOCK * $BLCKSZ + $BLCKSZ / 2;
open(my $fh, '+<', $bad) or die "open $bad: $!";
binmode $fh;
sysseek($fh, $off, 0) or die "seek: $!";
sysread($fh, my $byte, 1) == 1 or die "read: $!";
$byte ^= "\x5a";
sysseek($fh, $off, 0) or die "seek: $!";
syswrite($fh, $byte) == 1 or die "write: $!";
close($fh) or die "close: $!";

$ok = IPC::Run::run [ 'pg_checksums', '--check', '-D', $pgdata ],
  '>', \$stdout, '2>', \$stderr;
note "pg_checksums --check after damage: stdout:\n$stdout\nstderr:\n$stderr";
ok(!$ok, 'pg_checksums --check fails after one byte of an aether page changed');
like($stderr,
	qr/checksum verification failed in file "[^"]*\Q$file{flushed}\E", block $BAD_BLOCK:/,
	'pg_checksums names the aether file and block');
like($stdout, qr/Bad checksums:\s+1\b/, 'exactly one bad checksum');

# Restore the byte: the server starts and the data is as it was.
open($fh, '+<', $bad) or die "open $bad: $!";
binmode $fh;
sysseek($fh, $off, 0) or die "seek: $!";
$byte ^= "\x5a";
syswrite($fh, $byte) == 1 or die "write: $!";
close($fh) or die "close: $!";
$node->start;
is($node->safe_psql('postgres', $content_q), $content,
	'contents unchanged after the round trip through pg_checksums');
$node->stop;
unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC|TRAP:/,
	'no process crashed');

done_testing();
