#!/usr/bin/env bash
# console.sh - a newcomer's first minute: the console chat driven by a script.
. "$(dirname "$0")/lib.bash"

# Two sittings: in a group room a member gets at most 3 answers a minute (tests/e2e/room.sh).
out=$(printf '!help\n!learn attachmnt\n!learn roots\n' | run_console --as sam
      printf '!checkin\n!checkin\nhello there\n/dm !about\n!topics\n' | run_console --as sam)
expect "help answers in the room" "$out" "[room]"
expect "help lists learn" "$out" "!learn [topic]"
expect "help says not therapy" "$out" "not therapy"
expect "misspelled topic gets suggestions" "$out" "!learn anxious-attachment"
expect "topic with sources" "$out" "Sources: Bowlby (1969); Ainsworth et al. (1978)."
expect "checkin prompt" "$out" "Check-in:"
expect "private reply header names the member" "$out" "[private → sam]"
reject "no bare private header" "$out" "[private]"
expect "about" "$out" "not a crisis service"
reject "markdown is rendered for the console" "$out" "**"
equal "plain chatter is not answered: replies" "$(grep -c '^\[room\]\|^\[private → sam\]' <<<"$out")" "7"
c1=$(grep -A1 '^\[room\]' <<<"$out" | grep 'Check-in:' | sed -n 1p)
c2=$(grep -A1 '^\[room\]' <<<"$out" | grep 'Check-in:' | sed -n 2p)
if [ -n "$c1" ] && [ "$c1" != "$c2" ]; then PASSES=$((PASSES + 1)); else echo "FAIL: two check-ins in a day must differ: '$c1' / '$c2'"; FAILS=$((FAILS + 1)); fi

# Help for one command reads right: no raw Markdown, the full mood help as "!mood" gives it,
# and the list keeps each command apart from its description.
out=$(printf '!help crisis\n/dm !help mood\n/dm !mood\n!help\n' | run_console --as sam)
reject "!help crisis has no raw emphasis" "$out" "*"
equal "!help crisis first lines" "$(sed -n 2p <<<"$out")" "!crisis"
blk() { awk -v want="$1" '/^\[/ { n++; next } n == want' <<<"$out"; }
equal "!help mood is the full mood help" "$(blk 2)" "$(blk 3)"
expect "the full mood help" "$(blk 2)" "!mood history [days]"
expect "the list separates command and description" "$(blk 4)" "- !learn [topic]: A short reading"

# Who a line is for: the room, one member, or the moderators' room (a crisis alert).
cat >"$WORK/alert.ini" <<'INI'
[room console #lobby]
crisis_alert_room = #mods
INI
out=$(printf 'I want to die\n' | run_console --as sam --config "$WORK/alert.ini")
expect "crisis answer is private to sam" "$out" "[private → sam]"
expect "alert names the moderators' room" "$out" "[room #mods]"
equal "the alert is the only room line" "$(grep -c "^\\[room" <<<"$out")" "1"
alert=$(awk '/^\[/ { inb = ($0 == "[room #mods]"); next } inb' <<<"$out")
expect "the alert says someone may need support" "$alert" "may need support"
reject "the alert does not name sam" "$alert" "sam"
# A hostile name cannot put control characters or a fake header on the console.
out=$(printf '/dm !about\n' | run_console --as $'eve\e[2J]x')
expect "control characters in a name are shown as ?" "$out" "[private → eve?[2J?x]"
reject "no escape character reaches the terminal" "$out" $'\e'

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
