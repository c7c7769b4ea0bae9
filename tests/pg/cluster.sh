#!/usr/bin/env bash
# tests/pg/cluster.sh - a throwaway PostgreSQL cluster for Hearth's tests.
#
#   eval "$(tests/pg/cluster.sh start)"   makes and starts one, prints the variables below
#   tests/pg/cluster.sh env               prints them again (needs HEARTH_TEST_PG_DIR)
#   tests/pg/cluster.sh stop              stops it and removes every file (HEARTH_TEST_PG_DIR)
#
# The cluster lives in a fresh folder under /tmp, listens on a Unix socket in that folder only
# (no TCP at all), runs as a non-root user (as "postgres" when started by root, else as the
# caller), asks for a password (scram-sha-256, a random one per cluster) and skips fsync: it is
# for tests, fast and disposable. Variables:
#   HEARTH_TEST_PG_DIR       the folder (data/, sock/, log)
#   HEARTH_TEST_PG_URL       postgresql://hearth@/hearth?host=DIR/sock   (no password in it)
#   HEARTH_TEST_PG_PASSWORD  the role's password (tests pass it as HEARTH_STORE_PASSWORD)
set -euo pipefail

die() { echo "cluster.sh: $*" >&2; exit 1; }

bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && [ -x "$d/initdb" ] ||
		die "PostgreSQL server binaries not found: apt-get install postgresql"
	echo "$d"
}

as_owner() { # runs a command as the cluster's user
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

print_env() {
	local dir=$1
	[ -f "$dir/password" ] || die "no cluster in $dir"
	printf 'export HEARTH_TEST_PG_DIR=%q\n' "$dir"
	printf 'export HEARTH_TEST_PG_URL=%q\n' "postgresql://hearth@/hearth?host=$dir/sock"
	printf 'export HEARTH_TEST_PG_PASSWORD=%q\n' "$(cat "$dir/password")"
}

start() {
	local bin dir pw
	bin=$(bindir)
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || die "user postgres missing (it comes with the postgresql package)"
	fi
	dir=$(mktemp -d /tmp/hearth-pg.XXXXXX)
	chmod 0700 "$dir"
	mkdir -m 0700 "$dir/sock"
	pw=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
	(umask 077; printf '%s\n' "$pw" >"$dir/pwfile"; printf '%s' "$pw" >"$dir/password")
	[ "$(id -u)" -eq 0 ] && chown -R postgres: "$dir"
	cd "$dir"
	as_owner "$bin/initdb" -D "$dir/data" -U hearth --pwfile="$dir/pwfile" -A scram-sha-256 \
		-E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
	rm -f "$dir/pwfile"
	cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir/sock'
unix_socket_permissions = 0700
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 60
shared_buffers = 32MB
log_min_messages = warning
CONF
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start >/dev/null ||
		{ cat "$dir/log" >&2; rm -rf "$dir"; die "the cluster did not start"; }
	PGPASSWORD=$pw as_owner "$bin/psql" -X -q -h "$dir/sock" -U hearth -d postgres \
		-c "CREATE DATABASE hearth" >/dev/null ||
		{ stop_dir "$dir"; die "cannot create the database"; }
	print_env "$dir"
}

stop_dir() {
	local dir=$1 bin
	bin=$(bindir)
	case "$dir" in /tmp/hearth-pg.*) ;; *) die "refusing to remove $dir (not a cluster folder)";; esac
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
env) [ -n "${HEARTH_TEST_PG_DIR:-}" ] || die "HEARTH_TEST_PG_DIR is not set"; print_env "$HEARTH_TEST_PG_DIR" ;;
stop) [ -n "${HEARTH_TEST_PG_DIR:-}" ] || die "HEARTH_TEST_PG_DIR is not set"; stop_dir "$HEARTH_TEST_PG_DIR" ;;
*) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
