#!/usr/bin/env bash
# Self-test of the Matrix harness: a fresh Synapse, two members, plain and
# encrypted rooms. Synapse is always stopped at exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
syn="$here/synapse.sh"

"$syn" deps
"$syn" setup          # fresh database every run
trap '"$syn" stop' EXIT
"$syn" start
"$syn" register alice alicepw
"$syn" register bob bobpw

HEARTH_MATRIX_URL=$("$syn" url) /usr/bin/python3 "$here/smoke_test.py"
