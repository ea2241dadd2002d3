# Many READ COMMITTED sessions updating the same few rows: every waiter
# re-checks and goes ahead in turn, none fails with a spurious "deadlock
# detected" and no increment is lost. Two bugs this caught: an updater that
# found the row updated left the lock mode for EvalPlanQual unset, so two
# waiters took a shared lock together in a MultiXact and then each waited
# for the other; and an updater that finished between the choice of the
# base version and the check of its xmax made the row look deleted, so the
# UPDATE touched no row (a lost increment). VACUUM runs among them (its
# conflict path once freed memory it had not allocated).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('hot_rows');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'aether'\nmax_connections = 40\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION aether;
	CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL) USING aether;
	INSERT INTO counter SELECT g, 0 FROM generate_series(1, 3) g;
	CREATE TABLE done (id bigserial PRIMARY KEY) USING aether;
});

for my $clients (8, 24)
{
	my $script = $node->basedir . "/hot_$clients.sql";
	append_to_file($script, q{\set k random(1, 3)
BEGIN;
UPDATE counter SET n = n + 1 WHERE id = :k;
INSERT INTO done DEFAULT VALUES;
END;
});
	# VACUUM of the same table now and then, racing the updates
	my $vacuum = $node->basedir . "/vacuum_$clients.sql";
	append_to_file($vacuum, "VACUUM counter;\n");
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(
		[ 'pgbench', '-n', '-c', $clients, '-j', 2, '-T', 4, '-f', "$script\@20", '-f', "$vacuum\@1",
		  '-h', $node->host, '-p', $node->port, 'postgres' ],
		'>', \$out, '2>', \$err);
	ok($ok, "pgbench with $clients clients ran");
	like($out, qr/number of failed transactions: 0 /, "$clients clients on 3 rows: no failed transaction");
	unlike($err, qr/deadlock detected|server closed the connection/,
		"$clients clients: no deadlock reported, no backend died");
	my ($after, $done) = split /\|/,
	  $node->safe_psql('postgres', 'SELECT (SELECT sum(n) FROM counter), (SELECT count(*) FROM done)');
	is($after, $done, "$clients clients: one increment per committed transaction (none lost)");
}
$node->stop;
done_testing();
