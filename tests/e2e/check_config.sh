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

# A broken content library is reported with its file and line, and Hearth refuses to start.
cp -r "$SRC/content" "$WORK/content"
printf -- '---\nid: wrong\ntitle: x\n---\nbody\n' >"$WORK/content/topics/roots.md"
set +e
out=$(HEARTH_CONTENT_DIR="$WORK/content" "$HEARTH" --check-config 2>&1); rc=$?
set -e
equal "broken content exit" "$rc" "1"
expect "broken content names the file" "$out" "roots.md:1:"
finish
