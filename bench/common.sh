# bench/common.sh — what bench/run.sh and bench/commit.sh share: build and
# install, ONE temporary server as the unprivileged user (stopped and removed
# at exit), the results table. Source it (it sources scripts/common.sh); it
# defines variables and functions only.
. "$(dirname "${BASH_SOURCE[0]}")/../scripts/common.sh"

# Install what is missing, build and install the extension, create the user.
bench_build() {
	bash "$REPO_ROOT/scripts/install-deps.sh" >/dev/null
	section "build and install"
	build_and_install >/dev/null
	ensure_user
}

bench_cleanup() {
	as_user "$PG_BINDIR/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$WORK"
}

# Start the temporary server and create the database "bench" with the
# extension. Sets WORK (scratch directory, removed at exit), DATA, SOCK, LOG
# (server log), PSQL and PGBENCH (command arrays). postgresql.conf gets the
# settings both scripts use and then the lines on stdin.
bench_server() {	# tmpdir-name port < more postgresql.conf lines
	local port=$2
	WORK=$(user_tmpdir "$1")
	DATA=$WORK/data
	SOCK=$WORK
	LOG=$WORK/server.log
	trap bench_cleanup EXIT

	section "temporary server (port $port)"
	as_user "$PG_BINDIR/initdb" -D "$DATA" -U "$AETHER_USER" --auth=trust --locale=C.UTF-8 >/dev/null
	{
		cat <<CONF
# --- bench/$(basename "$0"): one fixed configuration for both access methods ---
shared_preload_libraries = 'aether'
port = $port
listen_addresses = ''
unix_socket_directories = '$SOCK'
shared_buffers = 512MB              # heap's cache
aether.buffer_pool_size = 512MB     # aether's cache, the same size
max_parallel_workers_per_gather = 0 # same plan shape for both
jit = off
CONF
		cat
	} >> "$DATA/postgresql.conf"
	as_user "$PG_BINDIR/pg_ctl" -D "$DATA" -l "$LOG" -w start >/dev/null
	PSQL=("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$port" -U "$AETHER_USER")
	PGBENCH=("$PG_BINDIR/pgbench" -h "$SOCK" -p "$port" -U "$AETHER_USER")
	"${PSQL[@]}" -d postgres -c "CREATE DATABASE bench"
	"${PSQL[@]}" -d bench -c "CREATE EXTENSION aether"
}

q() { "${PSQL[@]}" -d bench -Atc "$1"; }
tps_of() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | tail -n 1 | awk '{ printf "%.0f", $1 }'; }

# A database tpcb_<am> with pgbench's tables (pgbench -i -s scale) made with
# that default access method; says which one pgbench_accounts got and sets
# TPCB_AM to it. False if pgbench -i failed (output in $WORK/bench.log).
bench_tpcb_db() {	# am scale
	local db=tpcb_$1
	"${PSQL[@]}" -d postgres -c "CREATE DATABASE $db" || die "CREATE DATABASE $db failed"
	"${PSQL[@]}" -d "$db" -c "CREATE EXTENSION aether" || die "CREATE EXTENSION in $db failed"
	# pgbench -i creates its tables with the default access method
	as_user env PGOPTIONS="-c default_table_access_method=$1" \
		"${PGBENCH[@]}" -i -q -s "$2" "$db" >>"$WORK/bench.log" 2>&1 || return 1
	TPCB_AM=$("${PSQL[@]}" -d "$db" -Atc "SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
	                                      WHERE c.relname = 'pgbench_accounts'")
	say "  $db: pgbench_accounts uses $TPCB_AM"
}

# Results: R[measurement,am] = value (or FAILED, or - for not applicable),
# measurement names and units in the order first put.
declare -A R
NAMES=()
UNITS=()
BENCH_NAME_WIDTH=34	# put and the table; commit.sh sets 40
put() {	# name unit am value
	[ -n "${R[$1,heap]+x}${R[$1,aether]+x}" ] || { NAMES+=("$1"); UNITS+=("$2"); }
	R[$1,$3]=$4
	printf "  %-${BENCH_NAME_WIDTH}s %-7s %s\n" "$1" "$3" "$4"
}

# The table of every measurement with the ratio aether/heap (a trailing * on
# a value is ignored for the ratio), then the lines on stdin; printed and
# written to bench/out/<prefix>-<timestamp>.txt. Exits 1, after copying the
# server log and bench.log to bench/out/, if a measurement failed.
bench_results() {	# title file-prefix < notes
	local notes outfile i n h a ratio w=$BENCH_NAME_WIDTH
	notes=$(cat)
	section "$1"
	mkdir -p "$REPO_ROOT/bench/out"
	outfile="$REPO_ROOT/bench/out/$2-$(date +%Y%m%d-%H%M%S).txt"
	{
		printf "%-${w}s %-5s %12s %12s %12s\n" measurement unit heap aether aether/heap
		for i in "${!NAMES[@]}"; do
			n=${NAMES[$i]}
			h=${R[$n,heap]:-} a=${R[$n,aether]:-}
			ratio=$(awk -v h="${h%\*}" -v a="${a%\*}" 'BEGIN {
				if (h ~ /^[0-9.]+$/ && a ~ /^[0-9.]+$/ && h + 0 > 0) printf "%.2f", a / h; else print "-" }')
			printf "%-${w}s %-5s %12s %12s %12s\n" "$n" "${UNITS[$i]}" "$h" "$a" "$ratio"
		done
		printf '%s\n' "$notes"
	} | tee "$outfile"
	if grep -q FAILED "$outfile"; then
		say "some measurements failed; see bench/out/server.log and bench/out/bench.log"
		cp "$LOG" "$WORK/bench.log" "$REPO_ROOT/bench/out/" 2>/dev/null || true
		exit 1
	fi
}
