#!/usr/bin/env bash
# End to end through the console chat: crisis words in the room get a private answer with the
# vetted resources and are never echoed (not in replies, alerts or logs); !crisis always
# answers, also in a paused room; the moderators' room gets an alert that names nobody.
set -euo pipefail

: "${HEARTH:?HEARTH must point to the hearth binary}"
: "${SRC:?SRC must point to the source tree}"
export HEARTH_CONTENT_DIR="$SRC/content"
unset HEARTH_FAKE_NOW

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; echo "--- output:" >&2; cat "$tmp/out" >&2; echo "--- log:" >&2; cat "$tmp/err" >&2; exit 1; }

# The vetted lines of a resource file (its "- " list items), as the console prints them.
vetted() { sed -n 's/^- //p' "$SRC/content/crisis/$1.md"; }

# Block N (1-based) of the console output whose header is $1, e.g. block '[private → alice]' 1.
block() {
	awk -v h="$1" -v want="$2" '
		/^\[(private|room)( .*)?\]$/ { inb = ($0 == h); if (inb) n++; next }
		inb && n == want { print }' "$tmp/out"
}

run() { # run NAME [hearth args...] < input
	"$HEARTH" --data-dir "$tmp/data-$1" --as alice "${@:2}" >"$tmp/out" 2>"$tmp/err" || fail "hearth exited with $?"
}

# 1. Crisis words in the room: a private answer with the international directory (the default
#    country), the words are not echoed anywhere.
printf 'hello everyone\nHonestly zebracorn, I WANT TO DÍE\n' | run plain
[ "$(grep -c '^\[private → alice\]$' "$tmp/out")" = 1 ] || fail "expected exactly one private answer"
priv=$(block '[private → alice]' 1)
while IFS= read -r line; do
	grep -qF -- "$line" <<<"$priv" || fail "the private answer lacks the vetted line: $line"
done < <(vetted intl)
grep -qi 'not alone' <<<"$priv" || fail "the private answer lacks the crisis response text"
grep -qi 'zebracorn\|want to d' "$tmp/out" && fail "the member's words were repeated"
grep -qi 'zebracorn\|want to d\|alice' "$tmp/err" && fail "the log holds the member's words or name"
grep -q 'crisis answer' "$tmp/err" || fail "the log does not say that a crisis answer was sent"

# 2. Everyday words and exclusions stay quiet.
printf "I'm killing it at work\nthis cake is to die for\nsuch a skillful move\n" | run quiet
grep -q '^\[private → alice\]$' "$tmp/out" && fail "an exclusion or everyday phrase got a crisis answer"

# 3. !crisis answers privately with a one-line pointer in the room, also when a moderator
#    paused the room, and twice in a row (no rate limit).
printf '!mod pause\n!crisis\n!crisis\n' | run paused --role moderator
[ "$(grep -c '^\[private → alice\]$' "$tmp/out")" = 2 ] || fail "!crisis did not answer twice in a paused room"
block '[private → alice]' 2 | grep -qF -- "$(vetted intl | head -n 1)" || fail "!crisis lacks the resources"
grep -qi 'sent you some support privately' "$tmp/out" || fail "no pointer in the room"

# 4. The configured country's list comes first, with the directory after it; the moderators'
#    room is told that someone may need support, without the words or the name; a second
#    message within the rate limit gets no second answer.
cat >"$tmp/hearth.ini" <<EOF
[bot]
log_level = debug

[crisis]
country = gb
rate_minutes = 10

