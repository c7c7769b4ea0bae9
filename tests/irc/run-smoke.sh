#!/usr/bin/env bash
# Start InspIRCd+Anope and ngIRCd, run the harness self-test, always stop the servers.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-/usr/bin/python3}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"

"$HERE/servers.sh" deps
trap '"$HERE/servers.sh" stop all' EXIT
"$HERE/servers.sh" start all
"$PYTHON" "$HERE/smoke_test.py"
