# AetherTest — helpers shared by Aether's TAP tests (test/t/*.pl): queries
# that do not die, kill -9 of a whole server, waiting for the server log,
# Aether's log files.
#
# A test finds this module next to itself:
#
#   use FindBin;
#   use lib $FindBin::Bin;
#   use AetherTest;
#
# (scripts/test.sh also passes -I with the directory of the tests.)
package AetherTest;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils qw(slurp_file);
use Test::More;
use Time::HiRes qw(usleep time);

our @EXPORT =
  qw(aether_node try_sql postmaster_pid children_of alive crash_server wait_log log_segments
  $LOG_SEGMENT_SIZE $NO_BACKGROUND_CHECKPOINTS);

# Size of one Aether log file, pg_aether/log.<16 hex digits: LSN / this>.
our $LOG_SEGMENT_SIZE = 16 * 1024 * 1024;

# postgresql.conf lines for a test that decides itself when checkpoints of
# either log happen and wants no autovacuum in between.
our $NO_BACKGROUND_CHECKPOINTS = q{
autovacuum = off
checkpoint_timeout = 1h
aether.checkpoint_timeout = 3600
aether.max_wal_size = 10GB
};

# A new, started node with aether preloaded and the extension created in
# database postgres; $conf (optional) is appended to postgresql.conf.
sub aether_node
{
	my ($name, $conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'aether'\n" . ($conf // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION aether');
	return $node;
}

# Aether's log files in $node's pg_aether/: a hash of segment number => inode.
sub log_segments
{
	my ($node) = @_;
	my $dir = $node->data_dir . '/pg_aether';
	my %segs;
	opendir(my $d, $dir) or die "opendir $dir: $!";
	for my $f (readdir $d)
	{
		next unless $f =~ /^log\.([0-9a-f]{16})$/;
		my @st = stat("$dir/$f") or next;    # recycled or removed meanwhile
		$segs{ hex($1) } = $st[1];
	}
	closedir $d;
	return \%segs;
}

# Run SQL on $node's database postgres without dying: returns stdout, or
# undef when the query failed, lost its connection or hung for longer than
# timeout (default 120 s). The failure is reported with diag, or with note
# under quiet; error => \$err also gets psql's stderr.
sub try_sql
{
	my ($node, $q, %opt) = @_;
	my $timed_out = 0;
	my ($ret, $out, $err) = $node->psql(
		'postgres', $q,
		on_error_stop => 1,
		timeout       => $opt{timeout} // 120,
		timed_out     => \$timed_out);
	if ($timed_out || !defined $ret || $ret != 0)
	{
		my $msg = "query failed" . ($timed_out ? ' (timed out)' : '') . ": $q\n" . ($err // '');
		$opt{quiet} ? note($msg) : diag($msg);
		${ $opt{error} } = $err if $opt{error};
		return undef;
	}
	return $out;
}

# The postmaster's pid from $node's postmaster.pid, or undef.
sub postmaster_pid
{
	my ($node) = @_;
	my $f = $node->data_dir . '/postmaster.pid';
	open(my $fh, '<', $f) or return undef;
	my $pid = <$fh>;
	close $fh;
	return undef unless defined $pid;
	chomp $pid;
	return $pid =~ /^\d+$/ ? $pid : undef;
}

# Process ids whose parent is $ppid (from /proc/<pid>/stat).
sub children_of
{
	my ($ppid) = @_;
	my @kids;
	opendir(my $d, '/proc') or die "opendir /proc: $!";
	for my $p (grep { /^\d+$/ } readdir $d)
	{
		open(my $f, '<', "/proc/$p/stat") or next;
		my $s = <$f>;
		close $f;
		# "pid (comm) state ppid ...": comm may contain spaces and ')'
		push @kids, $p if defined $s && $s =~ /^\d+ \(.*\) (\S) (\d+) / && $2 == $ppid;
	}
	closedir $d;
	return @kids;
}

# true while $pid exists and is not a zombie
sub alive
{
	my ($pid) = @_;
	open(my $f, '<', "/proc/$pid/stat") or return 0;
	my $s = <$f>;
	close $f;
	return 0 unless defined $s && $s =~ /^\d+ \(.*\) (\S) /;
	return $1 ne 'Z' && $1 ne 'X';
}

# kill -9 of the whole server at one instant: stop the postmaster (so it can
# neither notice the deaths nor fork), SIGKILL every child, SIGKILL the
# postmaster, and wait until all of them are gone, zombies included (a new
# postmaster refuses to start while the pid in postmaster.pid exists, and
# the killed postmaster is reaped by whatever adopted it, not by us).
# Returns false, after a diag, if the server was not running any more; with
# must_run => 1, dies then instead.
sub crash_server
{
	my ($node, $label, %opt) = @_;
	my $pm = postmaster_pid($node);
	if (!defined $pm || !alive($pm))
	{
		die "$label: the server was not running at the kill" if $opt{must_run};
		diag("$label: the server was not running at the kill");
		$node->stop('immediate', fail_ok => 1);    # forget the pid
		return 0;
	}
	kill 'STOP', $pm;
	my @kids = children_of($pm);
	kill 'KILL', @kids if @kids;
	note "$label: SIGKILL to postmaster $pm and " . scalar(@kids) . " children (@kids)";
	$node->kill9;    # SIGKILL to the postmaster; the node forgets its pid
	my $deadline = time + 60;
	while (grep { -e "/proc/$_" } $pm, @kids)
	{
		die "$label: server processes still there 60 s after SIGKILL"
		  if time > $deadline;
		usleep(20_000);
	}
	return 1;
}

# Wait until $node's server log, from byte $off on, matches $re, for at most
# $secs seconds (default 10), looking every $poll_us microseconds (default
# 100 ms). Returns that part of the log (matching or not: the caller checks).
# Aether's crash recovery runs in its background worker after the server
# accepts connections, so its messages come after the start returned.
sub wait_log
{
	my ($node, $re, $off, $secs, $poll_us) = @_;
	my $deadline = time + ($secs // 10);
	while (1)
	{
		my $log = slurp_file($node->logfile, $off);
		return $log if $log =~ $re || time > $deadline;
		usleep($poll_us // 100_000);
	}
}

1;
