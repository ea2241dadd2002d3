#!/bin/bash
# bench/run.sh — heap and aether side by side in ONE server run; prints a
# table of results with the ratio aether/heap. See bench/README.md for what
# each line measures. Takes about 5-10 minutes.
#
#   BENCH_ROWS      rows for COPY / lookups / scan / updates (default 1000000)
#   BENCH_UPDATES   single-row update transactions        (default 1000000)
#   BENCH_SECONDS   duration of each pgbench -T run         (default 10)
#   BENCH_SCALE     pgbench TPC-B scale factor              (default 10)
#   BENCH_CLIENTS   pgbench clients                         (default 2)
#   BENCH_PORT      port of the temporary server            (default 5497)
#   BENCH_UPDATE_TIMEOUT  seconds allowed per update run    (default 300)
# Results also go to bench/out/results-<timestamp>.txt.
set -Eeuo pipefail
. "$(dirname "$0")/common.sh"

ROWS=${BENCH_ROWS:-1000000}
UPDATES=${BENCH_UPDATES:-1000000}
SECS=${BENCH_SECONDS:-10}
SCALE=${BENCH_SCALE:-10}
CLIENTS=${BENCH_CLIENTS:-2}
PORT=${BENCH_PORT:-5497}
UPDATE_TIMEOUT=${BENCH_UPDATE_TIMEOUT:-300}
AMS=(heap aether)

bench_build
bench_server bench "$PORT" <<CONF
max_wal_size = 8GB
checkpoint_timeout = 30min
synchronous_commit = off            # measure storage, not fdatasync latency
CONF
now_ms() { date +%s%3N; }

# Run "$@"; on failure record FAILED for the rest of this measurement.
try() { "$@" >>"$WORK/bench.log" 2>&1; }
flush_sizes() { q "CHECKPOINT" && q "SELECT aether_flush()" >/dev/null; }
mb() { q "SELECT round(pg_table_size('$1') / 1048576.0, 1)"; }

section "data: $ROWS rows"
q "COPY (SELECT g, g % 1000, md5(g::text) || md5((g * 7)::text), 0
           FROM generate_series(1, $ROWS) g) TO '$WORK/rows.data'"
for am in "${AMS[@]}"; do
	q "CREATE TABLE t_$am (id bigint PRIMARY KEY, k int NOT NULL, filler text NOT NULL,
	                        v int NOT NULL) USING $am"
done

section "1. COPY $ROWS rows"
for am in "${AMS[@]}"; do
	t0=$(now_ms)
	if try q "COPY t_$am FROM '$WORK/rows.data'"; then
		t1=$(now_ms)
		put "COPY $ROWS rows: time" s "$am" "$(awk -v ms=$((t1 - t0)) 'BEGIN { printf "%.2f", ms / 1000 }')"
		flush_sizes
		put "COPY $ROWS rows: table size" MB "$am" "$(mb t_$am)"
	else
		put "COPY $ROWS rows: time" s "$am" FAILED
		put "COPY $ROWS rows: table size" MB "$am" FAILED
	fi
done

section "2. primary-key point lookups (pgbench, $CLIENTS clients, ${SECS}s)"
for am in "${AMS[@]}"; do
	printf '\\set id random(1, %d)\nSELECT filler FROM t_%s WHERE id = :id;\n' "$ROWS" "$am" > "$WORK/lookup_$am.sql"
	if out=$(as_user "${PGBENCH[@]}" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" \
			--random-seed=1 -f "$WORK/lookup_$am.sql" bench 2>&1); then
		put "PK lookups" tps "$am" "$(tps_of <<<"$out")"
	else
		echo "$out" >> "$WORK/bench.log"; put "PK lookups" tps "$am" FAILED
	fi
done

section "3. sequential-scan aggregate (best of 3)"
for am in "${AMS[@]}"; do
	best=
	for i in 1 2 3; do
		t0=$(now_ms)
		try q "SELECT count(*), sum(v), sum(k), max(filler) FROM t_$am" || { best=FAILED; break; }
		t1=$(now_ms)
		[ -n "$best" ] && [ "$best" -le $((t1 - t0)) ] || best=$((t1 - t0))
	done
	put "seq-scan aggregate" ms "$am" "$best"
done

section "4. $UPDATES single-row updates of a non-indexed column (pgbench, $CLIENTS clients)"
for am in "${AMS[@]}"; do
	printf '\\set id random(1, %d)\nUPDATE t_%s SET v = v + 1 WHERE id = :id;\n' "$ROWS" "$am" > "$WORK/update_$am.sql"
	per_client=$((UPDATES / CLIENTS))
	set +e
	out=$(as_user timeout "$UPDATE_TIMEOUT" "${PGBENCH[@]}" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" \
		-t "$per_client" -P 10 --random-seed=1 -f "$WORK/update_$am.sql" bench 2>&1)
	rc=$?
	set -e
	echo "$out" >> "$WORK/bench.log"
	if [ $rc -eq 0 ]; then
		put "single-row updates" tps "$am" "$(tps_of <<<"$out")"
	elif [ $rc -eq 124 ]; then
		# did not finish in time: average of the progress lines, size as far as it got
		put "single-row updates" tps "$am" "$(awk '/^progress:/ { s += $4; n++ } END { if (n) printf "%.1f*", s / n; else print "TIMEOUT" }' <<<"$out")"
	else
		put "single-row updates" tps "$am" FAILED
	fi
	flush_sizes || true
	put "size after $UPDATES updates" MB "$am" "$(mb t_$am)"
done

section "5. pgbench TPC-B (scale $SCALE, $CLIENTS clients, $((SECS * 2))s)"
for am in "${AMS[@]}"; do
	db=tpcb_$am
	if bench_tpcb_db "$am" "$SCALE"; then
		if out=$(as_user "${PGBENCH[@]}" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T $((SECS * 2)) \
				--random-seed=1 "$db" 2>&1); then
			put "pgbench TPC-B" tps "$am" "$(tps_of <<<"$out")"
		else
			echo "$out" >> "$WORK/bench.log"; put "pgbench TPC-B" tps "$am" FAILED
		fi
	else
		put "pgbench TPC-B" tps "$am" FAILED
	fi
done

bench_results "results (aether/heap: above 1 means aether is larger or faster, per the unit)" results <<NOTES
(* = did not finish within ${UPDATE_TIMEOUT}s; average of progress reports)
config: shared_buffers = aether.buffer_pool_size = 512MB, synchronous_commit = off,
        no parallel query, $CLIENTS clients, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)
NOTES
