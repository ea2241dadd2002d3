# Crash recovery: the clean path and the failure cases.
#
# 1. clean: after a clean (fast) shutdown, the start needs no redo and says
#    so in the server log ($CLEAN_START_RE); after a kill -9 it does not.
# 2. torn: a data page of an aether table torn on disk (second half
#    garbage) after a crash is repaired from the full-page image that
#    Aether's log holds for the first change of that page after the last
#    checkpoint; the data is correct and aether_verify passes.
# 3. corrupt log: bytes in the middle of the log that recovery needs are
#    overwritten. Recovery must not stop there silently, as if it were the
#    torn tail of the log: the committed work after that point would be lost
#    without a word. Expected: the server refuses to start (FATAL) or queries
#    on aether tables fail, and the log has a message from aether naming the
#    log file or position. Never: a table served without an error but with
#    contents other than the committed ones.
#    3a. The damage lies between the last checkpoint's redo point and the
#        log end that checkpoint found durable (pg_aether/control: redo and
#        end LSN): log written by a concurrent INSERT while the checkpoint
#        ran. Recovery knows the log must reach that end.
#    3b. The damage lies early in committed work B done after the last
#        checkpoint (work A, aether_checkpoint(), work B, a pause of 1.5 s,
#        kill -9). Beyond the checkpoint's end LSN, but the background worker
#        records the durable log end in the control file every second, so
#        recovery knows the log must reach past the damage.
#    3c. The damage lies in the last second of log before the crash, past
#        the durable end the control file records: many small committed
#        transactions, then kill -9 at once. Records about no page (each
#        transaction's first-insert note, commits) carry the LSN up to which
#        the log was durable when they were made; intact ones after the
#        damage show that it lies in log that was durable, so it is not a
#        torn tail.
# 4. missing segment: the log segment holding the last checkpoint's redo
#    position is deleted (later segments remain). Expected: FATAL naming the
#    missing file; never a partial table served without an error.
#
# Each case runs on its own node. Aether's timed and size-triggered
# checkpoints are pushed out of the way (1 h, 10 GB of log), so the only
# checkpoints are the test's aether_checkpoint() calls, and the pages
# changed after them are on disk only where the test put them there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use Fcntl qw(SEEK_SET);
use FindBin;
use lib $FindBin::Bin;
use AetherTest;

# What a start after a clean shutdown logs (wording chosen by the recovery
# code; adjust here).
my $CLEAN_START_RE = qr/aether:.*(clean shutdown|no redo)/i;
# What recovery logs for a damaged log (case 3).
my $LOG_ERROR_RE = qr/aether.*(corrupt|invalid|missing|damaged)/i;
# ... and that message (or the line after it) names the log file or position.
my $LOG_WHERE_RE = qr/log\.[0-9a-f]{16}|\b(position|lsn|offset)\s+[0-9a-fx\/]+/i;

my $BLCKSZ      = 8192;
my $LOG_SEG     = 16 * 1024 * 1024;

# ------------------------------------------------------------------ helpers

sub new_node
{
	my ($name) = @_;
	return aether_node($name, q{
aether.checkpoint_timeout = 3600
aether.max_wal_size = 10GB
});
}

# Run SQL without dying: stdout, or undef (error noted) on failure.
sub sql { return try_sql(@_); }

# Aether's checkpoint. If aether_checkpoint() does not exist (or fails), the
# failure is a test failure, and aether_flush() stands in for it so that the
# rest of the case still runs.
sub checkpoint
{
	my ($node, $label) = @_;
	my $ok = defined sql($node, 'SELECT aether_checkpoint()');
	ok($ok, "$label: SELECT aether_checkpoint() works");
	sql($node, 'SELECT aether_flush()') unless $ok;
}

sub lsn
{
	my ($node, $col) = @_;
	return sql($node, "SELECT $col FROM aether_stats()");
}

# pg_aether/control (engine/include/aether/checkpoint.h): redo and end LSN.
sub read_control
{
	my ($node) = @_;
	my $f = $node->data_dir . '/pg_aether/control';
	open(my $fh, '<', $f) or return ();
	binmode $fh;
	my $n = read($fh, my $buf, 64);
	close $fh;
	return () unless defined $n && $n == 64 && substr($buf, 0, 4) eq 'AECT';
	my ($redo, $end) = unpack('Q< Q<', substr($buf, 16, 16));
	return ($redo, $end);
}

