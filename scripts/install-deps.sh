#!/bin/bash
# scripts/install-deps.sh — install what building and testing Aether needs.
#
# Idempotent and quick: when everything is present it does not touch apt.
# PostgreSQL is pinned to 15.18-0+deb12u1 (the version whose source the
# project builds against); a plain install would move to a later point
# release, so the pin uses --allow-downgrades when needed.
set -euo pipefail

PG_VERSION=15.18-0+deb12u1
PINNED=(postgresql-15 postgresql-client-15 postgresql-server-dev-15 libpq-dev libpq5)
PLAIN=(build-essential libzstd-dev zstd libipc-run-perl perl)

installed_version() {
	dpkg-query -W -f='${db:Status-Status} ${Version}\n' "$1" 2>/dev/null |
		awk '$1 == "installed" { print $2; exit }'
}

want=()
for p in "${PINNED[@]}"; do
	[ "$(installed_version "$p")" = "$PG_VERSION" ] || want+=("$p=$PG_VERSION")
done
for p in "${PLAIN[@]}"; do
	[ -n "$(installed_version "$p")" ] || want+=("$p")
done
command -v runuser >/dev/null || want+=(util-linux)

if [ ${#want[@]} -eq 0 ]; then
	echo "install-deps: everything present"
	exit 0
fi

[ "$(id -u)" -eq 0 ] || { echo "install-deps: need root to install: ${want[*]}" >&2; exit 1; }

# Do not let the postgresql-common package create and start a "main" cluster
# on port 5432: our scripts start their own throw-away instances.
if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
	mkdir -p /etc/postgresql-common
	echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
fi

echo "install-deps: installing ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends --allow-downgrades \
	-o Dpkg::Options::=--force-confold "${want[@]}"
