#!/usr/bin/env bash
# ops_admin.sh - an operator serves a member's data request from the command line:
# `hearth admin member export ID` gives byte for byte the files of the member's own
# `!mood export`; `hearth admin member forget ID` (also while Hearth runs) leaves no row keyed
# by that member in any table, keeps everyone else's, and logs an audit line without the data.
. "$(dirname "$0")/lib.bash"
export HEARTH_FAKE_NOW=1768478400   # 2026-01-15 12:00Z: the same export time for both
NOTE="a quiet evening with tea"

printf '%s\n' '/dm !mood optin' '/dm !mood optin confirm' "/dm !mood 6 $NOTE #tired" '!mood 8 #glad' \
	'/dm !mood remind 08:15' '/dm !checkin' '/dm !mood export' | run_console --as alice >/dev/null
printf '%s\n' '/dm !mood optin' '/dm !mood optin confirm' '/dm !mood 5 bob keeps this' | run_console --as bob >/dev/null

# export: the same files as the member's own
mkdir -p "$WORK/out"
out=$("$HEARTH" --data-dir "$WORK/data" admin member export alice --out "$WORK/out" 2>"$WORK/admin.err")
expect "export prints the files" "$out" "$WORK/out/hearth-mood-2026-01-15.csv"
for ext in csv json; do
	equal "admin $ext equals the member's own" \
		"$(cmp "$WORK/out/hearth-mood-2026-01-15.$ext" "$WORK/data/exports/alice/hearth-mood-2026-01-15.$ext" && echo same)" same
	equal "admin $ext mode" "$(stat -c %a "$WORK/out/hearth-mood-2026-01-15.$ext")" 600
done
expect "export has the note" "$(cat "$WORK/out/hearth-mood-2026-01-15.json")" "$NOTE"
expect "audit line for export" "$(cat "$WORK/admin.err")" "data request: an operator exported the mood log of alice on console (2 entries)"
reject "audit line holds no data" "$(cat "$WORK/admin.err")" "$NOTE"
out=$("$HEARTH" --data-dir "$WORK/data" admin member export alice --out "$WORK/out" 2>&1 || true)
expect "never overwrites an export" "$out" "exists already"

# a member known on two networks: the operator must say which
python3 - "$WORK/data/hearth.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO mood_consent_shown (network, member, shown_at) VALUES ('irc.x', 'bob', 1768478400)")
db.commit()
PY
out=$("$HEARTH" --data-dir "$WORK/data" admin member forget bob 2>&1 || true)
expect "ambiguous id" "$out" "choose one with --network: console irc.x"

# forget while Hearth runs (holding the store's lock)
mkfifo "$WORK/in"
"$HEARTH" --data-dir "$WORK/data" --as carol <"$WORK/in" >/dev/null 2>>"$WORK/stderr" &
pid=$!
exec 3>"$WORK/in"
sleep 1
out=$("$HEARTH" --data-dir "$WORK/data" admin member forget alice 2>"$WORK/admin.err")
expect "forget says so" "$out" "Everything Hearth held about alice on console is deleted."
expect "audit line for forget" "$(cat "$WORK/admin.err")" "data request: an operator deleted everything Hearth held about alice on console"
exec 3>&-
wait $pid

# no row keyed by alice anywhere; bob's rows stay
left=$(python3 - "$WORK/data/hearth.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
    cols = [r[1] for r in db.execute(f"PRAGMA table_info('{t}')")]
    for c in cols:
        n = db.execute(f"SELECT count(*) FROM '{t}' WHERE CAST(\"{c}\" AS TEXT) = 'alice'").fetchone()[0]
        if n: print(f"{t}.{c}: {n}")
PY
)
equal "no row keyed by alice" "$left" ""
out=$(printf '/dm !mood history\n' | run_console --as bob)
expect "bob keeps his log" "$out" "1 entry"
out=$("$HEARTH" --data-dir "$WORK/data" admin member export alice --out "$WORK/out" 2>&1)
expect "nothing left to export" "$out" "Hearth holds nothing about alice."
finish