# XOR $len bytes at log position $pos (file pg_aether/log.<segment>).
sub damage_log
{
	my ($node, $label, $pos, $len) = @_;
	my $seg = $node->data_dir . '/pg_aether/' . segment_name($pos);
	my $segoff = $pos % $LOG_SEG;
	note "$label: overwriting $len bytes at log position $pos ($seg offset $segoff)";
	ok(-e $seg && -s $seg >= $segoff + $len, "$label: " . segment_name($pos)
		  . " holds log position $pos") or return;
	open(my $fh, '+<', $seg) or die "open $seg: $!";
	binmode $fh;
	sysseek($fh, $segoff, SEEK_SET) or die "seek: $!";
	my $got = sysread($fh, my $buf, $len);
	die "read: $!" unless defined $got && $got == $len;
	$buf ^= "\xff" x $len;
	sysseek($fh, $segoff, SEEK_SET) or die "seek: $!";
	syswrite($fh, $buf) == $len or die "write: $!";
	close($fh) or die "close: $!";
}

sub segment_name { return sprintf('log.%016x', int($_[0] / $LOG_SEG)); }

# ------------------------------------------------------------------ 1. clean
{
	my $node = new_node('clean');
	my $content_q = "SELECT count(*), sum(id), md5(string_agg(v, ',' ORDER BY id)) FROM c";
	$node->safe_psql(
		'postgres', q{
		CREATE TABLE c (id int PRIMARY KEY, v text) USING aether;
		-- UPDATEs of v write index entries, hence PostgreSQL WAL: their
		-- commits are flushed at COMMIT (an aether-only commit is covered by
		-- 007_crash_recovery.pl)
		CREATE INDEX c_v ON c (v);
		INSERT INTO c SELECT g, 'c' || g FROM generate_series(1, 20000) g;
		UPDATE c SET v = v || 'u' WHERE id % 7 = 0;
	});
	my $content = $node->safe_psql('postgres', $content_q);

	my $off = -s $node->logfile;
	$node->restart;
	is(sql($node, $content_q), $content, 'clean: contents after the restart');
	my $log = wait_log($node, $CLEAN_START_RE, $off);
	like($log, $CLEAN_START_RE, 'clean: after $node->restart the log says no redo was needed');

	# The same with the start's own log only (a message written at shutdown
	# does not count).
	$node->safe_psql('postgres', "UPDATE c SET v = v || 'w' WHERE id % 11 = 0");
	$content = $node->safe_psql('postgres', $content_q);
	$node->stop('fast');
	$off = -s $node->logfile;
	$node->start;
	is(sql($node, $content_q), $content, 'clean: contents after stop and start');
	$log = wait_log($node, $CLEAN_START_RE, $off);
	like($log, $CLEAN_START_RE, 'clean: a start after a fast stop says no redo was needed');

	# After a crash with committed work after the last checkpoint, redo is
	# needed: the start must not claim a clean start.
	checkpoint($node, 'clean');
	$node->safe_psql('postgres', "UPDATE c SET v = v || 'x' WHERE id % 13 = 0");
	$content = $node->safe_psql('postgres', $content_q);
	crash_server($node, 'clean', must_run => 1);
	$off = -s $node->logfile;
	ok($node->start(fail_ok => 1), 'clean: the server starts after kill -9');
	is(sql($node, $content_q), $content, 'clean: contents after kill -9 and start');
	# the query waited for recovery; give its last messages a moment
	$log = wait_log($node, $CLEAN_START_RE, $off, 2);
	unlike($log, $CLEAN_START_RE, 'clean: after kill -9 the start does not claim a clean start');
	note "start after kill -9 logged:\n" . join("\n", grep { /aether/i } split /\n/, $log);
	ok(defined sql($node, "SELECT * FROM aether_verify('c')"), 'clean: aether_verify passes');
	$node->stop('fast', fail_ok => 1);
}

