#!/usr/bin/env bash
# ops_backup.sh - `hearth backup FILE` while Hearth runs and `hearth restore FILE` into a new
# data folder: a member's mood history, notes, reminder and the room's scheduled check-ins are
# all there afterwards, keys included; the backup is one file, 0600. restore refuses a folder
# that is not empty and a file that is not a Hearth backup, and changes nothing then.
# (E2EE sessions across a backup: tests/unit/test_backup.c.)
. "$(dirname "$0")/lib.bash"
export HEARTH_FAKE_NOW=1768478400   # 2026-01-15 12:00Z
NOTE="walked by the river"
mode_of() { stat -c %a "$1"; }

printf '%s\n' '/dm !mood optin' '/dm !mood optin confirm' "/dm !mood 7 $NOTE #calm" '/dm !mood 4' \
	'/dm !mood remind 20:30 Europe/Berlin' | run_console --as alice >/dev/null
printf '%s\n' '!mod checkin add "0 9 * * 1" Europe/Berlin' | run_console --as mo --role moderator >/dev/null

# Back up while Hearth runs: a console kept open on a fifo holds the store (and its lock).
mkfifo "$WORK/in"
"$HEARTH" --data-dir "$WORK/data" --as alice <"$WORK/in" >"$WORK/running.out" 2>>"$WORK/stderr" &
pid=$!
exec 3>"$WORK/in"
printf '/dm !mood 9 during the backup\n' >&3
sleep 1
out=$("$HEARTH" --data-dir "$WORK/data" backup "$WORK/hearth.backup" 2>&1)
expect "backup says where" "$out" "backup of $WORK/data written"
printf '/dm !mood 2 after the backup\n' >&3
exec 3>&-
wait $pid
equal "backup mode" "$(mode_of "$WORK/hearth.backup")" 600
equal "one file, nothing beside it" "$(ls "$WORK" | grep -c 'hearth.backup')" 1
out=$("$HEARTH" --data-dir "$WORK/data" backup "$WORK/hearth.backup" 2>&1 || true)
expect "never overwrites" "$out" "exists already"

# Restore into a new folder, then read it back through the console.
out=$("$HEARTH" --data-dir "$WORK/new" restore "$WORK/hearth.backup" 2>&1)
expect "restored" "$out" "restored into $WORK/new"
for f in hearth.db mood.key; do
	equal "$f restored 0600" "$(mode_of "$WORK/new/$f")" 600
done
equal "mood key is the same key" "$(cmp -s "$WORK/data/mood.key" "$WORK/new/mood.key" && echo same)" same
out=$(printf '/dm !mood history 30\n/dm !mood export\n' | "$HEARTH" --data-dir "$WORK/new" --as alice 2>>"$WORK/stderr")
expect "history: entries there" "$out" "3 entries"
json="$WORK/new/exports/alice/hearth-mood-2026-01-15.json"
expect "note decrypts with the restored key" "$(cat "$json")" "$NOTE"
expect "entry made during the backup" "$(cat "$json")" "during the backup"
reject "entry made after the backup is not in it" "$(cat "$json")" "after the backup"
expect "reminder there" "$(cat "$json")" '"time": "20:30"'
out=$(printf '!mod checkin list\n' | "$HEARTH" --data-dir "$WORK/new" --as mo --role moderator 2>>"$WORK/stderr")
expect "schedule there" "$out" "#1 0 9 * * 1 (Europe/Berlin)"

# Refusals change nothing.
mkdir -p "$WORK/full" && echo x >"$WORK/full/keep"
out=$("$HEARTH" --data-dir "$WORK/full" restore "$WORK/hearth.backup" 2>&1 || true)
expect "non-empty folder refused" "$out" "is not empty"
equal "nothing written there" "$(ls "$WORK/full")" keep
echo "not a database" >"$WORK/junk"
out=$("$HEARTH" --data-dir "$WORK/new2" restore "$WORK/junk" 2>&1 || true)
expect "junk refused" "$out" "not a Hearth backup"
reject "no store made from junk" "$(ls "$WORK/new2" 2>/dev/null || true)" "hearth.db"
# a hostile backup naming another file is refused before anything is written
cp "$WORK/hearth.backup" "$WORK/evil.backup"
python3 - "$WORK/evil.backup" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute("INSERT INTO hearth_backup VALUES ('../../etc/x', x'00')"); db.commit()
PY
out=$("$HEARTH" --data-dir "$WORK/new3" restore "$WORK/evil.backup" 2>&1 || true)
expect "unknown file refused" "$out" "unknown file"
reject "nothing restored from it" "$(ls "$WORK/new3" 2>/dev/null || true)" "hearth.db"
finish
