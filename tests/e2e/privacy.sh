#!/usr/bin/env bash
# privacy.sh - what Hearth keeps stays Hearth's user's alone: files private from the first start,
# an open config holding secrets is flagged, no core dumps, and each console member is its own
# (exports, reminders).
. "$(dirname "$0")/lib.bash"
mode_of() { stat -c %a "$1"; }

# 1. A data folder that already existed open (0755) with open files from an earlier start.
DATA="$WORK/data"
mkdir -p "$DATA/exports/old"
chmod 755 "$DATA" "$DATA/exports" "$DATA/exports/old"
printf '!help\n' | (umask 022; run_console) >/dev/null
# (HEARTH_E2E_STORE=pg, tests/pg/run-e2e.sh: the store is in PostgreSQL, no hearth.db here.)
[ -n "${HEARTH_E2E_STORE:-}" ] || chmod 644 "$DATA"/hearth.db*
chmod 644 "$DATA/mood.key"
echo secret >"$DATA/exports/old/x.csv"; chmod 644 "$DATA/exports/old/x.csv"
printf '/dm !mood optin\n/dm !mood optin confirm\n/dm !mood 6\n' | (umask 022; run_console --as ana) >/dev/null
equal "data folder made private" "$(mode_of "$DATA")" 700
for f in hearth.db hearth.db-wal hearth.db-shm hearth.lock; do
	[ -e "$DATA/$f" ] || continue
	equal "$f private" "$(mode_of "$DATA/$f")" 600
done
equal "key file private" "$(mode_of "$DATA/mood.key")" 600
equal "an old export private" "$(mode_of "$DATA/exports/old/x.csv")" 600
equal "exports folder private" "$(mode_of "$DATA/exports")" 700

# 2. A fresh folder under umask 022: everything private from the first write.
FRESH="$WORK/fresh/data"
printf '/dm !mood optin\n/dm !mood optin confirm\n/dm !mood 6\n/dm !mood export\n' |
	(umask 022; "$HEARTH" --data-dir "$FRESH" --as ana 2>>"$WORK/stderr") >/dev/null
bad=$(find "$FRESH" \( -type f -perm /077 \) -o \( -type d -perm /077 \) | head -5)
equal "nothing in a fresh data folder is open to others" "$bad" ""
equal "fresh data folder mode" "$(mode_of "$FRESH")" 700

# 3. A data folder of another user is refused with a clear error, and left untouched.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	OTHER="$WORK/other"
	mkdir -p "$OTHER"; chown nobody "$OTHER"; chmod 755 "$OTHER"
	set +e; out=$(printf '!help\n' | "$HEARTH" --data-dir "$OTHER" 2>&1); rc=$?; set -e
	equal "foreign data folder: exit code" "$rc" 1
	expect "foreign data folder: says why" "$out" "belongs to another user"
	equal "foreign data folder: nothing written" "$(ls -A "$OTHER")" ""
	equal "foreign data folder: mode untouched" "$(mode_of "$OTHER")" 755
else
	echo "skip: foreign data folder (needs root and a nobody user)"
fi

# 4. A config holding a password that others can read: a warning at start and in --check-config.
cat >"$WORK/open.ini" <<INI
[bot]
data_dir = $WORK/cfgdata

[irc.test]
host = 127.0.0.1
port = 1
tls = false
nick = hearth
sasl_mechanism = PLAIN
sasl_username = hearth
sasl_password = pw-not-for-logs
INI
chmod 644 "$WORK/open.ini"
set +e; out=$("$HEARTH" --config "$WORK/open.ini" --check-config 2>&1); set -e
expect "open secret config: warning in --check-config" "$out" "open.ini:11: warning: this file holds a password or token"
expect "open secret config: tells the fix" "$out" "chmod 600"
reject "open secret config: never prints the secret" "$out" "pw-not-for-logs"
chmod 600 "$WORK/open.ini"
set +e; out=$("$HEARTH" --config "$WORK/open.ini" --check-config 2>&1); set -e
reject "private config: no warning" "$out" "warning: this file holds"
chmod 644 "$WORK/open.ini"
sed -i '/sasl_/d' "$WORK/open.ini"
set +e; out=$("$HEARTH" --config "$WORK/open.ini" --check-config 2>&1); set -e
reject "open config without secrets: no warning" "$out" "warning: this file holds"
sed -i 's/^nick = hearth/nick = hearth\nsasl_mechanism = PLAIN\nsasl_username = h\nsasl_password = pw-2/' "$WORK/open.ini"
set +e; out=$(timeout 5 "$HEARTH" --config "$WORK/open.ini" </dev/null 2>&1); set -e
expect "open secret config: warning at start" "$out" "warning: this file holds a password or token"
reject "open secret config: secret not in the start log" "$out" "pw-2"

