#!/usr/bin/env bash
# End to end through the console chat: a German room (help, a topic, a check-in, mood consent,
# a crisis answer with German resources), a member's own language for private replies with
# !lang, English where a German topic is missing, hostile !lang input, and --check-config
# listing what a language lacks, refusing a translation whose slots differ or a line inih would
# cut, and reading a phrase that goes on over indented lines; the last English in German replies
# (cron and quiet-hour reasons, the country list, the CSV export).
. "$(dirname "$0")/lib.bash"
unset HEARTH_FAKE_NOW

# The shipped content with a small German of our own (so this test does not depend on the
# German texts of the day): the shipped phrases, one topic, one prompt, consent, crisis.
C="$WORK/content"
cp -r "$SRC/content" "$C"
rm -rf "$C/de"
mkdir -p "$C/de/topics" "$C/de/crisis"
cp "$SRC/content/de/phrases.ini" "$C/de/"
[ -f "$C/crisis/patterns-de.txt" ] || cp "$C/crisis/patterns-en.txt" "$C/crisis/patterns-de.txt"
cat >"$C/de/topics/roots.md" <<'MD'
---
id: roots
title: Wurzeln
aliases: Herkunft
kind: guidance
---
Zebrawurzel: Was wir früh erleben, prägt, wie wir uns binden.
MD
printf -- '- Wie geht es dir heute, zebrafrage?\n' >"$C/de/prompts.md"
printf -- '---\nid: consent-mood\nversion: 1\ntitle: Bevor du beginnst\n---\nZebrazustimmung: Gespeichert wird höchstens {retention_days} Tage.\n' >"$C/de/consent-mood.md"
printf 'Zebrakrise: Du bist nicht allein.\n' >"$C/de/crisis/response.md"
printf -- '---\nid: de\ncountry: Deutschland\n---\n- TelefonSeelsorge: 0800 111 0 111 (zebranummer)\n- Notruf: 112\n' >"$C/de/crisis/de.md"
export HEARTH_CONTENT_DIR="$C"

# One number from Hearth's store, on either engine (tests/pg/hearth_store.py).
store_count() {
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import hearth_store as h
r = h.query_one(sys.argv[2], sys.argv[3]); print(r[0] if r else "")' "$SRC/tests/pg" "$WORK/data" "$1"
}

# 1. A German room.
out=$(printf '%s\n' '!mod set language de' '!mod set country de' '!help' '!learn roots' '!learn herkunft' \
	'!learn awareness' '!checkin' '!mood optin' | run_console --as alice --role moderator)
expect "help in German" "$out" "Das kann ich für dich tun:"
expect "help lists !lang in German" "$out" "Die Sprache, in der ich privat mit dir spreche"
expect "commands stay the same words" "$out" "!learn [topic]: Ein kurzer Text"
expect "a German topic" "$out" "Zebrawurzel"
expect "a German alias" "$(grep -c Zebrawurzel <<<"$out")" "2"
expect "a missing German topic falls back to English" "$out" "Awareness as a first step"
expect "in a German frame" "$out" "Das ist eine praktische Anregung aus der Selbsthilfe"
expect "a German check-in" "$out" "Check-in: Wie geht es dir heute, zebrafrage?"
expect "a German check-in frame" "$out" "Aussetzen ist immer in Ordnung"
expect "German consent, privately" "$out" "Zebrazustimmung: Gespeichert wird höchstens 365 Tage."
expect "German consent window" "$out" "gilt 30 Minuten"
reject "no English consent" "$out" "A mood log is a private place"

# 2. Crisis words in the German room: the German answer with German resources, the English
#    directory's other countries under a German heading; the words are not echoed or logged.
out=$(printf '%s\n' 'honestly zebracorn, I want to die' | run_console --as alice)
expect "a German crisis answer" "$out" "Zebrakrise: Du bist nicht allein."
expect "German resources" "$out" "0800 111 0 111 (zebranummer)"
expect "German heading" "$out" "Andere Länder"
reject "the words are not echoed" "$out" "zebracorn"
reject "the words are not logged" "$(cat "$WORK/stderr")" "zebracorn"

# 3. !lang: bob chooses English for private replies; the room stays German for everyone.
out=$(printf '%s\n' '!lang' '!lang en' '!lang' '!mood optin' '!help' '!crisis' | run_console --as bob)
expect "!lang alone: the room's language and the choices" "$out" "Ich spreche mit dir Deutsch (de)"
expect "!lang alone lists the choices" "$out" "Ich kann: de, en."
expect "!lang en is confirmed in English" "$out" "Done: I'll speak English with you in private"
expect "!lang alone after a choice" "$out" "You chose English (en) for our private chats."
expect "his consent comes in English" "$out" "A mood log is a private place"
expect "the room still speaks German" "$out" "Das kann ich für dich tun:"
expect "his crisis answer is English" "$out" "you are not alone"
expect "with English resources for the room's country" "$out" "Emergency: call 112"
expect "the room's pointer in German" "$out" "Ich habe dir privat ein paar Anlaufstellen geschickt."
out=$(printf '%s\n' '!checkin' | run_console --as bob)
expect "room replies stay German after his choice" "$out" "zebrafrage"

# 4. Hostile !lang input: a kind no, nothing stored.
long=$(printf 'x%.0s' $(seq 1 3000))
out=$(printf '%s\n' '!lang ../../etc' '!lang xx' '!lang fr' "!lang $long" '!lang de en' '!lang %s%n' \
	'!lang ﻿de' | run_console --as carol)
