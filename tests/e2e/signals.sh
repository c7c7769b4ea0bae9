#!/usr/bin/env bash
# signals.sh - SIGHUP reloads content without a restart; SIGTERM stops cleanly.
. "$(dirname "$0")/lib.bash"

cp -r "$SRC/content" "$WORK/content"
fifo="$WORK/in"
mkfifo "$fifo"
HEARTH_CONTENT_DIR="$WORK/content" "$HEARTH" --data-dir "$WORK/data" <"$fifo" >"$WORK/out" 2>"$WORK/err" &
pid=$!
exec 3>"$fifo"
wait_for() { # wait_for FILE TEXT
	for _ in $(seq 1 100); do grep -qF -- "$2" "$1" && return 0; sleep 0.05; done
	return 1
}
echo '!learn roots' >&3
wait_for "$WORK/out" "Where it comes from" && PASSES=$((PASSES + 1)) || { echo "FAIL: first answer"; FAILS=$((FAILS + 1)); }
sed -i 's/^title: .*/title: Where it all begins/' "$WORK/content/topics/roots.md"
kill -HUP "$pid"
wait_for "$WORK/err" "loaded" || true
sleep 0.3
echo '!learn roots' >&3
wait_for "$WORK/out" "Where it all begins" && PASSES=$((PASSES + 1)) || { echo "FAIL: SIGHUP did not reload content"; FAILS=$((FAILS + 1)); }
# A broken reload keeps the old content serving.
printf 'not a topic\n' >"$WORK/content/topics/roots.md"
kill -HUP "$pid"
sleep 0.3
echo '!learn roots' >&3
sleep 0.3
equal "still answering after a bad reload" "$(grep -c 'Where it all begins' "$WORK/out")" "2"
expect "bad reload is logged with the file" "$(cat "$WORK/err")" "roots.md:1:"
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
exec 3>&-
equal "SIGTERM exit code" "$rc" "0"
expect "SIGTERM is logged" "$(cat "$WORK/err")" "shutting down"
# The store is consistent after the stop.
equal "database integrity" "$(sqlite3 "$WORK/data/hearth.db" 'PRAGMA integrity_check')" "ok"
finish
