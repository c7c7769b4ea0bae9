#!/usr/bin/env bash
# run-e2e.sh BUILD_DIR - the console end-to-end tests once more with Hearth's store in the
# PostgreSQL test cluster (through hearth-on-pg.sh). Left out: content_dir.sh and ops_man.sh
# (they copy or install the binary, which says nothing about the store), ops_admin.sh and
# ops_backup.sh (they read hearth.db with SQLite itself; `hearth backup` copies the SQLite file
# and keys: on PostgreSQL the database is backed up with pg_dump), store_copy.sh (in ctest).
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
: "${HEARTH_TEST_PG_URL:?run eval \"\$(tests/pg/cluster.sh start)\" first}"
pass=0 fail=0
for t in tests/e2e/*.sh; do
	name=$(basename "$t" .sh)
	case "$name" in content_dir | ops_man | ops_admin | ops_backup | store_copy) continue ;; esac
	if HEARTH_E2E_STORE=pg HEARTH="$PWD/tests/pg/hearth-on-pg.sh" HEARTH_REAL="$PWD/$build/hearth" SRC="$PWD" \
		bash "$t" >"/tmp/hearth-pg-e2e-$name.log" 2>&1; then
		pass=$((pass + 1)); echo "ok     e2e.$name on PostgreSQL"
	else
		fail=$((fail + 1)); echo "FAILED e2e.$name on PostgreSQL"; tail -20 "/tmp/hearth-pg-e2e-$name.log"
	fi
done
echo "console e2e on PostgreSQL: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