equal "every hostile !lang is refused" "$(grep -c 'Diese Sprache kenne ich noch nicht, darum hat sich nichts geändert' <<<"$out")" "7"
reject "nothing is echoed" "$out" "../../etc"
equal "only bob's choice is stored" "$(store_count "SELECT count(*) FROM member_lang")" "1"
equal "no member id is stored in the clear" "$(store_count "SELECT count(*) FROM member_lang WHERE member LIKE '%bob%'")" "0"

# 5. !mood forget confirm deletes the choice.
out=$(printf '%s\n' '/dm !mood forget' '/dm !mood forget confirm' | run_console --as bob)
equal "the choice is gone with everything else" "$(store_count "SELECT count(*) FROM member_lang")" "0"

# 6. --check-config: what German lacks, as warnings; a translation with other slots refused.
out=$("$HEARTH" --check-config 2>&1) || true
expect "check-config passes with gaps" "$out" ": ok"
expect "it lists the missing topics" "$out" "language de has no translation yet (English is used) for: topics: anxious-attachment"
expect "and the missing about" "$out" "about.md"
reject "not the translated ones" "$out" "topics: roots"
printf '[router]\ntoo_long = Zu lang: %%s\n' >>"$C/de/phrases.ini"
n=$(wc -l <"$C/de/phrases.ini")
out=$("$HEARTH" --check-config 2>&1) && rc=0 || rc=$?
equal "a slot mismatch fails the check" "$rc" "1"
expect "with its file and line" "$out" "$C/de/phrases.ini:$n: [router] too_long has the slots \"%s\" but English has \"%d\""

# An over-long line (inih would cut it without a word) is named with its line.
printf 'ok = %0200d\n' 0 >>"$C/de/phrases.ini"
out=$("$HEARTH" --check-config 2>&1) && rc=0 || rc=$?
equal "an over-long line fails the check" "$rc" "1"
expect "with its file and line" "$out" "$C/de/phrases.ini:$((n + 1)): this line is 205 bytes; a line may have at most 190"
# A phrase over indented lines is read whole, joined with one space.
cp "$SRC/content/de/phrases.ini" "$C/de/"
sed -i 's/^intro = Das kann .*/intro = Zebrahilfe: das kann ; ein Kommentar\n    ich\n\tfür dich tun:/' "$C/de/phrases.ini"
out=$("$HEARTH" --check-config 2>&1) || true
expect "check-config passes with a continuation" "$out" ": ok"
out=$(printf '%s\n' '!help' | run_console --as carol)
expect "the pieces joined, the comment after \" ;\" left out" "$out" "Zebrahilfe: das kann ich für dich tun:"
reject "no comment in it" "$out" "Kommentar"

# 7. Every phrase the code names is in the English book.
missing=$(grep -ohE '(hctx_phrase\([^,]+, *HDEST_[A-Z]+, *|phrase\([^,]+, *[^,]+, *|PP?\(|P\(&?ctx, *)"[a-z_]+\.[a-z0-9_]+"' "$SRC"/bot/care/*.c |
	grep -oE '"[a-z_]+\.[a-z0-9_]+"' | tr -d '"' | sort -u | while read -r key; do
	sec=${key%%.*} k=${key#*.}
	awk -v s="[$sec]" -v k="$k" '/^\[/ { in_s = ($0 == s) } in_s && $1 == k && $2 == "=" { f = 1 } END { exit !f }' \
		"$SRC/content/phrases.ini" || echo "$key"
done)
equal "phrases the code names but content/phrases.ini lacks" "$missing" ""
equal "the German book has every English phrase" "$(HEARTH_CONTENT_DIR="$SRC/content" "$HEARTH" --check-config 2>&1 | grep -c 'phrases (phrases.ini' || true)" "0"

# 8. The last English in German replies (issue 11): the cron parser's reason in a schedule error,
#    a quiet-hours reason, the CSV export's column names and words.
out=$(printf '%s\n' '!mod checkin add "0 25 * * *"' '!mod checkin add "0 9 * * 5-1"' '!mod quiet 22:00-22:00' \
	'!mod set country narnia' | run_console --as alice --role moderator)
expect "a German cron reason" "$out" "Stunde: erlaubt ist 0-23, nicht 25"
expect "another German cron reason" "$out" "Wochentag: Der Bereich 5-1 läuft rückwärts"
expect "a German quiet-hours reason" "$out" "beginnen und enden zur selben Zeit (22:00)"
expect "the country list ends in German" "$out" "oder intl für das internationale Verzeichnis"
for w in "must be" "got 25" "runs backwards" "start and end" "international directory"; do
	reject "no English \"$w\"" "$out" "$w"
done
printf '%s\n' '/dm !lang de' '/dm !mood optin' '/dm !mood optin confirm' '/dm !mood 6 #müde' '/dm !mood export' |
	run_console --as dora >/dev/null
csv=$(cat "$WORK"/data/exports/dora/hearth-mood-*.csv)
expect "the CSV's column names in German" "$(head -n1 <<<"$csv")" "Zeit (UTC),Wert,Notiz,Stichwörter,Eingetragen in"
expect "and its words" "$csv" '"privat"'
reject "no English column names" "$csv" "time_utc"
expect "the JSON keeps its keys" "$(cat "$WORK"/data/exports/dora/hearth-mood-*.json)" '"score": 6'
# an operator's export for her (`hearth admin member export`) is the same file, in German too
mkdir -p "$WORK/admin-out"
"$HEARTH" --data-dir "$WORK/data" admin member export dora --out "$WORK/admin-out" >/dev/null 2>>"$WORK/stderr"
equal "the operator's CSV equals hers" "$(cmp "$WORK"/admin-out/hearth-mood-*.csv "$WORK"/data/exports/dora/hearth-mood-*.csv && echo same)" same

finish
