#!/bin/bash
# scripts/test.sh — install what is missing, build with -Werror, install, run
# every test suite, and end with one line "N passed, N failed".
#
# Suites (each counted per test):
#   engine     test/engine, every test binary under ASan/UBSan
#   regress    sql/*.sql with pg_regress, a temporary instance per test
#              (order: test/schedule)
#   isolation  test/isolation/specs/*.spec with pg_isolation_regress
#   tap        test/t/*.pl with prove and PostgreSQL::Test::Cluster (if any)
# Servers run as the unprivileged user $AETHER_USER (default: aether), in a
# scratch directory; it is removed when everything passed and kept (path
# printed) otherwise. Exit status is non-zero when anything failed.
set -uo pipefail
. "$(dirname "$0")/common.sh"
cd "$REPO_ROOT"

PGXS_TEST=$("$PG_CONFIG" --pkglibdir 2>/dev/null)/pgxs/src/test
SUITE_TIMEOUT=${SUITE_TIMEOUT:-1200}	# seconds, per suite
export PGISOLATIONTIMEOUT=${PGISOLATIONTIMEOUT:-60}	# seconds a step may wait

total_pass=0
total_fail=0
summary=()

record() {	# suite passed failed [note]
	total_pass=$((total_pass + $2))
	total_fail=$((total_fail + $3))
	summary+=("$(printf '%-10s %4d passed, %d failed%s' "$1" "$2" "$3" "${4:+  ($4)}")")
}

finish() {
	section "summary"
	printf '%s\n' "${summary[@]}"
	if [ "$total_fail" -eq 0 ]; then
		[ -z "${WORK:-}" ] || rm -rf "$WORK"
	else
		[ -z "${WORK:-}" ] || say "logs and results kept in $WORK"
	fi
	echo "$total_pass passed, $total_fail failed"
	[ "$total_fail" -eq 0 ]
	exit
}

# Count "name ... ok" / "name ... FAILED" lines of pg_regress-style output.
count_results() {	# logfile -> sets P F
	P=$(grep -cE '^(test |     )?[[:space:]]*[^ ]+[[:space:]]+\.\.\. ok' "$1")
	F=$(grep -cE '^(test |     )?[[:space:]]*[^ ]+[[:space:]]+\.\.\. (FAILED|failed)' "$1")
}

show_file() {	# path what [max lines]
	[ -s "$1" ] || return 0
	local n max=${3:-400}
	n=$(wc -l < "$1")
	say "---- $2 ($1, $n lines) ----"
	head -n "$max" "$1"
	[ "$n" -le "$max" ] || say "... ($((n - max)) more lines in $1)"
	say "---- end of $2 ----"
}

schedule_tests() {	# schedule file -> test names, one a line
	sed -n 's/^test: *//p' "$1" | tr ' ' '\n' | sed '/^$/d'
}

# ---------------------------------------------------------------- setup
section "dependencies"
if ! bash scripts/install-deps.sh; then
	record deps 0 1 "install-deps.sh failed"
	finish
fi
ensure_user

section "build and install (-Werror)"
built=1
if ! build_and_install; then
	built=0
	record build 0 1 "make failed"
fi

WORK=$(user_tmpdir test)
# Everything the servers and test programs read or write is copied into
# $WORK, owned by $AETHER_USER, so the repository may live anywhere.
mkdir -p "$WORK/src"
cp -r sql expected test/schedule test/aether-test.conf "$WORK/src/"
mkdir -p "$WORK/src/isolation" && cp -r test/isolation/specs test/isolation/expected \
	test/isolation/isolation_schedule "$WORK/src/isolation/"
[ ! -d test/t ] || cp -r test/t "$WORK/src/t"
chown -R "$AETHER_USER": "$WORK" 2>/dev/null || true

# ---------------------------------------------------------------- engine
section "engine unit tests (ASan/UBSan)"
ntests=$(ls test/engine/test_*.c 2>/dev/null | wc -l)
if [ "$ntests" -eq 0 ]; then
	record engine 0 0 "no test/engine/test_*.c yet"
else
	timeout "$SUITE_TIMEOUT" make -C test/engine check SAN=1 2>&1 | tee "$WORK/engine.log"
	line=$(grep -E '^engine: [0-9]+ passed, [0-9]+ failed' "$WORK/engine.log" | tail -n 1)
	if [ -n "$line" ]; then
		read -r p f < <(sed -E 's/^engine: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/' <<<"$line")
		record engine "$p" "$f"
	else
		record engine 0 "$ntests" "build of the engine tests failed or timed out"
	fi
fi

