# lib.sh - shared helpers for console end-to-end tests (sourced, not run).
# HEARTH is the binary under test, SRC the source folder (set by ctest).
set -euo pipefail
: "${HEARTH:?set HEARTH to the hearth binary}"
: "${SRC:?set SRC to the source folder}"
export HEARTH_CONTENT_DIR="$SRC/content"
WORK=$(mktemp -d /tmp/hearth-e2e.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
PASSES=0

# run_console [hearth args...] < input : prints stdout; stderr goes to $WORK/stderr
run_console() { "$HEARTH" --data-dir "$WORK/data" "$@" 2>>"$WORK/stderr"; }

expect() { # expect NAME HAYSTACK NEEDLE
	if grep -qF -- "$3" <<<"$2"; then PASSES=$((PASSES + 1)); else
		echo "FAIL: $1: expected to find: $3"; echo "--- output was:"; echo "$2" | head -40; FAILS=$((FAILS + 1)); fi
}
reject() { # reject NAME HAYSTACK NEEDLE
	if grep -qF -- "$3" <<<"$2"; then
		echo "FAIL: $1: must not contain: $3"; echo "--- output was:"; echo "$2" | head -40; FAILS=$((FAILS + 1))
	else PASSES=$((PASSES + 1)); fi
}
equal() { # equal NAME GOT WANT
	if [ "$2" = "$3" ]; then PASSES=$((PASSES + 1)); else echo "FAIL: $1: got '$2', want '$3'"; FAILS=$((FAILS + 1)); fi
}
finish() {
	echo "$PASSES passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}
