# Aether's log files are recycled: a checkpoint renames each 16 MiB segment
# wholly before its redo point to the next free segment number above the
# highest (the same file, inode and blocks, under a future name) while
# fewer than aether.max_wal_size worth of segments (here 64 MB: 4) lie
# ahead of the one being written; beyond that it removes them. New log
# overwrites a recycled file from its start, and the stale records after
# the new end were written for LSNs at least a segment lower: their CRC,
# which covers each record's LSN, fails there, so recovery stops at the
# true end (engine/wal/README.md, R6).
#
#   1. Rounds of ~17 MB of log, each followed by aether_checkpoint(): old
#      segment files reappear under higher numbers (same inode), none is
#      left below the redo point's segment, the numbers have no gap, the
#      count stays bounded (the segments from the redo point to the insert
#      position, plus at most 4 ahead), pg_stat_aether_wal counts them.
#   2. With the log ending inside a recycled file (stale records after the
#      end), kill -9 of the whole server; recovery finds every committed
#      row, reports no missing or damaged log, and the server takes writes.
#   3. The same again after more rounds (a second crash).
#   4. One checkpoint retiring six segments or more with aether.max_wal_size
#      = 32MB: two are recycled, the others removed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::Bin;
use AetherTest;

my $SEG   = $LOG_SEGMENT_SIZE;
my $AHEAD = 4;                     # aether.max_wal_size = 64MB in 16 MiB segments
my $ROWS  = 70_000;                # rows of ~200 bytes a round: about 17 MB of log

my $node = aether_node('log_recycle', q{
aether.checkpoint_timeout = 3600
aether.max_wal_size = 64MB
});
$node->safe_psql('postgres', 'CREATE TABLE r (id int, pad text) USING aether');

my $next_id = 1;
my %inode_seen;    # inode => the lowest segment number it was seen under

sub stat_value
{
	my ($col) = @_;
	return $node->safe_psql('postgres', "SELECT $col FROM pg_stat_aether_wal");
}

# Remember which file (inode) each segment number is now.
sub note_segments
{
	my $segs = log_segments($node);
	for my $s (keys %$segs)
	{
		my $ino = $segs->{$s};
		$inode_seen{$ino} = $s if !defined $inode_seen{$ino} || $s < $inode_seen{$ino};
	}
	return $segs;
}

# One round: ~17 MB of log in committed inserts, then a checkpoint.
sub round
{
	my ($first, $last) = ($next_id, $next_id + $ROWS - 1);
	$node->safe_psql('postgres',
		"INSERT INTO r SELECT g, repeat('x', 200) FROM generate_series($first, $last) g");
	$next_id = $last + 1;
	note_segments();
	return $node->safe_psql('postgres', 'SELECT aether_checkpoint()');
}

