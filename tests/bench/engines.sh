#!/usr/bin/env bash
# tests/bench/engines.sh - the router and mood benchmarks on both store engines, side by side
# (issue 13 point 6): commands per second through the real router, and `!mood history` p99, on
# SQLite and on PostgreSQL (a throwaway cluster from tests/pg/cluster.sh, Unix socket, fsync
# off: figures for the engine, not for a disk). Prints each run's output, then a small table.
#
#   tests/bench/engines.sh [BUILD]          BUILD defaults to build
#   BENCH_COMMANDS=20000 BENCH_ENTRIES=20000 BENCH_MEMBERS=200 (the defaults; raise for longer runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
[ -d "$build" ] || build=$root/$build
n=${BENCH_COMMANDS:-20000}
entries=${BENCH_ENTRIES:-20000}
members=${BENCH_MEMBERS:-200}
for b in bench_router bench_mood; do
	[ -x "$build/bench/$b" ] || { echo "engines.sh: no $build/bench/$b (build with tests on)" >&2; exit 1; }
done
out=$(mktemp -d /tmp/hearth-bench-engines.XXXXXX)
started=""
cleanup() {
	[ -n "$started" ] && bash "$root/tests/pg/cluster.sh" stop >/dev/null 2>&1 || true
	rm -rf "$out"
}
trap cleanup EXIT
if [ -z "${HEARTH_TEST_PG_URL:-}" ]; then
	eval "$(bash "$root/tests/pg/cluster.sh" start)"
	started=1
fi
export SRC=$root
for engine in sqlite pg; do
	if [ "$engine" = pg ]; then export HEARTH_TEST_STORE=pg; else unset HEARTH_TEST_STORE; fi
	echo "=== $engine: bench_router $n"
	"$build/bench/bench_router" "$n" | tee "$out/router.$engine"
	echo "=== $engine: bench_mood $entries $members"
	"$build/bench/bench_mood" "$entries" "$members" | tee "$out/mood.$engine"
done
# commands/s of the checkin line (the command that writes to the store: its rotation) and of
# !learn (read-only); the p99 of !mood history (the default 14-day view).
cps() { awk -v c="$2" '$0 ~ "^"c" " { for (i = 1; i <= NF; i++) if ($i == "commands/s") { print $(i-1); exit } }' "$1"; }
p99() { awk '/history \(14 days\)/ { for (i = 1; i <= NF; i++) if ($i == "p99") { print $(i+1) " ms"; exit } }' "$1"; }
echo
echo "=== figures ($n commands, $entries mood entries from $members members)"
printf '%-34s %14s %14s\n' "" "SQLite" "PostgreSQL"
printf '%-34s %14s %14s\n' "!learn, commands/s" "$(cps "$out/router.sqlite" '!learn')" "$(cps "$out/router.pg" '!learn')"
printf '%-34s %14s %14s\n' "!checkin (store write), commands/s" "$(cps "$out/router.sqlite" '!checkin')" "$(cps "$out/router.pg" '!checkin')"
printf '%-34s %14s %14s\n' "!mood history (14 days) p99" "$(p99 "$out/mood.sqlite")" "$(p99 "$out/mood.pg")"
