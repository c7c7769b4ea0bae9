#!/usr/bin/env bash
# Hearth's Matrix integration suite: the real build/hearth against a real Synapse on loopback,
# with real nio members. Synapse and Hearth are always stopped at exit.
#
# Usage: tests/matrix/run.sh [--bench | --bench-rooms]
#   HEARTH=path/to/hearth (default: build/hearth in the checkout)
#   HEARTH_MATRIX_SUITES="hearth e2ee privacy sync_position ops look complete verify keys lang
#   failover" (default: all eleven, in this order: test_hearth.py, then test_e2ee.py on the same homeserver and Hearth data
#   folder, then test_privacy.py with a Hearth of its own at log_level = debug, then
#   test_sync_position.py with data folders of its own (HEARTH_SYNC_LOAD sets its load), then
#   test_ops.py (metrics, /healthz while Synapse stops and returns, JSON logs, backup and restore)
#   with its own Hearth, then test_look.py (mood chart image, one-tap check-ins) with its own
#   Hearth, then test_complete.py (issue 16: long replies, the gap after downtime, the sealed
#   token, withheld keys, rotation) with its own Hearth, then test_verify.py (a moderator's
#   nio client verifies Hearth's device by SAS; a member's attempt is cancelled) with its own
#   Hearth, then test_keys.py (key hygiene: a badly signed device refused and told, Megolm
#   rotation by time and count, a wedged Olm session repaired with m.dummy) with its own Hearth,
#   then test_lang.py (`!lang` in private chats) with its own Hearth, then test_failover.py
#   (issue 13: two Hearths on one store, SIGKILL and SIGSTOP failover; only with the store in
#   PostgreSQL, skipped on SQLite))
#   HEARTH_MATRIX_BENCHES="matrix e2ee" (with --bench: tests/bench/bench_matrix.py, then
#   tests/matrix/bench_e2ee.py)
#   --bench-rooms: tests/bench/bench_rooms.py (1,000 rooms from a fresh data folder, 50 rooms'
#   memory); with HEARTH_SYNAPSE_KEEP=1 the homeserver (and its 1,000 rooms) is kept for the
#   next run (never for the suites: they expect a fresh homeserver)
# Prints one "N passed, M failed" line last, over all suites; exits non-zero on any failure.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
syn="$here/synapse.sh"
export HEARTH=${HEARTH:-$src/build/hearth}
mode=suite
[ "${1:-}" = --bench ] && mode=bench
[ "${1:-}" = --bench-rooms ] && mode=bench-rooms
[ $mode = bench-rooms ] || unset HEARTH_SYNAPSE_KEEP

fail() { echo "run.sh: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

[ -x "$HEARTH" ] || fail "no Hearth binary at $HEARTH (build it, or set HEARTH)"
"$syn" deps >/dev/null || fail "synapse.sh deps failed"
"$syn" setup >/dev/null || fail "synapse.sh setup failed"

tmp=$(mktemp -d /tmp/hearth-matrix.XXXXXX)
cleanup() {
    if [ -f "$tmp/hearth.pid" ]; then
        pid=$(cat "$tmp/hearth.pid")
        kill -TERM "$pid" 2>/dev/null && sleep 1
        kill -KILL "$pid" 2>/dev/null || true
    fi
    "$syn" stop >/dev/null 2>&1 || true
    if [ "${HEARTH_KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$syn" start >/dev/null || fail "synapse did not start"
url=$("$syn" url)
for u in hearth:hearthpw hearth2:hearth2pw alice:alicepw bob:bobpw carol:carolpw \
         dave:davepw erin:erinpw frank:frankpw lookdave:davepw lookerin:erinpw lookfrank:frankpw \
         verimod:verimodpw vermember:vermemberpw verthird:verthirdpw \
         keyann:keyannpw keybob:keybobpw keycarol:keycarolpw \
         langann:annpw langben:benpw langcat:catpw; do
    "$syn" register "${u%%:*}" "${u#*:}" >/dev/null || fail "could not register ${u%%:*}"
done

mkdir -p "$tmp/data"
cat >"$tmp/hearth.ini" <<EOF
[bot]
data_dir = $tmp/data
log_level = info

[matrix]
homeserver = $url
user_id = @hearth:localhost
display_name = Hearth
device_name = Hearth test
allowed_inviters = *:localhost
EOF
chmod 600 "$tmp/hearth.ini"

export HEARTH_MATRIX_URL=$url HEARTH_TEST_TMP=$tmp HEARTH_CONFIG=$tmp/hearth.ini \
       HEARTH_SYNAPSE_SH=$syn HEARTH_MATRIX_PASSWORD=hearthpw PYTHONUNBUFFERED=1
if [ $mode = bench ]; then
    rc=0
    for b in ${HEARTH_MATRIX_BENCHES:-matrix e2ee}; do
        case $b in
            matrix) /usr/bin/python3 "$src/tests/bench/bench_matrix.py" || rc=1 ;;
            e2ee) /usr/bin/python3 "$here/bench_e2ee.py" || rc=1 ;;
        esac
    done
    exit $rc
fi
if [ $mode = bench-rooms ]; then
    /usr/bin/python3 "$src/tests/bench/bench_rooms.py"
    exit $?
fi

# Each suite prints its own "N passed, M failed"; those lines are summed into one.
summary='^[0-9]+ passed, [0-9]+ failed$'
passed=0 failed=0
for suite in ${HEARTH_MATRIX_SUITES:-hearth e2ee privacy sync_position ops look complete verify keys lang failover}; do
    out="$tmp/suite-$suite.out"
    echo "== test_$suite.py"
    /usr/bin/python3 "$here/test_$suite.py" 2>&1 | tee "$out" | grep -Ev "$summary"
    line=$(grep -E "$summary" "$out" | tail -1)
    if [ -z "$line" ]; then
        echo "run.sh: test_$suite.py ended without a summary" >&2
        failed=$((failed + 1))
        continue
    fi
    set -- $line
    passed=$((passed + $1)) failed=$((failed + $3))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
