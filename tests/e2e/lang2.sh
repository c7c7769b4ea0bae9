#!/usr/bin/env bash
# End to end through the console chat (issue 11 part 3): the last English left in a German room.
# A German member's `!mood history` dates (weekdays, months, the table head) come from the
# phrases, never from English in the code or the process locale; a moderator's schedule errors,
# the next times of `!mod checkin add` and `!mod status` are German; an English member and an
# English room keep English. Hostile input: a time zone with Markdown is refused kindly in German
# and stores nothing.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
export HEARTH_FAKE_NOW=1773576000   # Sunday 2026-03-15 12:00Z
export LC_ALL=C                     # German must not depend on the process locale

# 1. A German room: schedule errors and next times.
out=$(printf '%s\n' '!mod set language de' '!mod checkin add "* 9 * * *"' \
	'!mod checkin add "0 9 * * *" Mars/*Olymp*' '!mod checkin add "0 9 * 13 *"' \
	'!mod checkin add "0 9 * * *"' '!mod status' | run_console --as alice --role moderator)
expect "too often, in German" "$out" "mehr als einmal pro Stunde posten"
expect "the * hint, in German" "$out" "heißt jede Minute"
reject "no English hint" "$out" "crowd the room"
expect "an unknown zone, in German" "$out" "Die Zeitzone \"Mars/"
expect "an unreadable schedule, in German" "$out" "Diesen Zeitplan konnte ich nicht lesen"
reject "no English schedule errors" "$out" "I couldn't read that schedule"
expect "added with a German weekday" "$out" "Das erste ist fällig Mo 2026-03-16 09:00"
expect "status with a German weekday" "$out" "nächstes: Mo 2026-03-16 09:00"
reject "no English weekday" "$out" "Mon 2026"
out=$(printf '%s\n' '!mod checkin list' | run_console --as alice --role moderator)
equal "only the good schedule was stored" "$(grep -c '^- #' <<<"$out" || true)" 1

# 2. A German member's history.
out=$(printf '%s\n' '/dm !lang de' '/dm !mood optin' '/dm !mood optin confirm' '/dm !mood 6 #ruhig' \
	'/dm !mood history' | run_console --as bob)
expect "German table head" "$out" "Tag          Schn. Einträge"
expect "German day in the table" "$out" "So 15. Mär   6.0  1"
expect "German day in the latest entries" "$out" "- So 15. Mär 12:00 · 6"
reject "no English weekday" "$out" "Sun"
reject "no English month" "$out" "Mar "

# 3. An English member in an English room keeps English dates.
out=$(printf '%s\n' '/dm !mood optin' '/dm !mood optin confirm' '/dm !mood 7' '/dm !mood history' \
	| run_console --as carol)
expect "English table head" "$out" "Day          Avg  Entries"
expect "English day" "$out" "- Sun 15 Mar 12:00 · 7"
reject "no German" "$out" "Mär"
finish