# 5. No core dumps: RLIMIT_CORE is 0 and the process is not dumpable (its /proc entries belong
#    to root even when it runs as another user).
(sleep 3; printf '!help\n') | run_console >/dev/null &
sleep 1
pid=$(pgrep -n -f -- "--data-dir $WORK/data" || true)
if [ -n "$pid" ]; then
	equal "core file size limit" "$(awk '/^Max core file size/ {print $5 "/" $6}' /proc/"$pid"/limits)" "0/0"
else
	echo "FAIL: could not find the running hearth"; FAILS=$((FAILS + 1))
fi
wait
# (On the PostgreSQL run the cluster's socket is not open to nobody: the check runs on SQLite.)
if [ -z "${HEARTH_E2E_STORE:-}" ] && [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 &&
	command -v setpriv >/dev/null; then
	NB=$(mktemp -d /tmp/hearth-nobody.XXXXXX); chmod 755 "$NB"; chown nobody "$NB"
	(sleep 3; printf '!help\n') | setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$HEARTH" --data-dir "$NB/data" >/dev/null 2>&1 &
	sleep 1.5
	pid=$(pgrep -n -f -- "--data-dir $NB/data" || true)
	if [ -n "$pid" ]; then
		equal "not dumpable: /proc entries owned by root" "$(stat -c %U /proc/"$pid"/environ)" root
	else
		echo "FAIL: could not find hearth running as nobody"; FAILS=$((FAILS + 1))
	fi
	wait
	rm -rf "$NB"
else
	echo "skip: dumpable check (needs root, nobody, setpriv)"
fi

# 6. Each console member is its own: exports on one day do not overwrite each other, and a
#    reminder is shown only to the member it is for.
export HEARTH_FAKE_NOW=1768478400   # 2026-01-15 12:00Z
M="$WORK/members"
printf '%s\n' '/dm !mood optin' '/dm !mood optin confirm' '/dm !mood 3 ana-note' '/dm !mood export' |
	"$HEARTH" --data-dir "$M" --as ana 2>>"$WORK/stderr" >/dev/null
printf '%s\n' '/dm !mood optin' '/dm !mood optin confirm' '/dm !mood 8 ben-note' '/dm !mood export' |
	"$HEARTH" --data-dir "$M" --as ben 2>>"$WORK/stderr" >/dev/null
a=$(cat "$M"/exports/ana/*.csv 2>/dev/null || true)
b=$(cat "$M"/exports/ben/*.csv 2>/dev/null || true)
expect "ana's export is hers" "$a" "ana-note"
reject "ana's export holds nothing of ben's" "$a" "ben-note"
expect "ben's export is his" "$b" "ben-note"
reject "ben's export holds nothing of ana's" "$b" "ana-note"
out=$(printf '/dm !mood export\n' | "$HEARTH" --data-dir "$M" --as ../ana 2>>"$WORK/stderr")
reject "a name with slashes cannot reach another's folder" "$out" "exports/ana/"
# ana asks at 12:00 for a reminder at 12:10; at 12:15 ben starts and must not see it, ana does.
printf '/dm !mood remind 12:10\n' | "$HEARTH" --data-dir "$M" --as ana 2>>"$WORK/stderr" >/dev/null
export HEARTH_FAKE_NOW=1768479300   # 12:15Z
out=$( (sleep 2.5) | "$HEARTH" --data-dir "$M" --as ben 2>>"$WORK/stderr")
reject "ben never sees ana's reminder" "$out" "[private →"
out=$( (sleep 2.5) | "$HEARTH" --data-dir "$M" --as ana 2>>"$WORK/stderr")
expect "ana sees her reminder" "$out" "[private →"
finish