sub expected_rows { my $n = $next_id - 1; return "$n|" . ($n * ($n + 1) / 2); }
sub table_rows { return try_sql($node, 'SELECT count(*), sum(id) FROM r') // 'error'; }

# Does log file $segno hold non-zero bytes in the MiB from $off + 64 KiB?
sub holds_log
{
	my ($segno, $off) = @_;
	my $f = sprintf('%s/pg_aether/log.%016x', $node->data_dir, $segno);
	open(my $fh, '<', $f) or die "$f: $!";
	binmode $fh;
	seek($fh, $off + 64 * 1024, 0) or die "seek: $!";
	defined(read($fh, my $buf, 1024 * 1024)) or die "read: $!";
	close $fh;
	return $buf =~ /[^\0]/ ? 1 : 0;
}

# The shape of pg_aether/ after a checkpoint at $redo.
sub check_files
{
	my ($label, $redo, $limit) = @_;
	$limit //= $AHEAD;
	my $segs   = note_segments();
	my @nums   = sort { $a <=> $b } keys %$segs;
	my $insert = stat_value('insert_lsn');
	my ($redo_seg, $ins_seg) = (int($redo / $SEG), int($insert / $SEG));
	my $ahead  = grep { $_ > $ins_seg } @nums;
	my $gaps   = grep { $nums[$_] != $nums[$_ - 1] + 1 } 1 .. $#nums;
	note "$label: segments @{[map { sprintf '%x', $_ } @nums]}, redo in $redo_seg, insert in $ins_seg";
	is(scalar(grep { $_ < $redo_seg } @nums), 0, "$label: no log file is left below the redo point's");
	is($gaps, 0, "$label: the log file numbers have no gap");
	cmp_ok($ahead, '<=', $limit, "$label: at most $limit log files wait ahead of the writers ($ahead)");
	cmp_ok(scalar(@nums), '<=', $ins_seg - $redo_seg + 1 + $limit,
		"$label: the number of log files stays bounded (" . scalar(@nums) . ")");
	return ($segs, $ins_seg);
}

# ------------------------------------------------------------------ 1. recycling
my $redo;
$redo = round() for 1 .. 5;
my ($segs, $ins_seg) = check_files('after 5 rounds', $redo);
# a file ahead of the writers that was a lower segment before and still
# holds its log (not a new file of zeros that got a freed inode)
my @moved = grep { $_ > $ins_seg && $inode_seen{ $segs->{$_} } < $_ && holds_log($_, 0) } keys %$segs;
cmp_ok(scalar(@moved), '>=', 1,
	'old log files are renamed to segment numbers ahead of the writers, with their old log ('
	  . scalar(@moved) . ' files)');
cmp_ok(stat_value('recycled_segments'), '>=', (@moved > 0 ? scalar(@moved) : 1),
	'pg_stat_aether_wal.recycled_segments counts them');

# ------------------------------------------------------------------ 2, 3. crashes
# Commit rows (at least one statement after the last checkpoint, so that
# recovery has work to redo) until the log ends inside a recycled file, well
# before its end, with the file's stale bytes (older log) after that point.
sub into_recycled_file
{
	my ($label) = @_;
	for my $try (1 .. 40)
	{
		my ($first, $last) = ($next_id, $next_id + 5000 - 1);
		$node->safe_psql('postgres',
			"INSERT INTO r SELECT g, repeat('y', 200) FROM generate_series($first, $last) g");
		$next_id = $last + 1;
		my $segs   = note_segments();
		my $end    = stat_value('flushed_lsn');
		my $s      = int($end / $SEG);
		my $off    = $end % $SEG;
		my $ino    = $segs->{$s};
		if (defined $ino && $inode_seen{$ino} < $s && $off > 1024 * 1024 && $off < $SEG - 4 * 1024 * 1024)
		{
			ok(holds_log($s, $off),
				"$label: the log ends in a recycled file (was segment $inode_seen{$ino}, now $s) "
				  . "with older log after the end");
			return 1;
		}
	}
	fail("$label: the log never ended inside a recycled file");
	return 0;
}

sub crash_and_recover
{
	my ($label) = @_;
	my $want = expected_rows();
	my $logpos = -s $node->logfile;
	crash_server($node, $label, must_run => 1);
	my $segs_before = log_segments($node);
	$node->start;
	my $log = wait_log($node, qr/aether: (redo done|crash recovery failed)/, $logpos, 120);
	like($log, qr/aether: redo done: [1-9]/, "$label: recovery replays the log");
	unlike($log, qr/aether.*(missing|damaged)|PANIC/, "$label: no missing or damaged log reported");
	is(table_rows(), $want, "$label: every committed row is there");
	my ($first, $last) = ($next_id, $next_id + 999);
	ok(defined try_sql($node,
		"INSERT INTO r SELECT g, 'after' FROM generate_series($first, $last) g"),
		"$label: the server takes writes again");
	$next_id = $last + 1;
	is(table_rows(), expected_rows(), "$label: and keeps them");
	# recovery removed the files after the end: their inodes may be reused
	%inode_seen = ();
	note_segments();
	return scalar(keys %$segs_before);
}

into_recycled_file('crash 1');
my $files = crash_and_recover('crash 1');
note "crash 1: $files log files at the crash";

$redo = round() for 1 .. 4;
check_files('after 4 more rounds', $redo);
into_recycled_file('crash 2');
crash_and_recover('crash 2');

$redo = round() for 1 .. 2;
check_files('after the second recovery', $redo);

# ------------------------------------------------------------------ 4. the bound
# ~100 MB of log with no checkpoint (aether.max_wal_size = 1GB meanwhile),
# then aether.max_wal_size = 32MB (2 segments ahead) and a checkpoint: it
# retires six segments or more at once, recycles what fits and removes the rest.
$node->append_conf('postgresql.conf', "aether.max_wal_size = 1GB\n");
$node->reload;
my $lowest = (sort { $a <=> $b } keys %{ log_segments($node) })[0];
my $recycled = stat_value('recycled_segments');
for (1 .. 6)
{
	my ($first, $last) = ($next_id, $next_id + $ROWS - 1);
	$node->safe_psql('postgres',
		"INSERT INTO r SELECT g, repeat('z', 200) FROM generate_series($first, $last) g");
	$next_id = $last + 1;
}
$node->append_conf('postgresql.conf', "aether.max_wal_size = 32MB\n");
$node->reload;
usleep(500_000);
$redo = $node->safe_psql('postgres', 'SELECT aether_checkpoint()');
check_files('one checkpoint after 100 MB', $redo, 2);
my $retired = (sort { $a <=> $b } keys %{ log_segments($node) })[0] - $lowest;
my $more = stat_value('recycled_segments') - $recycled;
note "one checkpoint after 100 MB: $retired segments retired, $more recycled";
cmp_ok($retired, '>=', 5, 'the checkpoint retired five segments or more');
cmp_ok($more, '<=', 2, 'at most 2 were recycled (aether.max_wal_size = 32MB), the others removed');
is(table_rows(), expected_rows(), 'the rows are there');

$node->restart;
is(table_rows(), expected_rows(), 'all rows after a clean restart');
$node->stop;
done_testing();
