# scripts/common.sh — shared by demo.sh, test.sh, regen-expected-from-heap.sh
# and bench/common.sh (bench/run.sh, bench/commit.sh). Source it; it defines
# variables and functions only.
#
# A PostgreSQL server never runs as root: servers and pg_regress run as the
# unprivileged user $AETHER_USER; building and `make install` run as root.

AETHER_USER=${AETHER_USER:-aether}
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
PG_CONFIG=${PG_CONFIG:-$PG_BINDIR/pg_config}
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '%s\n' "$*"; }
section() { printf '\n==== %s ====\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a command as the unprivileged user (or as is, when not root).
as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$AETHER_USER" -- "$@"
	else
		"$@"
	fi
}

# Create the unprivileged user if it does not exist yet.
ensure_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	if ! id "$AETHER_USER" >/dev/null 2>&1; then
		useradd --system --create-home --shell /bin/bash "$AETHER_USER"
	fi
}

# A fresh temporary directory owned by the unprivileged user.
user_tmpdir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/aether-$1.XXXXXX")
	chmod 755 "$d"
	[ "$(id -u)" -ne 0 ] || chown "$AETHER_USER": "$d"
	printf '%s\n' "$d"
}

# Build (-Werror comes from the Makefile) and install the extension.
build_and_install() {
	local jobs
	jobs=$(nproc 2>/dev/null || echo 2)
	make -C "$REPO_ROOT" -j"$jobs" PG_CONFIG="$PG_CONFIG"
	make -C "$REPO_ROOT" install PG_CONFIG="$PG_CONFIG" >/dev/null
}
