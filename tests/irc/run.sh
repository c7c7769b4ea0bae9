#!/usr/bin/env bash
# Hearth's IRC integration suite: starts InspIRCd+Anope and ngIRCd (servers.sh), runs the real
# hearth binary ($HEARTH, default build/hearth) against both with test_hearth.py, and always
# stops Hearth and the servers. The last line is "N passed, M failed"; exit status 1 on failure.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="${SRC:-$(cd "$HERE/../.." && pwd)}"
HEARTH="${HEARTH:-$SRC/build/hearth}"
PYTHON="${PYTHON:-/usr/bin/python3}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
RUN="${HEARTH_IRC_DIR:-/var/tmp/hearth-irc}"
export SRC HEARTH

if [ ! -x "$HEARTH" ]; then
	echo "run.sh: no hearth binary at $HEARTH (build first or set HEARTH)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

cleanup() {
	local pid f
	for f in "$RUN"/hearth-test*.pid; do   # test_hearth.py runs three, test_ircv3.py one per check
		[ -e "$f" ] || continue
		pid="$(cat "$f" 2>/dev/null || true)"
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null; sleep 1; kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$f"
	done
	"$HERE/servers.sh" stop all >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

"$HERE/servers.sh" deps >&2 || { echo "0 passed, 1 failed"; exit 1; }
"$HERE/servers.sh" stop all >/dev/null 2>&1 || true
if ! "$HERE/servers.sh" start all >&2; then
	echo "run.sh: the IRC servers did not start" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
mkdir -p "$RUN"
# HEARTH_IRC_SUITES picks suites: "hearth" (test_hearth.py), "v3" (test_ircv3.py: issue 17),
# "failover" (test_failover.py: issue 13, two Hearths on one store; skipped unless on PostgreSQL)
passed=0 failed=0 rc=0
for suite in ${HEARTH_IRC_SUITES:-hearth v3 failover}; do
	case "$suite" in
	hearth) py="$HERE/test_hearth.py" ;;
	v3) py="$HERE/test_ircv3.py" ;;
	failover) py="$HERE/test_failover.py" ;;   # issue 13: two Hearths, PostgreSQL store only
	*) echo "run.sh: unknown suite $suite" >&2; failed=$((failed + 1)); continue ;;
	esac
	out="$(mktemp)"
	"$PYTHON" "$py" 2>&1 | tee "$out"
	src=${PIPESTATUS[0]}
	last="$(tail -n 1 "$out")"
	rm -f "$out"
	if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2]))
	else
		echo "run.sh: $(basename "$py") stopped early (status $src)" >&2
		failed=$((failed + 1))
	fi
	[ "$src" = 0 ] || rc=1
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] || rc=1
exit "$rc"