# ------------------------------------------------------------------ 2. torn page
{
	my $node = new_node('torn');
	my $content_q = "SELECT count(*), sum(id), md5(string_agg(v, ',' ORDER BY id)) FROM torn";
	$node->safe_psql(
		'postgres', q{
		CREATE TABLE torn (id int PRIMARY KEY, v text) USING aether;
		INSERT INTO torn SELECT g, 'row ' || g || ' ' || repeat('x', 80)
			FROM generate_series(1, 5000) g;
	});
	checkpoint($node, 'torn');
	my $file = $node->data_dir . '/'
	  . $node->safe_psql('postgres', "SELECT pg_relation_filepath('torn')");
	my $before = slurp_file($file);
	my $nblocks = length($before) / $BLCKSZ;
	cmp_ok($nblocks, '>=', 4, "torn: the table has $nblocks blocks on disk after the checkpoint");

	# Change every row (every leaf), then write the pages so that the file
	# shows which blocks changed since the checkpoint; one of them is torn.
	$node->safe_psql('postgres', "UPDATE torn SET v = v || ' updated'");
	$node->safe_psql('postgres', 'SELECT aether_flush()');
	my $content = $node->safe_psql('postgres', $content_q);
	my $after = slurp_file($file);
	my @changed = grep {
		$_ * $BLCKSZ < length($before)
		  && substr($before, $_ * $BLCKSZ, $BLCKSZ) ne substr($after, $_ * $BLCKSZ, $BLCKSZ)
	} 1 .. (length($after) / $BLCKSZ - 1);
	ok(@changed > 0, 'torn: the update changed blocks that the checkpoint had written')
	  or BAIL_OUT('no block to tear: test bug');
	my $blk = (grep { $_ == 1 } @changed) ? 1 : $changed[0];
	note "torn: changed blocks: @changed; tearing block $blk";

	crash_server($node, 'torn', must_run => 1);

	# A torn write: the first half of the block is the new page, the second
	# half garbage.
	open(my $fh, '+<', $file) or die "open $file: $!";
	binmode $fh;
	sysseek($fh, $blk * $BLCKSZ + $BLCKSZ / 2, SEEK_SET) or die "seek: $!";
	my $garbage = join('', map { chr(($_ * 131 + 7) % 256) } 1 .. $BLCKSZ / 2);
	syswrite($fh, $garbage) == $BLCKSZ / 2 or die "write: $!";
	close($fh) or die "close: $!";

	my $off = -s $node->logfile;
	ok($node->start(fail_ok => 1), 'torn: the server starts after kill -9 with a torn page');
	is(sql($node, $content_q), $content,
		'torn: the data is correct (the torn page was restored from the log)');
	ok(defined sql($node, "SELECT * FROM aether_verify('torn')"),
		'torn: aether_verify passes (structure and checksums)');
	is( sql(
			$node, q{SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT count(*), sum(id) FROM torn WHERE id > 0}),
		'5000|12502500',
		'torn: an index scan finds every row');
	$node->stop('fast', fail_ok => 1);
	my $log = slurp_file($node->logfile, $off);
	unlike($log, qr/PANIC|TRAP:|terminated by signal/, 'torn: no process crashed');
}

my $LOGT_Q = "SELECT count(*), sum(id), md5(string_agg(v, ',' ORDER BY id)) FROM logt";