[room console #lobby]
crisis_alert_room = #moderators
EOF
printf 'zebracorn. I want to kill myself\nstill zebracorn, I want to die\n' | run alert --config "$tmp/hearth.ini"
[ "$(grep -c '^\[private → alice\]$' "$tmp/out")" = 1 ] || fail "the rate limit did not hold back the second answer"
priv=$(block '[private → alice]' 1)
while IFS= read -r line; do
	grep -qF -- "$line" <<<"$priv" || fail "the private answer lacks the vetted line: $line"
done < <(vetted gb; vetted intl)
alert=$(block '[room #moderators]' 1)
grep -q 'may need support' <<<"$alert" || fail "no moderators' alert"
grep -qi 'alice\|zebracorn\|kill\|want to' <<<"$alert" && fail "the alert names or quotes the member"
grep -qi 'zebracorn\|want to\|kill myself\|alice' "$tmp/err" && fail "the debug log holds the member's words or name"

# 5. Before any check of size or encoding: a 5 KB post that starts with crisis words, and a
#    Latin-1 line from a client that does not speak UTF-8, each get the private answer.
{ printf 'some nights I feel like I want to kill myself. '; head -c 5000 /dev/zero | tr '\0' 'a'; printf '\n'; } | run long
[ "$(grep -c '^\[private → alice\]$' "$tmp/out")" = 1 ] || fail "a 5 KB crisis message got no private answer"
printf 'the caf\xe9 closed. I don\x92t want to live anymore\n' | run latin1
[ "$(grep -c '^\[private → alice\]$' "$tmp/out")" = 1 ] || fail "a Latin-1 crisis message got no private answer"
grep -qi 'live anymore\|caf' "$tmp/out" && fail "the member's words were repeated"

# 6. Figures of speech, titles and news stay quiet.
printf 'no way out of this parking lot\nSeptember is suicide prevention month\nI hurt myself at the gym\n' | run figures
grep -q '^\[private → alice\]$' "$tmp/out" && fail "a figure of speech or news got a crisis answer"

# 7. [crisis] country: an alias is accepted (uk is gb's list); an unknown value is an error in
#    --check-config and at start, naming the key and the known codes.
printf '[crisis]\ncountry = UK\n' >"$tmp/uk.ini"
"$HEARTH" --check-config --config "$tmp/uk.ini" >"$tmp/out" 2>"$tmp/err" || fail "country = UK was refused"
printf 'I want to die\n' | run uk --config "$tmp/uk.ini"
block '[private → alice]' 1 | grep -qF -- "$(vetted gb | head -n 1)" || fail "country = UK did not answer with gb's list"
printf '[crisis]\ncountry = narnia\n' >"$tmp/bad.ini"
if "$HEARTH" --check-config --config "$tmp/bad.ini" >"$tmp/out" 2>"$tmp/err"; then fail "--check-config accepted country = narnia"; fi
grep -q 'bad.ini:2: \[crisis\] country "narnia".*gb.*intl' "$tmp/err" || fail "no clear message for an unknown country"
if printf 'hello\n' | "$HEARTH" --data-dir "$tmp/data-bad" --config "$tmp/bad.ini" >"$tmp/out" 2>"$tmp/err"; then
	fail "hearth started with country = narnia"
fi
grep -q '\[crisis\] country "narnia"' "$tmp/err" || fail "the start did not say why it refused"

# 8. German in a room configured for English: every language's patterns are active. With and
#    without umlauts, and as Latin-1 from an old IRC client, German crisis words get the answer
#    with Austria's list ([crisis] country by its German name); German figures of speech, fear
#    of an exam and news stay quiet.
printf '[bot]\nlanguage = en\n\n[crisis]\ncountry = Österreich\n' >"$tmp/at.ini"
"$HEARTH" --check-config --config "$tmp/at.ini" >"$tmp/out" 2>"$tmp/err" || fail "country = Österreich was refused"
printf 'zebracorn, ich will nicht mehr leben\n' | run de1 --config "$tmp/at.ini"
block '[private → alice]' 1 | grep -qF -- "$(vetted at | head -n 1)" || fail "German crisis words got no answer with Austria's list"
grep -qi 'zebracorn\|nicht mehr leben' "$tmp/out" && fail "the member's German words were repeated"
printf 'ich bin so lebensmuede und weiss nicht weiter\n' | run de2 --config "$tmp/at.ini"
[ "$(grep -c '^\[private → alice\]$' "$tmp/out")" = 1 ] || fail "German without umlauts got no private answer"
printf 'ich bin so lebensm\xfcde\n' | run de3 --config "$tmp/at.ini"
[ "$(grep -c '^\[private → alice\]$' "$tmp/out")" = 1 ] || fail "Latin-1 German got no private answer"
printf 'ich sterbe vor Lachen\ndas bringt mich um, so viele Hausaufgaben\nTodesangst vor der Pr\xc3\xbcfung\nSelbstmord-Attentat in den Nachrichten\n' | run de4 --config "$tmp/at.ini"
grep -q '^\[private → alice\]$' "$tmp/out" && fail "a German figure of speech or news got a crisis answer"

echo "ok"
