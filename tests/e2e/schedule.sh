#!/usr/bin/env bash
# schedule.sh - scheduled check-ins end to end through the console chat, on a pinned clock
# (HEARTH_FAKE_NOW): add, list, remove, kind errors, persistence across restarts, one catch-up
# post after downtime (not a burst, not repeated on the next start), quiet hours hold it back.
# Exact timing across zones and daylight-saving changes is in tests/unit/test_sched.c.
. "$(dirname "$0")/lib.bash"

WED_0800=1782892800   # 2026-07-01 08:00 UTC, a Wednesday
FRI_1200=1783080000   # 2026-07-03 12:00 UTC
FRI_2300=1783119600   # 2026-07-03 23:00 UTC

mod() { HEARTH_FAKE_NOW=$1 run_console --as mo --role moderator; }
checkins() { grep -c 'Check-in:' <<<"$1" || true; }

# Add two schedules; errors explain themselves and add nothing.
out=$(printf '%s\n' '!mod checkin add "0 9 * * *" UTC' \
	'!mod checkin add "30 18 * * 1-5" Europe/Berlin' \
	'!mod checkin add "0 9 * * 8"' \
	'!mod checkin add "0 9 * * *" Narnia/Cair_Paravel' \
	'!mod checkin list' | mod $WED_0800)
expect "first id" "$out" "Scheduled check-in #1 added: 0 9 * * * (UTC). The first one is due Wed 2026-07-01 09:00."
expect "second id, own zone" "$out" "Scheduled check-in #2 added: 30 18 * * 1-5 (Europe/Berlin). The first one is due Wed 2026-07-01 18:30."
expect "cron error with its reason" "$out" "day-of-week must be 0-7 or sun-sat, got 8"
expect "zone error" "$out" "I don't know the time zone \"Narnia/Cair_Paravel\""
expect "list #1" "$out" "#1 0 9 * * * (UTC), next: Wed 2026-07-01 09:00"
expect "list #2" "$out" "#2 30 18 * * 1-5 (Europe/Berlin), next: Wed 2026-07-01 18:30"
reject "no third schedule" "$out" "#3"
equal "no check-in posted before its time" "$(checkins "$out")" "0"

# A restart keeps them; a member cannot add or remove.
out=$(printf '%s\n' '!mod checkin add "0 10 * * *"' '!mod checkin remove 1' | HEARTH_FAKE_NOW=$WED_0800 run_console --as bea --role member)
expect "member refused" "$out" "only this room's moderators"
out=$(printf '!mod checkin list\n' | mod $WED_0800)
expect "kept across restart #1" "$out" "#1 0 9 * * * (UTC)"
expect "kept across restart #2" "$out" "#2 30 18 * * 1-5 (Europe/Berlin)"
reject "member added nothing" "$out" "#3"

# Down from Wednesday 08:00 to Friday 12:00: five check-in times were missed; one post on start.
# (stdin stays open a moment so the start-up catch-up runs before the input ends.)
out=$( { sleep 2; printf '!mod checkin list\n'; } | mod $FRI_1200)
equal "one catch-up post, not a burst" "$(checkins "$out")" "1"
expect "list after catch-up" "$out" "#1 0 9 * * * (UTC), next: Sat 2026-07-04 09:00"
out=$( { sleep 2; printf '!mod checkin list\n'; } | mod $FRI_1200)
equal "not posted again on the next start" "$(checkins "$out")" "0"

# Quiet hours: the Berlin check-in missed at 18:30 is not posted at 23:00 UTC inside quiet hours.
out=$(printf '!mod quiet 22:00-07:00 UTC\n' | mod $FRI_1200)
expect "quiet set" "$out" "Quiet hours set: 22:00-07:00 (UTC)"
out=$( { sleep 2; printf '!mod checkin list\n'; } | mod $FRI_2300)
equal "nothing posted in quiet hours" "$(checkins "$out")" "0"

# Remove: only existing ids of this room; a restart shows the change.
out=$(printf '%s\n' '!mod checkin remove 99' '!mod checkin remove 1' '/dm !mod checkin remove 2' | mod $FRI_2300)
expect "unknown id" "$out" "There is no scheduled check-in #99 in this room"
expect "removed" "$out" "Scheduled check-in #1 removed."
expect "private chat explained" "$out" "group room you moderate"
out=$(printf '!mod checkin list\n' | mod $FRI_2300)
reject "#1 gone after restart" "$out" "#1 "
expect "#2 still there" "$out" "#2 30 18 * * 1-5 (Europe/Berlin)"

finish
