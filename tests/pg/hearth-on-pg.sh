#!/usr/bin/env bash
# hearth-on-pg.sh - runs HEARTH_REAL with its store in the PostgreSQL test cluster, so that
# suites written for SQLite run unchanged on PostgreSQL: each data folder gets a schema of its
# own (named after the folder), so a test's fresh folder is a fresh store and a restart finds
# its data again. Needs HEARTH_TEST_PG_URL and HEARTH_TEST_PG_PASSWORD (tests/pg/cluster.sh).
set -euo pipefail
real=${HEARTH_REAL:?set HEARTH_REAL to the hearth binary}
: "${HEARTH_TEST_PG_URL:?run eval \"\$(tests/pg/cluster.sh start)\" first}"
key="" cfg=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	case "${args[i]}" in
	--data-dir) key=${args[i + 1]:-} ;;
	--data-dir=*) key=${args[i]#*=} ;;
	--config | -c) cfg=${args[i + 1]:-} ;;
	--config=*) cfg=${args[i]#*=} ;;
	esac
done
if [ -z "$key" ] && [ -n "$cfg" ] && [ -f "$cfg" ]; then
	key=$(sed -n 's/^[[:space:]]*data_dir[[:space:]]*=[[:space:]]*//p' "$cfg" | tail -n 1)
fi
[ -n "$key" ] || key=${XDG_DATA_HOME:-${HOME:-/root}/.local/share}/hearth
schema=k_$(printf '%s' "$key" | md5sum | cut -c1-16)
PGPASSWORD=${HEARTH_TEST_PG_PASSWORD:-} psql -X -q "$HEARTH_TEST_PG_URL" \
	-c "CREATE SCHEMA IF NOT EXISTS $schema" >/dev/null 2>&1 || true
export HEARTH_STORE_URL="$HEARTH_TEST_PG_URL&options=-csearch_path%3D$schema"
export HEARTH_STORE_PASSWORD=${HEARTH_TEST_PG_PASSWORD:-}
exec "$real" "$@"
