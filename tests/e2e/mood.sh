#!/usr/bin/env bash
# End to end through the console chat: mood opt-in, entries in the room and privately, history,
# export files (0600, with the note), the key file (0600, reused after a restart, refused when
# readable by others), forget with confirmation, and nothing of the note in logs or room replies.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
export HEARTH_FAKE_NOW=1768478400   # 2026-01-15 12:00Z: export names are predictable
DATA="$WORK/data"
NOTE="quiet-walk-7731"

# Room blocks ([room] ... up to the next header) of console output.
room_blocks() { awk '/^\[private → / { r = 0; next } $0 == "[room]" { r = 1; next } r' <<<"$1"; }
mode_of() { stat -c %a "$1"; }

# 1. Opt in, log in the room and privately, read history, export.
out=$(printf '%s\n' '!mood 5 before consent' '/dm !mood optin' '/dm !mood optin confirm' \
	"!mood 7 $NOTE #calm" '/dm !mood 4 "tired", but ok #tired' '/dm !mood 0' \
	'/dm !mood history' '/dm !mood export' | run_console --as alice)
expect "consent gate" "$out" "first I need your okay"
expect "consent text" "$out" "older than 365 days"
expect "consent says not therapy" "$out" "not therapy"
expect "opted in" "$out" "Your mood log is ready"
expect "entry logged" "$out" "Logged 7/10 with your note (calm)"
expect "bad score" "$out" "Scores go from 1 to 10"
expect "history sparkline" "$out" "one mark per day"
expect "history note" "$out" "$NOTE #calm"
expect "history average" "$out" "Average 5.5 from 2 entries"
expect "room pointer" "$(room_blocks "$out")" "I've replied to you privately."
reject "room never sees the note" "$(room_blocks "$out")" "$NOTE"
reject "room never sees the score" "$(room_blocks "$out")" "Logged"
csv="$DATA/exports/alice/hearth-mood-2026-01-15.csv"
json="$DATA/exports/alice/hearth-mood-2026-01-15.json"
expect "export announced" "$out" "2 entries, as a CSV file"
for f in "$csv" "$json"; do
	if [ -f "$f" ]; then PASSES=$((PASSES + 1)); else echo "FAIL: export file $f missing"; FAILS=$((FAILS + 1)); continue; fi
	equal "export $(basename "$f") mode" "$(mode_of "$f")" 600
	expect "export $(basename "$f") has the note" "$(cat "$f")" "$NOTE"
done
expect "csv quoting" "$(cat "$csv")" '"""tired"", but ok #tired","tired","private"'
expect "json tags" "$(cat "$json")" '"calm"'
equal "key file mode" "$(mode_of "$DATA/mood.key")" 600
equal "key file size" "$(stat -c %s "$DATA/mood.key")" 32
if grep -qaF "$NOTE" "$DATA/hearth.db"; then echo "FAIL: the note is readable in hearth.db"; FAILS=$((FAILS + 1)); else PASSES=$((PASSES + 1)); fi
reject "log holds no note" "$(cat "$WORK/stderr")" "$NOTE"

# 2. Another member sees nothing of alice's.
out=$(printf '%s\n' '/dm !mood history' '/dm !mood export' '/dm !mood forget' | run_console --as bob)
expect "bob has no log" "$out" "You don't have a mood log"
reject "bob never sees alice's note" "$out" "$NOTE"

# 2b. Consent is to the text just read: a confirm without it shows the text and keeps nothing;
# after it (within 30 minutes, across a restart) the confirm counts.
out=$(printf '%s\n' '/dm !mood optin confirm' '/dm !mood 6' | run_console --as bob)
expect "confirm first: the text" "$out" "Before you agree, please read what the mood log keeps"
expect "confirm first: not therapy" "$out" "not therapy"
expect "confirm first: nothing logged" "$out" "first I need your okay"
out=$(printf '%s\n' '/dm !mood optin confirm' | HEARTH_FAKE_NOW=$((HEARTH_FAKE_NOW + 1860)) run_console --as bob)
expect "confirm too late" "$out" "Before you agree"
out=$(printf '%s\n' '/dm !mood optin confirm' | HEARTH_FAKE_NOW=$((HEARTH_FAKE_NOW + 1900)) run_console --as bob)
expect "confirm after reading" "$out" "Your mood log is ready"

# 3. After a restart the same key opens the notes; then forget everything.
key_before=$(sha256sum "$DATA/mood.key")
out=$(printf '%s\n' '/dm !mood history' '/dm !mood forget confirm' '/dm !mood forget' \
	'/dm !mood forget confirm' '/dm !mood history' | run_console --as alice)
equal "key file kept" "$(sha256sum "$DATA/mood.key")" "$key_before"
expect "history after restart" "$out" "$NOTE"
expect "confirm needs forget first" "$out" "Nothing was deleted"
expect "forget asks" "$out" "It can't be undone"
expect "forget done" "$out" "Everything the mood log held about you is deleted"
expect "log gone" "$out" "You don't have a mood log"

# 4. A key file others can read, kept outside the data folder (inside it, Hearth closes the mode
#    at start, see privacy.sh): Hearth refuses to start and says what to do.
cp "$DATA/mood.key" "$WORK/outside.key"
chmod 644 "$WORK/outside.key"
printf '[bot]\ndata_dir = %s\n\n[mood]\nkey_file = %s\n' "$DATA" "$WORK/outside.key" >"$WORK/key.ini"
set +e
printf '!help\n' | "$HEARTH" --config "$WORK/key.ini" --as alice >"$WORK/out4" 2>"$WORK/err4"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then PASSES=$((PASSES + 1)); else echo "FAIL: hearth started with a 0644 key file"; FAILS=$((FAILS + 1)); fi
expect "wide key refused" "$(cat "$WORK/err4")" "chmod 600 $WORK/outside.key"
reject "nothing answered" "$(cat "$WORK/out4")" "Here is what I can do"

finish
