#!/usr/bin/env bash
# check_config.sh - --check-config tells a facilitator every problem as FILE:LINE: message.
. "$(dirname "$0")/lib.bash"

cat >"$WORK/good.ini" <<'INI'
[bot]
prefix = !
timezone = Europe/Berlin
[mood]
retention_days = 90
INI
set +e
out=$("$HEARTH" --check-config --config "$WORK/good.ini" 2>&1); rc=$?
set -e
equal "valid config exit" "$rc" "0"
expect "valid config says ok" "$out" "good.ini: ok"

cat >"$WORK/bad.ini" <<'INI'
[bot]
prefix = !
colour = blue
timezone = Mars/Olympus
[mood]
retention_days = -4
[irc.net]
port = 99999
INI
set +e
out=$("$HEARTH" --check-config --config "$WORK/bad.ini" 2>&1); rc=$?
set -e
equal "invalid config exit" "$rc" "1"
expect "unknown key with line" "$out" "bad.ini:3: unknown key \"colour\" in [bot]"
expect "range with line" "$out" "bad.ini:6: retention_days must be a whole number"
expect "port with line" "$out" "bad.ini:8: port must be"
expect "missing host at its section" "$out" "bad.ini:7: [irc.net] needs host"
expect "time zone" "$out" "Mars/Olympus"

set +e
out=$("$HEARTH" --check-config --config "$WORK/missing.ini" 2>&1); rc=$?
set -e
equal "missing file exit" "$rc" "1"
expect "missing file message" "$out" "missing.ini"

# The documented example configuration is itself valid.
set +e
out=$("$HEARTH" --check-config --config "$SRC/config/hearth.example.ini" 2>&1); rc=$?
set -e
equal "example config is valid" "$rc" "0"
# ... and is what --example-config prints (the shipped file cannot drift from the key table).
if "$HEARTH" --example-config | cmp -s - "$SRC/config/hearth.example.ini"; then same=yes; else same=no; fi
equal "example config matches --example-config" "$same" "yes"

# A broken content library is reported with its file and line, and Hearth refuses to start.
cp -r "$SRC/content" "$WORK/content"
printf -- '---\nid: wrong\ntitle: x\n---\nbody\n' >"$WORK/content/topics/roots.md"
set +e
out=$(HEARTH_CONTENT_DIR="$WORK/content" "$HEARTH" --check-config 2>&1); rc=$?
set -e
equal "broken content exit" "$rc" "1"
expect "broken content names the file and line" "$out" "roots.md:2: id \"wrong\" must match the file name"

# Every problem in one run, config and content, each FILE:LINE with its real line, in line order:
# the config file first, then each content file.
rm -rf "$WORK/content"; cp -r "$SRC/content" "$WORK/content"
long=$(head -c 300 /dev/zero | tr '\0' 'p')
{
	printf '[bot]\n'
	printf '; %s\n' "$long"                 # 2: a long comment must not shift the lines
	printf 'language = fr\n'                  # 3
	printf 'this is not a setting\n'          # 4
	printf '[irc.net]\n'                      # 5: needs host (found after the whole file)
	printf 'port = 99999\n'                   # 6
	printf 'also not a setting\n'             # 7
	printf '[mod]\n'                          # 8: unknown, even without keys
} >"$WORK/many.ini"
printf '%s\n' '# Check-in prompts' '' '- Fine?' "- $long" >"$WORK/content/prompts.md"
sed -i 's/^id: roots$/id: roots\nflavour: sweet/' "$WORK/content/topics/roots.md"
set +e
out=$(HEARTH_CONTENT_DIR="$WORK/content" "$HEARTH" --check-config --config "$WORK/many.ini" 2>&1); rc=$?
set -e
equal "many problems exit" "$rc" "1"
want="$WORK/many.ini:3: [bot] language \"fr\" has no content
$WORK/many.ini:4: this line is not \"key = value\" nor a [section]
$WORK/many.ini:5: [irc.net] needs host
$WORK/many.ini:5: [irc.net] has no channels to join
$WORK/many.ini:6: port must be a whole number from 1 to 65535, got \"99999\"
$WORK/many.ini:7: this line is not \"key = value\" nor a [section]
$WORK/many.ini:8: unknown section [mod]
$WORK/content/prompts.md:4: this prompt is 300 characters; keep it under 200
$WORK/content/topics/roots.md:3: unknown header key \"flavour\""
got=$(sed -E 's/^([^:]*:[0-9]+: (\[bot\] language "fr" has no content|\[irc.net\] needs host|\[irc.net\] has no channels to join|unknown section \[mod\]|this prompt is 300 characters; keep it under 200|unknown header key "flavour")).*/\1/' <<<"$out")
equal "every problem, its real line, in line order" "$got" "$want"
expect "the languages that exist are listed" "$out" "languages with content: de, en"
finish
