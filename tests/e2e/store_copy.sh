#!/usr/bin/env bash
# `hearth store copy`: a console Hearth's SQLite store (an encrypted mood note, a schedule, a
# room setting) copied into PostgreSQL; Hearth then runs on PostgreSQL with the same key files
# and shows the note; a second copy into the now non-empty store is refused, as is a copy of a
# store whose Hearth is running. Needs the test cluster (tests/pg/cluster.sh); skipped without.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
if [ -z "${HEARTH_TEST_PG_URL:-}" ]; then
	echo "SKIP: HEARTH_TEST_PG_URL is not set; run eval \"\$(tests/pg/cluster.sh start)\" first"
	exit 77
fi
export HEARTH_STORE_PASSWORD=${HEARTH_TEST_PG_PASSWORD:-}
export PGPASSWORD=${HEARTH_TEST_PG_PASSWORD:-}
DATA="$WORK/data"
NOTE="ember-lantern-5521"
SCHEMA="copy_$$_$RANDOM"
psql -X -q "$HEARTH_TEST_PG_URL" -c "CREATE SCHEMA $SCHEMA" >/dev/null
trap 'psql -X -q "$HEARTH_TEST_PG_URL" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1; rm -rf "$WORK"' EXIT
URL="$HEARTH_TEST_PG_URL&options=-csearch_path%3D$SCHEMA"

# 1. Some of everything on SQLite.
out=$(printf '%s\n' '/dm !mood optin' '/dm !mood optin confirm' "/dm !mood 6 $NOTE #calm" \
	'!mod checkin add 0 9 * * 1' '!mod quiet 22:00-07:00' | run_console --as alice --role moderator)
expect "note logged" "$out" "with your note"

# 2. Copy while a Hearth runs on the folder: refused.
mkfifo "$WORK/in"
("$HEARTH" --data-dir "$DATA" --as alice <"$WORK/in" >/dev/null 2>&1 &)
exec 3>"$WORK/in"
sleep 1
set +e
busy=$("$HEARTH" store copy --from "sqlite:$DATA" --to "$URL" 2>&1); rc=$?
set -e
exec 3>&-
sleep 1
equal "copy of a running store refused" "$rc" 1
expect "says stop it first" "$busy" "stop it first"

# 3. The copy, row counts printed; the password never appears.
set +e
copy=$("$HEARTH" store copy --from "sqlite:$DATA" --to "$URL" 2>&1); rc=$?
set -e
equal "copy exit code" "$rc" 0
expect "mood rows counted" "$copy" "mood_entry"
expect "done" "$copy" "every table copied"
reject "no password in output" "$copy" "$HEARTH_STORE_PASSWORD"

# 4. Hearth on PostgreSQL (same data folder: same key file) reads the sealed note.
out=$(printf '%s\n' '/dm !mood history' '!mod checkin list' | HEARTH_STORE_URL="$URL" run_console --as alice --role moderator)
expect "note opens on PostgreSQL" "$out" "$NOTE #calm"
expect "schedule came along" "$out" "0 9 * * 1"
stored=$(psql -X -At "$URL" -c "SELECT count(*) FROM mood_entry WHERE encode(box, 'escape') LIKE '%$NOTE%'")
equal "note still sealed in PostgreSQL" "$stored" 0

# 5. A second copy into the non-empty store: refused, nothing changed.
before=$(psql -X -At "$URL" -c "SELECT count(*) FROM mood_entry")
set +e
again=$("$HEARTH" store copy --from "sqlite:$DATA" --to "$URL" 2>&1); rc=$?
set -e
equal "second copy refused" "$rc" 1
expect "says not empty" "$again" "already holds data"
equal "rows unchanged" "$(psql -X -At "$URL" -c "SELECT count(*) FROM mood_entry")" "$before"

# 6. `hearth backup` copies the SQLite file: on a PostgreSQL store it says what to do instead.
set +e
bk=$(HEARTH_STORE_URL="$URL" "$HEARTH" --data-dir "$DATA" backup "$WORK/b.bak" 2>&1); rc=$?
set -e
equal "backup on PostgreSQL refused" "$rc" 1
expect "backup points at pg_dump" "$bk" "pg_dump"

# 7. Usage errors.
set +e
"$HEARTH" store copy --from "$DATA" --to "$URL" >/dev/null 2>&1; rc=$?
set -e
equal "sqlite: prefix required" "$rc" 2
finish
