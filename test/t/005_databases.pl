# Database-level commands that copy or remove relation files behind the
# table AM: CREATE DATABASE from a template holding aether tables (the copy
# has every committed row, even those only in Aether's buffer pool), DROP
# DATABASE (its cached pages are dropped, the server stays healthy), ALTER
# TABLE / ALTER DATABASE SET TABLESPACE (pages still verify afterwards).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('databases');
$node->init(extra => ['--data-checksums']);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'aether'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE tmpl');
# No aether_flush(): the template's newest rows are only in the pool.
$node->safe_psql(
	'tmpl', q{
	CREATE EXTENSION aether;
	CREATE TABLE t (id int PRIMARY KEY, v text) USING aether;
	INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 30000) g;
	UPDATE t SET v = 'updated' WHERE id % 7 = 0;
	DELETE FROM t WHERE id % 11 = 0;
});
my $content_q =
  q{SELECT count(*), md5(string_agg(id || ':' || v, ',' ORDER BY id)) FROM t};
my $expected = $node->safe_psql('tmpl', $content_q);
like($expected, qr/^27273\|/, 'template holds the rows');

$node->safe_psql('postgres', 'CREATE DATABASE copy1 TEMPLATE tmpl');
is($node->safe_psql('copy1', $content_q), $expected,
	'CREATE DATABASE copies rows that were only in the buffer pool');
like($node->safe_psql('copy1', q{SELECT rows FROM aether_verify('t')}),
	qr/^\d+$/, 'the copied tree verifies');
$node->safe_psql('copy1', q{INSERT INTO t VALUES (0, 'copy only')});
is($node->safe_psql('tmpl', 'SELECT count(*) FROM t WHERE id = 0'), '0',
	'the copy is independent of its template');

my ($ret, $stdout, $stderr) = $node->psql('postgres',
	'CREATE DATABASE copy2 TEMPLATE tmpl STRATEGY wal_log');
isnt($ret, 0, 'STRATEGY WAL_LOG is refused');
like($stderr, qr/FILE_COPY/, 'with a hint naming FILE_COPY');

# DROP DATABASE with dirty pages of its own in the pool, then keep working.
$node->safe_psql('copy1',
	q{INSERT INTO t SELECT g, 'x' FROM generate_series(100001, 110000) g});
$node->safe_psql('postgres', 'DROP DATABASE copy1');
$node->safe_psql('tmpl', 'SELECT aether_flush()');
is($node->safe_psql('tmpl', $content_q), $expected,
	'template unchanged after dropping its copy');

# Tablespaces: the table moves, its pages still verify and hold the rows.
my $tsdir = PostgreSQL::Test::Utils::tempdir_short() . '/ts';
mkdir $tsdir or die "mkdir $tsdir: $!";
$node->safe_psql('tmpl', "CREATE TABLESPACE ts LOCATION '$tsdir'");
$node->safe_psql('tmpl', 'ALTER TABLE t SET TABLESPACE ts');
is($node->safe_psql('tmpl', $content_q), $expected, 'rows survive SET TABLESPACE');
$node->safe_psql('tmpl', q{INSERT INTO t VALUES (-1, 'in ts')});
$node->safe_psql('tmpl', 'ALTER TABLE t SET TABLESPACE pg_default');
is($node->safe_psql('tmpl', 'SELECT count(*) FROM t'), '27274',
	'and moving back keeps the new row');

my $tsdir2 = PostgreSQL::Test::Utils::tempdir_short() . '/ts2';
mkdir $tsdir2 or die "mkdir $tsdir2: $!";
$node->safe_psql('postgres', "CREATE TABLESPACE ts2 LOCATION '$tsdir2'");
$node->safe_psql('postgres', 'CREATE DATABASE moved TEMPLATE tmpl');
$node->safe_psql('moved', q{INSERT INTO t VALUES (-2, 'pool only')});
$node->safe_psql('postgres', 'ALTER DATABASE moved SET TABLESPACE ts2');
is($node->safe_psql('moved', 'SELECT count(*) FROM t'), '27275',
	'ALTER DATABASE SET TABLESPACE keeps aether rows, also those only in the pool');

# Every aether page on disk passes PostgreSQL's own checksum verification.
$node->safe_psql('moved', 'SELECT aether_flush()');
$node->stop;
command_ok([ 'pg_checksums', '--check', '-D', $node->data_dir ],
	'pg_checksums accepts every page after the copies and moves');
$node->start;
is($node->safe_psql('moved', q{SELECT count(*), (SELECT rows >= 27275 FROM aether_verify('t')) FROM t}),
	'27275|t', 'moved database reads back and verifies after restart');

$node->stop;
done_testing();
