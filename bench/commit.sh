#!/bin/bash
# bench/commit.sh — the commit path and crash recovery, heap and aether side
# by side in ONE server run with synchronous_commit = on; prints a table with
# the ratio aether/heap. See bench/README.md ("commit.sh") for what each line
# measures. Takes about 4-6 minutes with the defaults on 2 cores.
#
#   BENCH_SECONDS      duration of each pgbench -T run         (default 15)
#   BENCH_SCALE        pgbench TPC-B scale factor              (default 10)
#   BENCH_CLIENTS      client counts, space-separated          (default "1 8 32")
#   BENCH_FSYNC_CLIENTS  the client count whose run counts fsyncs (default 8)
#   BENCH_SIDE_ROUNDS  rounds of heap and aether run at the same time (default 3)
#   BENCH_RECOVERY_MB  log to generate before the crash, MB    (default 1024)
#   BENCH_LOAD_TIMEOUT seconds allowed per log-generating load (default 300)
#   BENCH_PORT         port of the temporary server            (default 5496)
# Results also go to bench/out/commit-<timestamp>.txt.
set -Eeuo pipefail
. "$(dirname "$0")/common.sh"

SECS=${BENCH_SECONDS:-15}
SCALE=${BENCH_SCALE:-10}
read -r -a CLIENT_COUNTS <<<"${BENCH_CLIENTS:-1 8 32}"
FSYNC_CLIENTS=${BENCH_FSYNC_CLIENTS:-8}
SIDE_ROUNDS=${BENCH_SIDE_ROUNDS:-3}
RECOVERY_MB=${BENCH_RECOVERY_MB:-1024}
LOAD_TIMEOUT=${BENCH_LOAD_TIMEOUT:-300}
PORT=${BENCH_PORT:-5496}
AMS=(heap aether)

