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
	for f in hearth-test.pid hearth-test2.pid hearth-test3.pid; do   # test_hearth.py runs up to three
		pid="$(cat "$RUN/$f" 2>/dev/null || true)"
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null; sleep 1; kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$RUN/$f"
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
out="$(mktemp)"
"$PYTHON" "$HERE/test_hearth.py" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if ! tail -n 1 "$out" | grep -Eq '^[0-9]+ passed, [0-9]+ failed$'; then
	echo "run.sh: test_hearth.py stopped early (status $rc)" >&2
	echo "0 passed, 1 failed"
	rc=1
fi
rm -f "$out"
exit "$rc"
