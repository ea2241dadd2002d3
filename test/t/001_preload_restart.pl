# Aether without shared_preload_libraries: CREATE EXTENSION fails with a
# clear error and a hint, and nothing crashes. With it: data, row ids and
# indexes survive clean restarts.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

# 1. not preloaded
my ($ret, $stdout, $stderr) =
  $node->psql('postgres', 'CREATE EXTENSION aether');
isnt($ret, 0, 'CREATE EXTENSION aether fails without shared_preload_libraries');
like($stderr, qr/shared_preload_libraries/,
	'the error names shared_preload_libraries');
like($stderr, qr/HINT:/, 'the error comes with a hint');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server still answers');
$node->stop;
unlike(slurp_file($node->logfile), qr/terminated by signal/,
	'no process crashed');

# 2. preloaded
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'aether'");
$node->start;
$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION aether;
	CREATE TABLE t (id int PRIMARY KEY, v text, big text) USING aether;
	INSERT INTO t SELECT g, 'v' || g, NULL FROM generate_series(1, 10000) g;
	UPDATE t SET v = 'updated' WHERE id % 10 = 0;
	DELETE FROM t WHERE id % 100 = 1;
	INSERT INTO t VALUES (0, 'big', repeat(md5('x'), 100000));
});
my $q = q{SELECT count(*), sum(id), count(*) FILTER (WHERE v = 'updated'),
	md5(string_agg(v, ',' ORDER BY id)), sum(length(big)), md5(string_agg(big, ''))
	FROM t};
my $before = $node->safe_psql('postgres', $q);

$node->restart;
is($node->safe_psql('postgres', $q), $before,
	'contents unchanged after a clean restart');

$node->safe_psql('postgres',
	"INSERT INTO t SELECT g, 'new', NULL FROM generate_series(20001, 21000) g");
is( $node->safe_psql(
		'postgres', 'SELECT count(*) = count(DISTINCT ctid) FROM t'),
	't',
	'row identities stay unique for rows inserted after the restart');
is( $node->safe_psql(
		'postgres', q{SET enable_seqscan = off;
		SELECT count(*) FROM t WHERE id IN (10, 101, 5000, 20500)}),
	'3',
	'the primary key index agrees with the table');

$node->restart;
is($node->safe_psql('postgres', "SELECT count(*) FROM t WHERE v = 'new'"),
	'1000', 'rows inserted after the first restart survive the second');
$node->stop;
unlike(slurp_file($node->logfile), qr/terminated by signal/,
	'no process crashed');

done_testing();