BENCH_NAME_WIDTH=40
bench_build
# "bench" is the control database: statistics are read from there, so that
# those queries do not count as commits of the measured database.
bench_server bench-commit "$PORT" <<CONF
synchronous_commit = on             # every commit waits for its log fsync
fsync = on
# no checkpoint unless the script asks for one (both logs)
checkpoint_timeout = 3600s
max_wal_size = 100GB
aether.checkpoint_timeout = 3600s
aether.max_wal_size = 100000MB
max_connections = 100
log_line_prefix = '%n %m [%p] '     # %n: Unix epoch with ms, parsed below
log_checkpoints = on
CONF
xacts_of() { sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' | tail -n 1; }
now_s() { date +%s.%3N; }
checkpoint_both() { q "CHECKPOINT" && q "SELECT aether_checkpoint()" >/dev/null; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN { if (b + 0 > 0) printf f, a / b; else print "-" }'; }

section "1. pgbench TPC-B databases (scale $SCALE)"
for am in "${AMS[@]}"; do
	db=tpcb_$am
	bench_tpcb_db "$am" "$SCALE" || die "pgbench -i failed for $am (see $WORK/bench.log)"
	[ "$TPCB_AM" = "$am" ] || die "$db: pgbench_accounts uses $TPCB_AM, expected $am"
done

# One pgbench run; sets TPS, XACTS, FAILS and, around the run, the counter
# deltas D_COMMITS (pg_stat_database.xact_commit of the database),
# D_WALSYNC (pg_stat_wal.wal_sync), D_FLUSHES / D_REQUESTS
# (pg_stat_aether_wal.flushes / flush_requests), D_LOGBYTES (bytes written
# to PostgreSQL's WAL plus Aether's log: each run starts right after a
# checkpoint, so full-page images count as they do in a real run).
counters() {	# db -> "xact_commit wal_sync flushes flush_requests log_bytes"
	q "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = '$1'),
	          (SELECT wal_sync FROM pg_stat_wal),
	          flushes, flush_requests,
	          pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint + bytes
	   FROM pg_stat_aether_wal" | tr '|' ' '
}
tpcb() {	# am clients
	local db=tpcb_$1 c=$2 out b a
	checkpoint_both
	sleep 1
	read -r -a b <<<"$(counters "$db")"
	if ! out=$(as_user timeout $((SECS + 120)) "${PGBENCH[@]}" -n -M prepared -c "$c" -j $((c < 2 ? c : 2)) \
			-T "$SECS" --random-seed=1 "$db" 2>&1); then
		echo "$out" >> "$WORK/bench.log"
		return 1
	fi
	echo "$out" >> "$WORK/bench.log"
	sleep 1		# backends flush their statistics as they exit
	read -r -a a <<<"$(counters "$db")"
	TPS=$(tps_of <<<"$out")
	XACTS=$(xacts_of <<<"$out")
	# PostgreSQL 15's pgbench counts deadlocks and serialization failures
	FAILS=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out" | tail -n 1)
	FAILS=${FAILS:-0}
	D_COMMITS=$((a[0] - b[0]))
	D_WALSYNC=$((a[1] - b[1]))
	D_FLUSHES=$((a[2] - b[2]))
	D_REQUESTS=$((a[3] - b[3]))
	D_LOGBYTES=$((a[4] - b[4]))
}

section "2. pgbench TPC-B, synchronous_commit = on (${SECS}s per run, -M prepared)"
LATER=()	# the fsync lines, put after all the tps lines
later() { LATER+=("$1|$2|$3|$4"); }
# The order alternates from one client count to the next (heap first, then
# aether first, ...): throughput on this VM drifts by 10-20% over minutes, and
# a fixed order would hand that drift to one engine. A client count listed
# more than once (BENCH_CLIENTS="8 8 8 8") adds a line with all its runs'
# transactions and the median of the pairs' ratios.
declare -A SUMX PAIRX PAIRS
for i in "${!CLIENT_COUNTS[@]}"; do
	c=${CLIENT_COUNTS[$i]}
	if [ $((i % 2)) = 0 ]; then order=(heap aether); else order=(aether heap); fi
	for am in "${order[@]}"; do
		PAIRX[$am]=
		if ! tpcb "$am" "$c"; then
			put "TPC-B $c clients" tps "$am" FAILED
			put "TPC-B $c clients: failed xacts" n "$am" FAILED
			[ "$c" != "$FSYNC_CLIENTS" ] || later "$c clients: commits counted" n "$am" FAILED
			continue
		fi
		put "TPC-B $c clients" tps "$am" "$TPS"
		put "TPC-B $c clients: failed xacts" n "$am" "$FAILS"
		PAIRX[$am]=$XACTS
		SUMX[$c,$am]=$(( ${SUMX[$c,$am]:-0} + XACTS ))
		[ "$c" = "$FSYNC_CLIENTS" ] || continue
		say "    ($c clients, $am: pgbench $XACTS transactions, $FAILS failed; xact_commit +$D_COMMITS," \
			"wal_sync +$D_WALSYNC, aether flushes +$D_FLUSHES, flush_requests +$D_REQUESTS)"
		later "$c clients: commits counted" n "$am" "$D_COMMITS"
		if [ "$am" = heap ]; then
			later "$c clients: Aether log fsyncs/commit" n heap -
			later "$c clients: commits per Aether log fsync" n heap -
		else
			later "$c clients: Aether log fsyncs/commit" n aether "$(div "$D_FLUSHES" "$D_COMMITS")"
			later "$c clients: commits per Aether log fsync" n aether "$(div "$D_COMMITS" "$D_FLUSHES" %.2f)"
		fi
		later "$c clients: PostgreSQL WAL fsyncs/commit" n "$am" "$(div "$D_WALSYNC" "$D_COMMITS")"
		later "$c clients: all fsyncs/commit" n "$am" "$(div $((D_WALSYNC + D_FLUSHES)) "$D_COMMITS")"
		later "$c clients: log bytes/commit (WAL + Aether log)" B "$am" "$(div "$D_LOGBYTES" "$D_COMMITS" %.0f)"
		if [ "$am" = aether ]; then
			later "avg_group_commit_batch (view)" n heap -
			later "avg_group_commit_batch (view)" n aether \
				"$(q "SELECT coalesce(round(avg_group_commit_batch::numeric, 2)::text, 'NULL') FROM pg_stat_aether_wal")"
		fi
	done
	if [ -n "${PAIRX[heap]}" ] && [ -n "${PAIRX[aether]}" ]; then
		PAIRS[$c]="${PAIRS[$c]:-} $(div "${PAIRX[aether]}" "${PAIRX[heap]}")"
	fi
done
for c in $(printf '%s\n' "${CLIENT_COUNTS[@]}" | sort -n | uniq -d); do
	read -r -a ratios <<<"${PAIRS[$c]:-}"
	[ "${#ratios[@]}" -gt 1 ] || continue
	median=$(printf '%s\n' "${ratios[@]}" | sort -n |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	say "    $c clients, one after the other: pair ratios${PAIRS[$c]}; median $median"
	put "TPC-B $c clients, all ${#ratios[@]} pairs" xacts heap "${SUMX[$c,heap]}"
	put "TPC-B $c clients, all ${#ratios[@]} pairs" xacts aether "${SUMX[$c,aether]}"
	put "TPC-B $c clients, median of the pairs' ratios" ratio heap 1
	put "TPC-B $c clients, median of the pairs' ratios" ratio aether "$median"
done
for l in "${LATER[@]}"; do
	IFS='|' read -r n u am v <<<"$l"
	put "$n" "$u" "$am" "$v" >/dev/null
done

section "2b. TPC-B, heap and aether at the same time ($FSYNC_CLIENTS clients each, $SIDE_ROUNDS x ${SECS}s)"
# Both databases run at once in each round: they share the CPUs and the disk,
# so load from outside this VM moves both alike, and the ratio is steadier
# than that of runs one after the other (section 2).
side_heap=0
side_aether=0
side_ok=1
for r in $(seq "$SIDE_ROUNDS"); do
	checkpoint_both
	sleep 1
	for am in "${AMS[@]}"; do
		as_user timeout $((SECS + 120)) "${PGBENCH[@]}" -n -M prepared -c "$FSYNC_CLIENTS" \
			-j $((FSYNC_CLIENTS < 2 ? FSYNC_CLIENTS : 2)) -T "$SECS" --random-seed="$r" \
			"tpcb_$am" > "$WORK/side.$am" 2>&1 &
		eval "side_pid_$am=$!"
	done
	wait "$side_pid_heap" || side_ok=0
	wait "$side_pid_aether" || side_ok=0
	cat "$WORK/side.heap" "$WORK/side.aether" >> "$WORK/bench.log"
	xh=$(xacts_of < "$WORK/side.heap")
	xa=$(xacts_of < "$WORK/side.aether")
	say "    round $r: heap ${xh:-?}, aether ${xa:-?} transactions ($(div "${xa:-0}" "${xh:-0}" %.3f))"
	side_heap=$((side_heap + ${xh:-0}))
	side_aether=$((side_aether + ${xa:-0}))
done
if [ "$side_ok" = 1 ]; then
	put "TPC-B $FSYNC_CLIENTS clients each, at the same time" xacts heap "$side_heap"
	put "TPC-B $FSYNC_CLIENTS clients each, at the same time" xacts aether "$side_aether"
else
	put "TPC-B $FSYNC_CLIENTS clients each, at the same time" xacts heap FAILED
	put "TPC-B $FSYNC_CLIENTS clients each, at the same time" xacts aether FAILED
fi

section "3. crash recovery: about $RECOVERY_MB MB of log per AM, one crash for both"
# Tables without indexes, so that the aether load writes (almost) nothing to
# PostgreSQL's WAL and the heap load nothing to Aether's log.
for am in "${AMS[@]}"; do
	q "CREATE TABLE r_$am (id bigint NOT NULL, v int NOT NULL, filler text NOT NULL) USING $am"
	q "CREATE TABLE hot_$am (id int NOT NULL, v int NOT NULL) USING $am"
	q "INSERT INTO hot_$am SELECT g, 0 FROM generate_series(1, 10000) g"
done
checkpoint_both
# Log written since each log's last checkpoint redo point, in bytes.
volume() {
	case $1 in
	aether) q "SELECT insert_lsn - checkpoint_redo_lsn FROM pg_stat_aether_wal" ;;
	heap)   q "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn)::bigint FROM pg_control_checkpoint()" ;;
	esac
}
declare -A ROWS LOADS
target=$((RECOVERY_MB * 1024 * 1024))
batch=100000
for am in aether heap; do	# aether first: the heap load is then the bulk of PostgreSQL's redo
	n=0 t0=$(now_s) ok=1
	vol=$(volume "$am")
	while [ "$vol" -lt "$target" ]; do
		# one transaction each: 100k inserted rows, 10k updated rows
		if ! vol=$("${PSQL[@]}" -d bench -At \
				-c "INSERT INTO r_$am SELECT g, 0, repeat(md5(g::text), 3)
				      FROM generate_series($((n + 1)), $((n + batch))) g" \
				-c "UPDATE hot_$am SET v = v + 1" \
				-c "$( [ "$am" = aether ] &&
					echo "SELECT insert_lsn - checkpoint_redo_lsn FROM pg_stat_aether_wal" ||
					echo "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), redo_lsn)::bigint FROM pg_control_checkpoint()")" \
				2>>"$WORK/bench.log"); then
			ok=0; break
		fi
		n=$((n + batch))
		if awk -v t0="$t0" -v t="$(now_s)" -v lim="$LOAD_TIMEOUT" 'BEGIN { exit !(t - t0 > lim) }'; then
			say "  $am: load stopped after ${LOAD_TIMEOUT}s"
			break
		fi
	done
	ROWS[$am]=$n
	LOADS[$am]=$ok
	say "  $am: $n rows inserted, $((vol / 1048576)) MB of log since the checkpoint," \
		"$(awk -v t0="$t0" -v t="$(now_s)" 'BEGIN { printf "%.1f", t - t0 }') s"
done
q "SELECT 'before the crash: Aether log insert ' || insert_lsn || ' flushed ' || flushed_lsn ||
          ' redo ' || checkpoint_redo_lsn FROM pg_stat_aether_wal"
q "SELECT 'before the crash: PostgreSQL WAL insert ' || pg_current_wal_insert_lsn() ||
          ' flush ' || pg_current_wal_flush_lsn() || ' redo ' || redo_lsn FROM pg_control_checkpoint()"

say "  crash: pg_ctl stop -m immediate (no shutdown checkpoint for either log)"
log_before=$(stat -c %s "$LOG")
as_user "$PG_BINDIR/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null
t_start=$(now_s)
as_user "$PG_BINDIR/pg_ctl" -D "$DATA" -l "$LOG" -w -t 1200 start >/dev/null
t_pg_ready=$(now_s)
# A query on an aether table waits until Aether's recovery (redo and the
# checkpoint after it) is done.
"${PSQL[@]}" -d bench -Atc "SELECT count(*) FROM hot_aether" >/dev/null
t_ae_ready=$(now_s)
tail -c +"$((log_before + 1))" "$LOG" > "$WORK/recovery.log"
grep -E 'interrupted|not properly|redo starts|redo done|ready to accept|aether: (recovery|redo|clean)' "$WORK/recovery.log" | sed 's/^/    /'
say "  server up after $(awk -v a="$t_start" -v b="$t_pg_ready" 'BEGIN { printf "%.1f", b - a }') s," \
	"aether tables after $(awk -v a="$t_start" -v b="$t_ae_ready" 'BEGIN { printf "%.1f", b - a }') s"

ts_of() { awk -v pat="$1" '$0 ~ pat { print $1; exit }' "$WORK/recovery.log"; }
# heap: PostgreSQL's redo
pg_start=$(sed -n 's/.*redo starts at \([0-9A-F]*\/[0-9A-F]*\).*/\1/p' "$WORK/recovery.log" | head -n 1)
pg_end=$(sed -n 's/.*redo done at \([0-9A-F]*\/[0-9A-F]*\) .*/\1/p' "$WORK/recovery.log" | head -n 1)
pg_secs=$(sed -n 's/.*redo done at .*elapsed: \([0-9.]*\) s.*/\1/p' "$WORK/recovery.log" | head -n 1)
pg_t0=$(ts_of 'redo starts at')
pg_t1=$(ts_of 'database system is ready to accept connections')
# aether: Aether's redo
ae_line=$(grep -m 1 'aether: redo done:' "$WORK/recovery.log" || true)
ae_start=$(sed -n 's/.* from LSN \([0-9]*\) to \([0-9]*\) in \([0-9.]*\) s.*/\1/p' <<<"$ae_line")
ae_end=$(sed -n 's/.* from LSN \([0-9]*\) to \([0-9]*\) in \([0-9.]*\) s.*/\2/p' <<<"$ae_line")
ae_secs=$(sed -n 's/.* from LSN \([0-9]*\) to \([0-9]*\) in \([0-9.]*\) s.*/\3/p' <<<"$ae_line")
ae_records=$(sed -n 's/.*redo done: \([0-9]*\) records.*/\1/p' <<<"$ae_line")
ae_t0=$(ts_of 'aether: recovery starting')

if [ -n "$pg_start" ] && [ -n "$pg_end" ] && [ -n "$pg_secs" ] && [ "${LOADS[heap]}" = 1 ]; then
	pg_bytes=$(q "SELECT pg_wal_lsn_diff('$pg_end', '$pg_start')::bigint")
	put "log replayed" MB heap "$(div "$pg_bytes" 1048576 %.0f)"
	put "redo time (server log)" s heap "$pg_secs"
	put "redo time per GB of log" s/GB heap "$(div "$pg_secs" "$(div "$pg_bytes" 1073741824 %.6f)" %.2f)"
	put "recovery incl. end checkpoint" s heap \
		"$( [ -n "$pg_t0" ] && [ -n "$pg_t1" ] && awk -v a="$pg_t0" -v b="$pg_t1" 'BEGIN { printf "%.1f", b - a }' || echo FAILED)"
else
	for n in "log replayed" "redo time (server log)" "redo time per GB of log" "recovery incl. end checkpoint"; do
		put "$n" - heap FAILED
	done
fi
if [ -n "$ae_secs" ] && [ "${LOADS[aether]}" = 1 ]; then
	ae_bytes=$((ae_end - ae_start))
	put "log replayed" MB aether "$(div "$ae_bytes" 1048576 %.0f)"
	put "redo time (server log)" s aether "$ae_secs"
	put "redo time per GB of log" s/GB aether "$(div "$ae_secs" "$(div "$ae_bytes" 1073741824 %.6f)" %.2f)"
	put "recovery incl. end checkpoint" s aether \
		"$( [ -n "$ae_t0" ] && awk -v a="$ae_t0" -v b="$t_ae_ready" 'BEGIN { printf "%.1f", b - a }' || echo FAILED)"
	say "    (aether: $ae_records records replayed)"
else
	for n in "log replayed" "redo time (server log)" "redo time per GB of log" "recovery incl. end checkpoint"; do
		put "$n" - aether FAILED
	done
fi
for am in "${AMS[@]}"; do
	got=$(q "SELECT count(*) FROM r_$am" 2>>"$WORK/bench.log" || echo FAILED)
	if [ "$got" = "${ROWS[$am]}" ]; then
		put "rows after recovery (= committed)" n "$am" "$got"
	else
		say "  $am: expected ${ROWS[$am]} rows after recovery, found $got"
		put "rows after recovery (= committed)" n "$am" "FAILED ($got)"
	fi
done

bench_results "results (aether/heap; tps: higher is better; fsyncs, s: lower is better)" commit <<NOTES
config: synchronous_commit = on, fsync = on (wal_sync_method $(q "SHOW wal_sync_method")),
        shared_buffers = aether.buffer_pool_size = 512MB, scale $SCALE, ${SECS}s per pgbench run,
        checkpoint of both logs before each run, one crash (pg_ctl stop -m immediate) for the recovery lines,
        $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)
NOTES
