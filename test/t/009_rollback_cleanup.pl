# Rows of rolled-back work are removed by the background worker, without
# VACUUM: a rolled-back bulk load, the versions of a rolled-back UPDATE, a
# ROLLBACK TO SAVEPOINT inside a transaction that commits, a failed COPY,
# and a rolled-back large value
# (whose overflow pages go back to the free list and are reused). Committed
# rows, including those of released savepoints, stay. Rows of transactions
# in flight at a crash go the same way after recovery.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('rollback_cleanup');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'aether'\n");
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

# stored rows (every version, any snapshot) reach $want within 30 s
sub stored_rows_become
{
	my ($table, $want) = @_;
	my $got;
	for (my $i = 0; $i < 300; $i++)
	{
		$got = sql("SELECT rows FROM aether_versions('$table')");
		return $got if $got == $want;
		usleep(100_000);
	}
	return $got;
}

sql('CREATE EXTENSION aether');
sql('CREATE TABLE t (id int, v text) USING aether');
sql("INSERT INTO t VALUES (1, 'committed')");

sql("BEGIN; INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(2, 100001) g; ROLLBACK");
is(stored_rows_become('t', 1), 1, 'a rolled-back load of 100k rows is removed');
my ($pages1, $free1) = split /\|/, sql("SELECT pages, free_pages FROM aether_verify('t')");
cmp_ok($free1, '>', 100, "the leaves it emptied are on the free list ($free1 of $pages1 pages)");
sql("BEGIN; INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(2, 100001) g; ROLLBACK");
is(stored_rows_become('t', 1), 1, 'a second rolled-back load is removed');
my ($pages2) = split /\|/, sql("SELECT pages, free_pages FROM aether_verify('t')");
# its leaves come from the free list; only new inner pages are added (inner
# pages are never freed), about 1% of the leaves
cmp_ok($pages2, '<=', $pages1 * 1.02, "and it reused the freed leaves: the file grew by at most 2% ($pages1 -> $pages2)");

