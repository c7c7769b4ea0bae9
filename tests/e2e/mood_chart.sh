#!/usr/bin/env bash
# End to end through the console chat: `!mood chart` writes the PNG beside exports (0600, in the
# member's own folder) and prints its path; a member without a log gets no file.
set -euo pipefail
source "$(dirname "$0")/lib.bash"
export HEARTH_FAKE_NOW=1768478400   # 2026-01-15 12:00Z: the file name is predictable
DATA="$WORK/data"

out=$(printf '%s\n' '/dm !mood optin' '/dm !mood optin confirm' '/dm !mood 6 #calm' '/dm !mood 3 #tired' \
	'/dm !mood chart 14' | run_console --as alice)
png="$DATA/exports/alice/hearth-mood-chart-2026-01-15.png"
expect "chart path printed" "$out" "$png"
expect "chart confirmation" "$out" "your mood over the last 14 days"
if [ -f "$png" ]; then PASSES=$((PASSES + 1)); else echo "FAIL: chart $png missing"; FAILS=$((FAILS + 1)); fi
equal "chart mode" "$(stat -c %a "$png" 2>/dev/null)" 600
equal "chart is a PNG" "$(head -c 8 "$png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" "89504e470d0a1a0a"

out=$(printf '%s\n' '/dm !mood chart' | run_console --as bob)
expect "bob has no log" "$out" "You don't have a mood log"
if ls "$DATA/exports/bob" >/dev/null 2>&1; then echo "FAIL: a chart folder for bob"; FAILS=$((FAILS + 1)); else PASSES=$((PASSES + 1)); fi
finish
