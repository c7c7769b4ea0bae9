#!/usr/bin/env bash
# ops_man.sh - `cmake --install` puts hearth(8) and hearth.ini(5) under share/man; both render
# without a groff warning; hearth.ini(5) is generated from the key table, so it names every key
# of --example-config, and stays in step with it.
. "$(dirname "$0")/lib.bash"
build=$(dirname "$HEARTH")
cmake --install "$build" --prefix "$WORK/prefix" >"$WORK/install.log" 2>&1 ||
	{ cat "$WORK/install.log"; echo "FAIL: cmake --install"; exit 1; }
m8="$WORK/prefix/share/man/man8/hearth.8"
m5="$WORK/prefix/share/man/man5/hearth.ini.5"
for f in "$m8" "$m5"; do
	if [ -f "$f" ]; then PASSES=$((PASSES + 1)); else echo "FAIL: $f not installed"; FAILS=$((FAILS + 1)); continue; fi
	if command -v groff >/dev/null; then
		equal "$(basename "$f") renders without warnings" "$(groff -man -ww -z "$f" 2>&1)" ""
	fi
done
equal "installed hearth.ini.5 is what the binary generates" "$(cmp -s "$m5" <("$HEARTH" --man-config) && echo same)" same
page=$(cat "$m5")
while read -r key; do
	expect "hearth.ini(5) documents $key" "$page" ".B $key"
done < <("$HEARTH" --example-config | sed -n 's/^;\([a-z_]*\) = .*/\1/p')
for s in '[bot]' '[admin]' '[matrix]' '[irc.NAME]'; do expect "section $s" "$page" ".SH $s"; done
for c in backup restore "admin member export" "admin member forget" healthcheck; do
	expect "hearth(8) documents $c" "$(cat "$m8")" "$c"
done
finish
