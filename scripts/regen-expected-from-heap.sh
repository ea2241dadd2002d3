#!/bin/bash
# scripts/regen-expected-from-heap.sh — regenerate expected/*.out and
# test/isolation/expected/*.out from PostgreSQL's heap access method.
#
#   bash scripts/regen-expected-from-heap.sh            all tests and specs
#   bash scripts/regen-expected-from-heap.sh aether_txn insert-unique
#
# Aether must behave exactly as heap, so the expected output of every test is
# what heap prints, never hand-edited to match aether. This script:
#   1. copies each sql/*.sql and test/isolation/specs/*.spec to a scratch
#      directory, rewriting the three places that name the access method:
#        CREATE EXTENSION IF NOT EXISTS aether;  ->  -- REGEN-FROM-HEAP: (same)
#        USING aether                            ->  USING heap
#        default_table_access_method = aether    ->  default_table_access_method = heap
#   2. runs them with pg_regress / pg_isolation_regress on a temporary plain
#      PostgreSQL 15 instance (no aether library involved at all);
#   3. maps the echoed lines back (the exact inverse of step 1) and writes the
#      results into the repository's expected files.
# Rules that keep this exact: tests name the AM only in those three forms
# (queries that need it use current_setting('default_table_access_method')),
# and never write "USING heap" or "default_table_access_method = heap".
# Review the resulting `git diff` before committing.
set -euo pipefail
. "$(dirname "$0")/common.sh"

ensure_user
cd "$REPO_ROOT"

to_heap() {
	sed -E -e 's/^([[:space:]]*)(CREATE EXTENSION IF NOT EXISTS aether;)/\1-- REGEN-FROM-HEAP: \2/' \
		-e 's/USING aether\b/USING heap/g' \
		-e 's/default_table_access_method = aether\b/default_table_access_method = heap/g' "$1"
}
from_heap() {
	sed -E -e 's/^([[:space:]]*)-- REGEN-FROM-HEAP: (CREATE EXTENSION IF NOT EXISTS aether;)/\1\2/' \
		-e 's/USING heap\b/USING aether/g' \
		-e 's/default_table_access_method = heap\b/default_table_access_method = aether/g' "$1"
}
check_source() {
	local f=$1
	if grep -nE 'USING heap\b|default_table_access_method = heap\b|REGEN-FROM-HEAP' "$f"; then
		die "$f: names heap in a form the back-mapping would rewrite"
	fi
	# other mentions of the AM name outside comments make results AM-dependent
	if grep -nE '\baether\b' "$f" | grep -vE '^[0-9]+:[[:space:]]*(--|#)' |
		grep -vE 'CREATE EXTENSION IF NOT EXISTS aether;|USING aether\b|default_table_access_method = aether\b'; then
		echo "warning: $f names aether outside the rewritten forms (lines above)" >&2
	fi
}

# which tests
regress=() iso=()
if [ $# -eq 0 ]; then
	mapfile -t regress < <(sed -n 's/^test: *//p' test/schedule | tr ' ' '\n' | sed '/^$/d')
	mapfile -t iso < <(sed -n 's/^test: *//p' test/isolation/isolation_schedule | tr ' ' '\n' | sed '/^$/d')
else
	for t in "$@"; do
		if [ -f "sql/$t.sql" ]; then regress+=("$t")
		elif [ -f "test/isolation/specs/$t.spec" ]; then iso+=("$t")
		else die "no sql/$t.sql or test/isolation/specs/$t.spec"; fi
	done
fi

work=$(user_tmpdir regen)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/regress/sql" "$work/regress/expected" "$work/iso/specs" "$work/iso/expected"
for t in "${regress[@]}"; do
	check_source "sql/$t.sql"
	to_heap "sql/$t.sql" > "$work/regress/sql/$t.sql"
	: > "$work/regress/expected/$t.out"	# pg_regress needs a file to diff against
done
for t in "${iso[@]}"; do
	check_source "test/isolation/specs/$t.spec"
	to_heap "test/isolation/specs/$t.spec" > "$work/iso/specs/$t.spec"
	: > "$work/iso/expected/$t.out"
done
chown -R "$AETHER_USER": "$work" 2>/dev/null || true

pgxs=$("$PG_CONFIG" --pkglibdir)/pgxs/src/test
status=0
if [ ${#regress[@]} -gt 0 ]; then
	section "pg_regress on heap: ${regress[*]}"
	(cd "$work" && as_user "$pgxs/regress/pg_regress" --bindir="$PG_BINDIR" \
		--temp-instance="$work/regress/instance" --inputdir="$work/regress" \
		--outputdir="$work/regress/out" "${regress[@]}") >/dev/null || true
	for t in "${regress[@]}"; do
		r="$work/regress/out/results/$t.out"
		[ -s "$r" ] || { echo "no result for $t" >&2; status=1; continue; }
		from_heap "$r" > "expected/$t.out"
		echo "expected/$t.out"
	done
fi
if [ ${#iso[@]} -gt 0 ]; then
	section "pg_isolation_regress on heap: ${iso[*]}"
	(cd "$work" && as_user "$pgxs/isolation/pg_isolation_regress" --bindir="$PG_BINDIR" \
		--temp-instance="$work/iso/instance" --inputdir="$work/iso" \
		--outputdir="$work/iso/out" "${iso[@]}") >/dev/null || true
	for t in "${iso[@]}"; do
		r="$work/iso/out/results/$t.out"
		[ -s "$r" ] || { echo "no result for $t" >&2; status=1; continue; }
		from_heap "$r" > "test/isolation/expected/$t.out"
		echo "test/isolation/expected/$t.out"
	done
fi
exit $status