# ------------------------------------------------- pg_regress and isolation
# Each test (or spec) gets its own temporary instance: a crash in one test
# then shows as that test's failure instead of failing the tests that happen
# to run while the server restarts. It costs about a second per test.
run_pg_suite() {	# suite-name program inputdir schedule ext srcdir
	local suite=$1 prog=$2 indir=$3 schedule=$4 ext=$5 srcdir=$6
	local tests=() t f p=0 nf=0 out
	mapfile -t tests < <(schedule_tests "$schedule")
	for f in "$srcdir"/*."$ext"; do
		[ -e "$f" ] || continue
		t=$(basename "$f" ."$ext")
		if ! printf '%s\n' "${tests[@]}" | grep -qx "$t"; then
			say "warning: $f is not in $schedule; running it last"
			tests+=("$t")
		fi
	done
	if [ "$built" -eq 0 ]; then
		record "$suite" 0 ${#tests[@]} "not run: build failed"
		return
	fi
	for t in "${tests[@]}"; do
		out=$WORK/$suite/$t
		runuser -u "$AETHER_USER" -- mkdir -p "$out"
		(cd "$WORK" && timeout "$SUITE_TIMEOUT" runuser -u "$AETHER_USER" -- \
			env PGISOLATIONTIMEOUT="$PGISOLATIONTIMEOUT" "$prog" --bindir="$PG_BINDIR" \
			--temp-instance="$out/instance" --temp-config="$WORK/src/aether-test.conf" \
			--inputdir="$indir" --outputdir="$out" "$t") >"$out.log" 2>&1
		count_results "$out.log"
		if [ "$P" -eq 1 ] && [ "$F" -eq 0 ]; then
			p=$((p + 1))
			grep -E '\.\.\. ok' "$out.log"
		else
			nf=$((nf + 1))
			grep -E '\.\.\. (FAILED|failed)' "$out.log" || say "test $t ... did not run"
			show_file "$out/regression.diffs" "$t: regression.diffs"
			if [ -f "$out/log/postmaster.log" ] &&
				grep -qE 'terminated by signal|PANIC|TRAP' "$out/log/postmaster.log"; then
				say "---- $t: server log around the crash ----"
				grep -B2 -A2 -E 'terminated by signal|PANIC|TRAP' "$out/log/postmaster.log" | head -n 30
			elif [ ! -s "$out/regression.diffs" ]; then
				show_file "$out.log" "$t: ${prog##*/} output" 60
				show_file "$out/log/postmaster.log" "$t: server log" 60
			fi
		fi
	done
	record "$suite" "$p" "$nf"
}

section "pg_regress (sql/*.sql, a temporary instance with aether preloaded per test)"
run_pg_suite regress "$PGXS_TEST/regress/pg_regress" "$WORK/src" \
	test/schedule sql sql

section "isolation (test/isolation/specs/*.spec, an instance per spec)"
run_pg_suite isolation "$PGXS_TEST/isolation/pg_isolation_regress" "$WORK/src/isolation" \
	test/isolation/isolation_schedule spec test/isolation/specs

# ---------------------------------------------------------------- TAP
section "TAP (test/t/*.pl)"
tap_files=()
[ ! -d "$WORK/src/t" ] || mapfile -t tap_files < <(ls "$WORK/src/t"/*.pl 2>/dev/null)
if [ ${#tap_files[@]} -eq 0 ]; then
	record tap 0 0 "no test/t/*.pl"
elif [ "$built" -eq 0 ]; then
	record tap 0 ${#tap_files[@]} "not run: build failed"
else
	p=0 f=0
	# a small file system for the disk-full test (010): tmpfs, if mounting works here
	SMALL_FS=$WORK/smallfs
	mkdir -p "$SMALL_FS"
	if mount -t tmpfs -o size=64m,mode=0700 tmpfs "$SMALL_FS" 2>/dev/null; then
		chown "$AETHER_USER": "$SMALL_FS"
		export AETHER_SMALL_FS=$SMALL_FS
	else
		say "note: could not mount a tmpfs; the disk-full TAP test will be skipped"
		SMALL_FS=
	fi
	for t in "${tap_files[@]}"; do
		name=$(basename "$t" .pl)
		tdir="$WORK/tap/$name"
		runuser -u "$AETHER_USER" -- mkdir -p "$tdir"
		# what PGXS's prove_installcheck sets up
		if (cd "$tdir" && timeout "$SUITE_TIMEOUT" runuser -u "$AETHER_USER" -- env \
			PATH="$PG_BINDIR:$PATH" TESTDIR="$tdir" top_builddir="$tdir" \
			PG_REGRESS="$PGXS_TEST/regress/pg_regress" PGPORT=65432 \
			AETHER_SMALL_FS="${AETHER_SMALL_FS:-}" \
			prove -I "$PGXS_TEST/perl" -I "$WORK/src/t" --timer "$t"); then
			p=$((p + 1))
		else
			f=$((f + 1))
			for l in "$tdir"/tmp_check/log/*; do
				show_file "$l" "$(basename "$l")" 150
			done
		fi
	done
	[ -z "$SMALL_FS" ] || umount "$SMALL_FS" || say "warning: could not unmount $SMALL_FS"
	record tap "$p" "$f"
fi

finish
