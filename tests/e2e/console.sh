#!/usr/bin/env bash
# console.sh - a newcomer's first minute: the console chat driven by a script.
. "$(dirname "$0")/lib.bash"

out=$(printf '!help\n!learn attachmnt\n!learn roots\n!checkin\n!checkin\nhello there\n/dm !about\n!topics\n' | run_console --as sam)
expect "help answers in the room" "$out" "[room]"
expect "help lists learn" "$out" "!learn [topic]"
expect "help says not therapy" "$out" "not therapy"
expect "misspelled topic gets suggestions" "$out" "!learn anxious-attachment"
expect "topic with sources" "$out" "Sources: Bowlby, J. (1969)"
expect "checkin prompt" "$out" "Check-in:"
expect "private reply header" "$out" "[private]"
expect "about" "$out" "not a crisis service"
reject "markdown is rendered for the console" "$out" "**"
equal "plain chatter is not answered: replies" "$(grep -c '^\[room\]\|^\[private\]' <<<"$out")" "7"
c1=$(grep -A1 '^\[room\]' <<<"$out" | grep 'Check-in:' | sed -n 1p)
c2=$(grep -A1 '^\[room\]' <<<"$out" | grep 'Check-in:' | sed -n 2p)
if [ -n "$c1" ] && [ "$c1" != "$c2" ]; then PASSES=$((PASSES + 1)); else echo "FAIL: two check-ins in a day must differ: '$c1' / '$c2'"; FAILS=$((FAILS + 1)); fi

# Exit 0 at end of input, and the store was created with private permissions.
printf '!help\n' | run_console >/dev/null; equal "exit code at end of input" "$?" "0"
[ -n "${HEARTH_E2E_STORE:-}" ] || equal "database mode" "$(stat -c %a "$WORK/data/hearth.db")" "600"

# Odd input: never a crash, a short error for commands only.
out=$(printf '!learn \xff\xfe\n\xff chatter\n!help\x07\n' | run_console)
expect "invalid UTF-8 command" "$out" "couldn't read"
equal "bad chatter ignored, bad commands answered" "$(grep -c '^\[room\]' <<<"$out")" "2"
long=$(head -c 10000 /dev/zero | tr '\0' 'a')
out=$(printf '!%s\n' "$long" | run_console)
expect "long message" "$out" "too long"
out=$(printf '!LeArN    ROOTS   \n' | run_console)
expect "case and spaces" "$out" "Where it comes from"

# The command line.
expect "--version" "$("$HEARTH" --version)" "hearth "
expect "--help" "$("$HEARTH" --help)" "--check-config"
set +e
"$HEARTH" --bogus >/dev/null 2>"$WORK/err"; rc=$?
set -e
equal "unknown option exit code" "$rc" "2"
set +e; "$HEARTH" --role boss </dev/null >/dev/null 2>"$WORK/err"; rc=$?; set -e
equal "bad role exit code" "$rc" "2"
expect "bad role message" "$(cat "$WORK/err")" "member or moderator"
finish