# A damaged log: after a crash, do something to the log, then start.
# Checks what cases 3 and 4 expect of the start and of queries afterwards.
sub expect_refusal
{
	my ($node, $label, $expected, %opt) = @_;
	my $off = -s $node->logfile;
	my $started = $node->start(fail_ok => 1);
	my ($res, $err) = (undef, '');
	if ($started)
	{
		$res = sql($node, $LOGT_Q, error => \$err, quiet => 1);
		note "$label: the server started; the query "
		  . (defined $res ? "returned $res" : "failed: $err");
	}
	else
	{
		note "$label: the server did not start";
	}
	ok(!$started || !defined $res,
		"$label: the server refuses to start or queries on the aether table fail");
	ok(!defined $res || $res eq $expected,
		"$label: never a partial table without an error")
	  or diag("$label: got $res, the committed contents are $expected");
	my $log = slurp_file($node->logfile, $off);
	my @aether = grep { /aether/i } split /\n/, $log;
	note "$label: aether lines in the server log:\n" . join("\n", @aether);
	if ($opt{missing})
	{
		like($log, qr/FATAL:.*aether/i, "$label: a FATAL from aether");
		like($log, qr/\Q$opt{missing}\E/, "$label: the log names the missing file $opt{missing}");
	}
	else
	{
		like($log, $LOG_ERROR_RE, "$label: aether reports the damaged log");
		# the reporting lines, each with the line after it (DETAIL, HINT)
		my @lines = split /\n/, $log;
		my @reports = map { $lines[$_] . "\n" . ($lines[ $_ + 1 ] // '') }
		  grep { $lines[$_] =~ $LOG_ERROR_RE } 0 .. $#lines;
		ok((grep { /$LOG_WHERE_RE/ } @reports),
			"$label: the report names the log file or position");
		ok((grep { /\b(FATAL|LOG|ERROR|PANIC):/ } @reports),
			"$label: the report is at FATAL or LOG level");
	}
	# A refusal is FATAL (or PANIC); a segfault or failed assertion is a bug.
	unlike($log, qr/TRAP:|terminated by signal 11/, "$label: no segfault or assertion failure");
	$node->stop('immediate', fail_ok => 1) if $started;
}

# ------------------------------------------------------------------ 3a. corrupt log
# inside the last checkpoint's range
{
	my $label = 'corrupt log (checkpoint range)';
	my $node = new_node('corrupt_ckpt');
	# work A, and plenty of dirty pages so that the checkpoint takes a while
	$node->safe_psql(
		'postgres', q{
		CREATE TABLE logt (id int PRIMARY KEY, v text) USING aether;
		INSERT INTO logt SELECT g, 'A ' || g || repeat('a', 100) FROM generate_series(1, 20000) g;
		CREATE TABLE dirty (id int, pad text) USING aether;
		INSERT INTO dirty SELECT g, repeat('d', 150) FROM generate_series(1, 250000) g;
	});
	# A concurrent INSERT logs while the checkpoint writes the dirty pages:
	# that log lies between the checkpoint's redo point and its end.
	my ($redo, $end);
	my $n = 20000;
	for my $attempt (1 .. 3)
	{
		my ($lo, $hi) = ($n + 1, $n + 200000);
		my $bg = $node->background_psql('postgres');
		$bg->query_until(qr/started/, "\\echo started\n"
			  . "INSERT INTO logt SELECT g, 'B ' || g || repeat('b', 100) FROM generate_series($lo, $hi) g;\n");
		usleep(300_000);
		my $ret = sql($node, 'SELECT aether_checkpoint()');
		$bg->query_safe('SELECT 1');    # the INSERT has committed
		$bg->quit;
		$n = $hi;
		($redo, $end) = read_control($node);
		note "$label: attempt $attempt: aether_checkpoint() returned "
		  . ($ret // 'an error') . "; control file: redo " . ($redo // '?') . ", end " . ($end // '?');
		last if defined $end && $end - $redo >= 64 * 1024;
		# more dirty pages for a longer checkpoint next time
		$node->safe_psql('postgres', "UPDATE dirty SET pad = pad || 'x'");
	}
	ok(defined $end && $end - $redo >= 64 * 1024,
		"$label: the last checkpoint's range holds log written during it (at least 64 kB)")
	  or diag("$label: cannot place the damage; redo " . ($redo // '?') . ", end " . ($end // '?'));
	my $expected = $node->safe_psql('postgres', $LOGT_Q);
	like($expected, qr/^$n\|/, "$label: $n rows committed");
	crash_server($node, $label, must_run => 1);
	damage_log($node, $label, $redo + int(($end - $redo) / 2), 64)
	  if defined $end && $end - $redo >= 64 * 1024;
	expect_refusal($node, $label, $expected);
}

# ------------------------------------------------------------------ 3b. corrupt log
# early in the work done after the last checkpoint
{
	my $label = 'corrupt log (after checkpoint)';
	my $node = new_node('corrupt_log');
	# work A, then a checkpoint
	$node->safe_psql(
		'postgres', q{
		CREATE TABLE logt (id int PRIMARY KEY, v text) USING aether;
		INSERT INTO logt SELECT g, 'A ' || g || repeat('a', 100) FROM generate_series(1, 20000) g;
	});
	checkpoint($node, $label);
	my $b_start = lsn($node, 'wal_insert_lsn');
	# work B: committed, several MB of log after the checkpoint
	my $n = 20000;
	for my $i (1 .. 40)
	{
		my ($lo, $hi) = ($n + 1, $n + 20000);
		$node->safe_psql('postgres',
			"INSERT INTO logt SELECT g, 'B ' || g || repeat('b', 100) FROM generate_series($lo, $hi) g");
		$n = $hi;
		last if lsn($node, 'wal_flushed_lsn') - $b_start > 6 * 1024 * 1024;
	}
	$node->safe_psql('postgres', "UPDATE logt SET v = v || 'B2' WHERE id % 10 = 0");
	my $b_end = lsn($node, 'wal_flushed_lsn');
	my $expected = $node->safe_psql('postgres', $LOGT_Q);
	like($expected, qr/^$n\|/, "$label: $n rows committed");
	note sprintf("%s: work B is log %d .. %d (%.1f MB)",
		$label, $b_start, $b_end, ($b_end - $b_start) / 1048576);
	cmp_ok($b_end - $b_start, '>', 4 * 1024 * 1024, "$label: work B wrote several MB of log");
	usleep(1_500_000);			# the worker records the durable log end every second
	crash_server($node, $label, must_run => 1);

	# Early in B (in its first INSERT), well before its end: everything B
	# committed after this point is only in the log.
	my $target = $b_start + 256 * 1024;
	damage_log($node, $label, $target, 64);
	expect_refusal($node, $label, $expected);
}

# ------------------------------------------------------------------ 3c. corrupt log
# in the last second before the crash, past the control file's durable end
{
	my $label = 'corrupt log (last second)';
	my $node = new_node('corrupt_last');
	$node->safe_psql(
		'postgres', q{
		CREATE TABLE logt (id int PRIMARY KEY, v text) USING aether;
		INSERT INTO logt SELECT g, 'A ' || g || repeat('a', 100) FROM generate_series(1, 20000) g;
		CREATE PROCEDURE one_by_one(lo int, hi int) LANGUAGE plpgsql AS $$
		BEGIN
			FOR i IN lo .. hi LOOP
				INSERT INTO logt VALUES (i, 'C ' || i || repeat('c', 100));
				COMMIT;
			END LOOP;
		END $$;
	});
	checkpoint($node, $label);
	my ($n, $expected, $c_start, $c_end, $ctl_end) = (20000);
	for my $attempt (1 .. 3)
	{
		# work C: 400 transactions, each committed (and flushed) on its own
		$c_start = lsn($node, 'wal_insert_lsn');
		$node->safe_psql('postgres', 'CALL one_by_one(' . ($n + 1) . ', ' . ($n + 400) . ')');
		$n += 400;
		$c_end = lsn($node, 'wal_flushed_lsn');
		$expected = $node->safe_psql('postgres', $LOGT_Q);
		crash_server($node, $label, must_run => 1);
		(undef, $ctl_end) = read_control($node);
		note "$label: attempt $attempt: work C is log $c_start .. $c_end, the control file's end "
		  . ($ctl_end // '?');
		last if defined $ctl_end && $c_end - ($ctl_end > $c_start ? $ctl_end : $c_start) >= 16 * 1024;
		# the worker's once-a-second note covered work C: start again (no damage yet)
		$node->start;
	}
	my $from = $ctl_end > $c_start ? $ctl_end : $c_start;
	ok($c_end - $from >= 16 * 1024,
		"$label: committed work lies past the control file's durable end (at least 16 kB)");
	like($expected, qr/^$n\|/, "$label: $n rows committed");
	damage_log($node, $label, $from + int(($c_end - $from) / 3), 64);
	expect_refusal($node, $label, $expected);
}

# ------------------------------------------------------------------ 4. missing segment
{
	my $node = new_node('missing_segment');
	$node->safe_psql(
		'postgres', q{
		CREATE TABLE logt (id int PRIMARY KEY, v text) USING aether;
		INSERT INTO logt SELECT g, 'A ' || g || repeat('a', 100) FROM generate_series(1, 20000) g;
	});
	checkpoint($node, 'missing segment');
	my $redo = lsn($node, 'wal_insert_lsn');
	# work B: enough log to reach past the checkpoint's segment into the next
	# ones, so the missing file is not the last one
	my $n = 20000;
	for my $i (1 .. 60)
	{
		my ($lo, $hi) = ($n + 1, $n + 20000);
		$node->safe_psql('postgres',
			"INSERT INTO logt SELECT g, 'B ' || g || repeat('b', 150) FROM generate_series($lo, $hi) g");
		$n = $hi;
		last if int(lsn($node, 'wal_flushed_lsn') / $LOG_SEG) >= int($redo / $LOG_SEG) + 2;
	}
	my $b_end = lsn($node, 'wal_flushed_lsn');
	my $expected = $node->safe_psql('postgres', $LOGT_Q);
	my $name = segment_name($redo);
	note "missing segment: checkpoint near log position $redo, work B ends at $b_end; removing $name";
	cmp_ok(int($b_end / $LOG_SEG), '>', int($redo / $LOG_SEG),
		'missing segment: work B reaches past the checkpoint\'s segment');
	crash_server($node, 'missing segment', must_run => 1);
	my $seg = $node->data_dir . "/pg_aether/$name";
	ok(-e $seg, "missing segment: $name exists before the test removes it");
	unlink $seg;
	expect_refusal($node, 'missing segment', $expected, missing => $name);
}

done_testing();
