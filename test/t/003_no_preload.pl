# Without shared_preload_libraries, CREATE EXTENSION aether fails with a
# clear error and a hint, leaves nothing behind, and crashes nothing; once
# aether is preloaded it works. Aether tables on a server restarted without
# the preload fail the same clean way and come back when it returns.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('no_preload');
$node->init;
$node->start;

# 1. not preloaded
my ($ret, $stdout, $stderr) =
  $node->psql('postgres', "\\set VERBOSITY verbose\nCREATE EXTENSION aether;");
note "CREATE EXTENSION without preload: $stderr";
isnt($ret, 0, 'CREATE EXTENSION aether fails without shared_preload_libraries');
like($stderr, qr/ERROR:\s+55000:/,
	'the error is object_not_in_prerequisite_state (55000)');
like($stderr, qr/HINT:.*shared_preload_libraries/,
	'the hint names shared_preload_libraries');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the next query works');
is( $node->safe_psql(
		'postgres', q{SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'aether'),
		(SELECT count(*) FROM pg_am WHERE amname = 'aether'),
		(SELECT count(*) FROM pg_proc WHERE proname LIKE 'aether%')}),
	'0|0|0', 'the failed CREATE EXTENSION left nothing in the catalog');

# Twice in one session: the library is loaded by now and must still refuse.
($ret, $stdout, $stderr) = $node->psql('postgres',
	"CREATE EXTENSION aether;\nCREATE EXTENSION aether;", on_error_stop => 0);
is(scalar(() = $stderr =~ /shared_preload_libraries/g), 2,
	'a second attempt in the same session fails the same way');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server still answers');

# 2. preloaded
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'aether'");
$node->restart;
$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION aether;
	CREATE TABLE t (id int PRIMARY KEY, v text) USING aether;
	INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g;
});
is($node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM t'),
	'1000|500500', 'with the preload, CREATE EXTENSION and aether tables work');
is( $node->safe_psql(
		'postgres',
		q{SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE relname = 't'}),
	'aether', 'the table uses the aether access method');

# 3. the preload removed again while aether tables exist
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "''");
$node->restart;
($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT count(*) FROM t');
note "SELECT without preload: $stderr";
isnt($ret, 0, 'reading an aether table without the preload fails');
like($stderr, qr/HINT:.*shared_preload_libraries/,
	'with the hint to preload aether');
($ret, $stdout, $stderr) =
  $node->psql('postgres', "INSERT INTO t VALUES (1001, 'x')");
like($stderr, qr/shared_preload_libraries/,
	'writing an aether table without the preload fails with the hint');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server still answers');

$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "'aether'");
$node->restart;
is($node->safe_psql('postgres', 'SELECT count(*), sum(id) FROM t'),
	'1000|500500', 'with the preload back, the data is all there');

$node->stop;
unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC|TRAP:/,
	'no process crashed');

done_testing();