sql("BEGIN; INSERT INTO t VALUES (2, 'before savepoint');
   SAVEPOINT a; INSERT INTO t SELECT g, 'gone' FROM generate_series(1000, 2000) g; ROLLBACK TO a;
   SAVEPOINT b; INSERT INTO t VALUES (3, 'released'); RELEASE b;
   SAVEPOINT c; SAVEPOINT d; INSERT INTO t VALUES (4, 'nested, rolled back'); ROLLBACK TO c;
   COMMIT");
is(stored_rows_become('t', 3), 3, 'ROLLBACK TO SAVEPOINT removes only that savepoint\'s rows');
is(sql('SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'), '1,2,3', 'committed rows stay');

# rolled-back UPDATEs: the versions they added go, the rows stay as committed
sql("CREATE TABLE u (id int PRIMARY KEY, v text) USING aether");
sql("INSERT INTO u SELECT g, 'c' || g FROM generate_series(1, 20000) g");
sql("BEGIN; UPDATE u SET v = v || ' rolled back'; ROLLBACK");
sub versions_become
{
	my ($table, $want) = @_;
	my $got;
	for (my $i = 0; $i < 300; $i++)
	{
		$got = sql("SELECT rows || '/' || versions FROM aether_versions('$table')");
		return $got if $got eq $want;
		usleep(100_000);
	}
	return $got;
}
is(versions_become('u', '20000/20000'), '20000/20000',
	'a rolled-back UPDATE of every row: its 20000 versions are removed');
sql("BEGIN; UPDATE u SET v = 'kept' WHERE id <= 10;
   SAVEPOINT s; UPDATE u SET v = 'gone' WHERE id > 10000; ROLLBACK TO s;
   COMMIT");
# the 10 committed updates may leave their old versions until pruned
# (autovacuum may do that meanwhile), the 10000 rolled-back ones must go
my $vers;
for (my $i = 0; $i < 300; $i++)
{
	$vers = sql("SELECT versions FROM aether_versions('u')");
	last if $vers <= 20010;
	usleep(100_000);
}
cmp_ok($vers, '<=', 20010, 'ROLLBACK TO SAVEPOINT removes the versions of that savepoint');
is(sql("SELECT count(*) FILTER (WHERE v = 'kept'), count(*) FILTER (WHERE v = 'gone'),
	count(*) FILTER (WHERE v = 'c' || id) FROM u"), '10|0|19990', 'the committed contents');

# a COPY that fails part way
my ($ret, $out, $err) = $node->psql('postgres',
	"COPY t (id) FROM PROGRAM 'seq 10 20000 | sed \"s/^15000\$/oops/\"'");
like($err, qr/invalid input syntax/, 'the COPY failed');
is(stored_rows_become('t', 3), 3, 'the rows the failed COPY had stored are removed');

# a large value: its overflow pages are freed and reused
sql("BEGIN; INSERT INTO t VALUES (5, repeat('L', 2000000)); ROLLBACK");
is(stored_rows_become('t', 3), 3, 'a rolled-back 2 MB value is removed');
my $free = sql("SELECT free_pages FROM aether_verify('t')");
cmp_ok($free, '>=', 200, "its overflow pages are on the free list ($free)");
my $pages = sql("SELECT pages FROM aether_verify('t')");
sql("INSERT INTO t VALUES (6, repeat('M', 1000000))");
my $pages_after = sql("SELECT pages FROM aether_verify('t')");
is($pages_after, $pages, 'a new large value reuses them: the file did not grow');

# the same after a crash and recovery: deletes are logged like any change
$node->stop('immediate');
$node->start;
is(sql('SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'), '1,2,3,6', 'after a crash');
is(sql("SELECT rows FROM aether_versions('t')"), '4', 'nothing rolled back came back');

# Transactions in flight at a crash (losers): their rows are removed after
# recovery too, also when a checkpoint came between a loser's first insert
# and the crash (the checkpoint logs where it began inserting again).
sql('CREATE TABLE l (id int, v text) USING aether');
sql("INSERT INTO l VALUES (0, 'committed')");
# a third loser only UPDATEs committed rows (in place: same row ids), after
# an insert, so its lowest row id is logged again (the UPDATE goes below it)
sql('CREATE TABLE lu (id int, v text) USING aether');
sql("INSERT INTO lu SELECT g, 'committed' FROM generate_series(1, 1000) g");
my @bg = map { $node->background_psql('postgres') } 1 .. 3;
$bg[2]->query_safe("BEGIN; INSERT INTO lu VALUES (1001, 'loser insert')");
$bg[2]->query_safe("UPDATE lu SET v = 'loser update' WHERE id <= 600");
$bg[0]->query_safe(
	"BEGIN; INSERT INTO l SELECT g, repeat('a', 100) FROM generate_series(1, 20000) g");
$bg[1]->query_safe(
	"BEGIN; INSERT INTO t SELECT g, 'in flight' FROM generate_series(100, 5100) g");
sql('SELECT aether_checkpoint()');
$bg[0]->query_safe(
	"INSERT INTO l SELECT g, repeat('b', 100) FROM generate_series(20001, 40000) g");
# a commit after them makes the log holding their rows durable
sql("INSERT INTO l VALUES (-1, 'committed after')");
is(sql("SELECT rows FROM aether_versions('l')"), '40002', 'the losers\' rows are stored before the crash');
is(sql("SELECT rows || '/' || versions FROM aether_versions('lu')"), '1001/1601',
	'the updating loser\'s versions are stored before the crash');
my $logpos = -s $node->logfile;
$node->stop('immediate');
eval { $_->quit } for @bg;
$node->start;
is(sql('SELECT string_agg(id::text, \',\' ORDER BY id) FROM l'), '-1,0', 'after the crash: the committed rows');
is(stored_rows_become('l', 2), 2, 'the 40000 rows of the loser are removed, without VACUUM');
is(stored_rows_become('t', 4), 4, 'and those of the other loser, in another table');
is(versions_become('lu', '1000/1000'), '1000/1000',
	'the versions a loser UPDATE added to committed rows are removed too');
is(sql("SELECT count(*) FILTER (WHERE v = 'committed') || '/' || count(*) FROM lu"), '1000/1000',
	'the updated rows read as committed');
like(slurp_file($node->logfile, $logpos),
	qr/removing the rows of 3 transactions in flight at the crash/,
	'recovery says so');
$node->stop;
done_testing();
