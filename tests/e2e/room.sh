#!/usr/bin/env bash
# room.sh - a facilitator sets up a room through the console chat (issue 10, points 1-6): status,
# per-room settings, the welcome, check-ins with the room's words or a topic, the topic of the
# week, the rate limit in the room, and the check-in rotation.
. "$(dirname "$0")/lib.bash"
export HEARTH_FAKE_NOW=1782896400   # 2026-07-01 09:00Z

mo() { run_console --as mo --role moderator; }

# 1. Status of a fresh room: everything at its default.
out=$(printf '!mod status\n' | mo)
for line in 'Hearth: active' 'Quiet hours: none' 'Time zone: UTC (the default)' \
	'Scheduled check-ins: none' 'Crisis country: intl (the default)' 'Language: en (the default)' \
	'Prefix: ! (the default)' 'Welcome: on'; do
	expect "status: $line" "$out" "$line"
done

# 2. Settings: bad values are refused with the good ones and change nothing; zones in any case.
out=$(printf '!mod set country mars\n!mod set language xx\n!mod set prefix a\n!mod set timezone moon/base\n!mod status\n' | mo)
expect "bad country lists the good ones" "$out" "Good values: at, au, ca, ch, de, gb, ie, us, or intl"
expect "bad language lists the good ones" "$out" "Good values: de, en."
expect "bad prefix lists the good ones" "$out" "Good values: ! \" #"
expect "bad zone gives examples" "$out" "Europe/London"
expect "nothing changed" "$out" "Crisis country: intl (the default)"
out=$(printf '!mod set timezone europe/london\n!mod set country uk\n!mod quiet 22:00-07:00\n' | mo)
expect "zone in any case, written right" "$out" "time zone is now Europe/London"
expect "country alias" "$out" "crisis country is now gb"
expect "quiet hours use the room's zone" "$out" "Quiet hours set: 22:00-07:00 (Europe/London)"
out=$(printf '!crisis\n' | run_console --as bea)
expect "crisis uses the room's country" "$out" "Samaritans"

# 1 again: a schedule in quiet hours is flagged when added and listed; status shows it in the
# room's zone.
out=$(printf '!mod checkin add "0 23 * * *" text "What is one kind thing you did today?"\n!mod checkin list\n!mod status\n' | mo)
expect "add warns about quiet hours" "$out" "falls inside the room's quiet hours (22:00-07:00, Europe/London)"
expect "list flags it" "$out" "(falls in quiet hours at times)"
expect "status: next time in the room's zone" "$out" "next: Wed 2026-07-01 23:00"
expect "status: quiet hours" "$out" "Quiet hours: 22:00-07:00 (Europe/London)"
expect "status: the room's question" "$out" "the room's own question"

# 4. A check-in with a topic; topic of the week for !learn.
out=$(printf '!mod checkin add "0 19 * * 1" topic self compassion\n!mod checkin add "0 20 * * 1" topic nothing-like-it\n!mod topic-of-week roots\n' | mo)
expect "checkin with a topic" "$out" "with a topic"
expect "unknown topic refused" "$out" "Nothing was added"
expect "topic of the week set" "$out" "Topic of the week: Where it comes from"
out=$(printf '!learn\n' | run_console --as bea)
expect "learn shows the week's topic" "$out" "This week's topic:"
out=$(printf '!learn\n' | HEARTH_FAKE_NOW=$((1782896400 + 8 * 86400)) run_console --as bea)
expect "a week later: the day's reading" "$out" "Today's reading:"

# 3. Welcome: Hearth introduces itself once; a member is welcomed once, name escaped; a flood
# gets one welcome a minute; the room's own words; off.
out=$(printf '/enter\n/enter\n' | mo)
equal "one introduction" "$(grep -c "I'm Hearth\|I'm \*\*Hearth\|Hello, I'm Hearth" <<<"$out")" "1"
expect "introduction: help and not therapy" "$out" "not therapy"
out=$(printf '/join *Zed* [x](http://e.example)\n/join ann\n/join bob\n' | mo)
equal "a flood: one welcome" "$(grep -c '^Welcome' <<<"$out")" "1"
expect "the name is shown as text" "$out" "Welcome, *Zed* [x](http:"
out=$(printf '/join *Zed* [x](http://e.example)\n' | HEARTH_FAKE_NOW=$((1782896400 + 3600)) mo)
reject "never twice (left and rejoined)" "$out" "Welcome"
out=$(printf '!mod welcome set "Glad you'"'"'re here. Say \"hi\" when ready."\n' | mo)
out=$(printf '/join cat\n' | HEARTH_FAKE_NOW=$((1782896400 + 7200)) mo)
expect "the room's own welcome" "$out" "Welcome, cat! Glad you're here. Say \"hi\" when ready."
out=$(printf '!mod welcome off\n/join dee\n!mod status\n' | HEARTH_FAKE_NOW=$((1782896400 + 9000)) mo)
reject "welcome off" "$out" "Welcome, dee"
expect "status: welcome off" "$out" "Welcome: off"

# 2. The room's prefix really works, and help shows it.
out=$(printf '!mod set prefix ?\n!help\n?help\n?learn roots\n' | mo)
expect "prefix set" "$out" "e.g. ?help"
expect "help shows the room's prefix" "$out" "?learn [topic]"
reject "the old prefix is silent" "$out" "!learn [topic]"
expect "the new prefix answers" "$out" "Where it comes from"
out=$(printf '?mod set prefix default\n!about\n' | mo)
expect "back to the default" "$out" "not a crisis service"

# 5. A member gets 3 answers a minute in the room, then one private note, then silence;
# !crisis always answers; private chats are not limited.
out=$(printf '!learn\n!checkin\n!topics\n!help\n!learn\n/dm !learn\n!crisis\n' | run_console --as eve)
equal "three answers in the room, then a note" "$(grep -c '^\[room\]' <<<"$out")" "4"
expect "the note is private and kind" "$out" "I'll pause there for a moment"
expect "crisis answers anyway" "$out" "Samaritans"
out=$(printf '!learn\n!learn\n!learn\n!learn\n!learn\n' | run_console --as mo --role moderator)
equal "moderators are not limited" "$(grep -c '^\[room\]' <<<"$out")" "5"

# 6. Rotation: once every prompt was shown, the least recently shown, never the last one.
n=$(grep -c '^- ' "$SRC/content/prompts.md")
seq_in=""
for _ in $(seq 1 $((n * 2 + 2))); do seq_in+='!checkin'$'\n'; done
out=$(printf '%s' "$seq_in" | run_console --as mo --role moderator | grep '^Check-in:')
equal "every check-in answered" "$(wc -l <<<"$out")" "$((n * 2 + 2))"
equal "the first round shows each prompt once" "$(head -n "$n" <<<"$out" | sort -u | wc -l)" "$n"
equal "never the same twice in a row" "$(uniq <<<"$out" | wc -l)" "$((n * 2 + 2))"
equal "then the least recently shown" "$(sed -n "$((n + 1)),$((2 * n))p" <<<"$out")" "$(head -n "$n" <<<"$out")"

finish
