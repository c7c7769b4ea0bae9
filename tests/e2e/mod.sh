#!/usr/bin/env bash
# mod.sh - moderators through the console chat: help, pause and resume (crisis still answers),
# quiet hours, reload, k-anonymous stats, a member's refusal, and !mod in a private chat.
. "$(dirname "$0")/lib.bash"
unset HEARTH_FAKE_NOW

replies() { grep -c '^\[room\]\|^\[private\]' <<<"$1" || true; }

# Help lists every subcommand.
out=$(printf '!mod help\n' | run_console --as mo --role moderator)
for sub in 'pause' 'resume' 'reload' 'stats' 'checkin add' 'checkin list' 'checkin remove' 'quiet'; do
	expect "help lists !mod $sub" "$out" "!mod $sub"
done
expect "help says quiet-hour posts are skipped" "$out" "skipped, not saved up"

# A member is refused and nothing changes: !learn still answers afterwards.
out=$(printf '!mod pause\n!mod quiet 22:00-07:00\n' | run_console --as bea --role member)
expect "member refused" "$out" "only this room's moderators"
expect "member told nothing changed" "$out" "Nothing was changed"
out=$(printf '!learn roots\n!mod quiet\n' | run_console --as mo --role moderator)
expect "not paused by a member" "$out" "Where it comes from"
expect "no quiet hours set by a member" "$out" "no quiet hours"

# Pause: confirmed; !learn and !checkin stay silent (also after a restart); !crisis and !help answer.
out=$(printf '!mod pause\n!learn roots\n!checkin\n' | run_console --as mo --role moderator)
expect "pause confirmed" "$out" "Paused."
equal "paused: only the confirmation" "$(replies "$out")" "1"
out=$(printf '!learn roots\n!checkin\n!crisis\n!help\n' | run_console --as bea --role member)
reject "paused: no reading" "$out" "Where it comes from"
reject "paused: no check-in" "$out" "Check-in:"
expect "paused: crisis answers" "$out" "[private →"
expect "paused: help answers" "$out" "Here is what I can do"
out=$(printf '!mod resume\n!learn roots\n' | run_console --as mo --role moderator)
expect "resume confirmed" "$out" "I'm back"
expect "resumed: reading again" "$out" "Where it comes from"

# Quiet hours: set, shown, kind errors that change nothing, off.
out=$(printf '!mod quiet 22:00-07:00 Europe/Berlin\n!mod quiet 25:00-07:00\n!mod quiet 22:00-07:00 Moon/Base\n!mod quiet\n' | run_console --as mo --role moderator)
expect "quiet set" "$out" "Quiet hours set: 22:00-07:00 (Europe/Berlin)"
expect "quiet bad hour" "$out" "hour must be 0-23, got 25"
expect "quiet bad zone" "$out" "I don't know the time zone \"Moon/Base\""
expect "quiet unchanged by errors" "$out" "Quiet hours here: 22:00-07:00 (Europe/Berlin)"
out=$(printf '!mod quiet off\n!mod quiet\n' | run_console --as mo --role moderator)
expect "quiet off" "$out" "Quiet hours are off"
expect "quiet off shown" "$out" "no quiet hours"

# Reload without a restart.
out=$(printf '!mod reload\n' | run_console --as mo --role moderator)
expect "reload reports" "$out" "Content reloaded:"

# Stats: nobody logged, so no numbers; privately; a bad day count is explained.
out=$(printf '!mod stats\n!mod stats 400\n' | run_console --as mo --role moderator)
expect "stats below k" "$out" "On none of the last 30 whole days did 5 or more members log moods here"
expect "stats privately" "$out" "[private →"
expect "stats bad days" "$out" "from 1 to 365"
reject "stats shows no numbers" "$out" "verage"

# Stats and the difference attack: five members log a 5 today; today never counts. The next day
# the moderator sees bands and a rounded average; a sixth member's entry today changes nothing.
for m in m1 m2 m3 m4 m5; do
	printf '/dm !mood optin\n/dm !mood optin confirm\n!mood 5\n' |
		HEARTH_FAKE_NOW=1782896400 run_console --as "$m" >/dev/null   # 2026-07-01 09:00Z
done
out=$(printf '!mod stats\n' | HEARTH_FAKE_NOW=1782900000 run_console --as mo --role moderator)
expect "stats: today is not counted" "$out" "not showing numbers"
first=$(printf '!mod stats\n' | HEARTH_FAKE_NOW=1782982800 run_console --as mo --role moderator)
expect "stats: closed day in bands" "$first" "Entries: 5-9, from 5-9 members"
expect "stats: rounded average" "$first" "Average: 5.0 out of 10"
printf '/dm !mood optin\n/dm !mood optin confirm\n!mood 2\n' |
	HEARTH_FAKE_NOW=1782986400 run_console --as m6 >/dev/null
second=$(printf '!mod stats\n' | HEARTH_FAKE_NOW=1782990000 run_console --as mo --role moderator)
equal "stats: a new entry changes nothing" "$second" "$first"

# In a private chat: explained, nothing changed; help works there.
out=$(printf '/dm !mod pause\n/dm !mod help\n!learn roots\n' | run_console --as mo --role moderator)
expect "private: explained" "$out" "group room you moderate"
expect "private: help" "$out" "!mod checkin add"
expect "private: room not paused" "$out" "Where it comes from"

finish
