#!/usr/bin/env bash
# run-all.sh - the whole test suite, on a fresh Debian 12 machine, as root:
#   1. installs the build and test packages (apt-get),
#   2. builds with warnings as errors and runs the unit and console end-to-end tests (ctest);
#      a throwaway PostgreSQL cluster (tests/pg/cluster.sh) is started first, so the store's
#      tests run on SQLite and on PostgreSQL,
#   3. builds again with AddressSanitizer + UndefinedBehaviorSanitizer and runs them again,
#   4. runs the integration suites against real servers in two lanes at once: Synapse (Matrix),
#      then the libFuzzer targets (built with clang, each run briefly), beside InspIRCd + Anope
#      and ngIRCd (IRC), then the container image built with podman; the Matrix and IRC suites
#      run a second time with the store in PostgreSQL (tests/pg/hearth-on-pg.sh),
#   5. runs the router benchmark (prints figures).
# Options: --quick runs steps 1-3 only. HEARTH_FUZZ_SECONDS (default 15) per fuzz target.
# HEARTH_SKIP="irc docker" (any of matrix, irc, docker, fuzz) leaves suites out, e.g. when
# another run already uses the servers' ports on this machine.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
JOBS=${JOBS:-2}
FUZZ_SECONDS=${HEARTH_FUZZ_SECONDS:-15}
PASS=0
FAIL=0
REPORT=()

step() { # step NAME COMMAND...
	local name=$1 t0=$SECONDS
	shift
	echo
	echo "=== $name"
	if "$@"; then
		PASS=$((PASS + 1))
		REPORT+=("ok     $name ($((SECONDS - t0)) s)")
	else
		FAIL=$((FAIL + 1))
		REPORT+=("FAILED $name ($((SECONDS - t0)) s)")
	fi
}

install_packages() {
	local pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev
		libcurl4-openssl-dev libjansson-dev libolm-dev libsqlite3-dev libssl-dev libsodium-dev
		libmd4c-dev libmd4c-html0-dev libinih-dev libcmocka-dev tzdata sqlite3 python3
		libmicrohttpd-dev libsystemd-dev systemd curl groff-base libcairo2-dev libpixman-1-dev libpng-dev libfontconfig-dev libfreetype-dev
		fonts-dejavu-core postgresql libpq-dev runc)
	local missing=()
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build_and_test() { # build_and_test DIR CMAKE-ARGS...
	local dir=$1
	shift
	cmake -S "$ROOT" -B "$dir" -DHEARTH_WERROR=ON "$@" >"$dir.configure.log" 2>&1 ||
		{ cat "$dir.configure.log"; return 1; }
	cmake --build "$dir" -j"$JOBS" 2>&1 | grep -Ev '^\[ *[0-9]+%\]' || true
	[ -x "$dir/hearth" ] || return 1
	(cd "$dir" && ctest --output-on-failure -j"$JOBS")
}

fuzz_all() {
	local dir=build-fuzz corpus
	CC=clang cmake -S "$ROOT" -B "$dir" -DHEARTH_FUZZ=ON -DHEARTH_TESTS=OFF -DHEARTH_WERROR=ON \
		>"$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
	cmake --build "$dir" -j"$JOBS" 2>&1 | grep -Ev '^\[ *[0-9]+%\]' || true
	local ok=0 n=0 f name
	for f in "$dir"/fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		n=$((n + 1))
		name=$(basename "$f")
		name=${name#fuzz_}
		corpus=$(mktemp -d)
		[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
		echo "--- fuzz $name for ${FUZZ_SECONDS}s"
		if "$f" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=4096 -print_final_stats=1 \
			-artifact_prefix="$dir/" "$corpus" >"$dir/$name.log" 2>&1; then
			ok=$((ok + 1))
			grep -E 'stat::number_of_executed_units' "$dir/$name.log" || true
		else
			echo "fuzz target $name failed:"
			tail -40 "$dir/$name.log"
		fi
		rm -rf "$corpus"
	done
	echo "fuzz targets: $ok of $n clean"
	[ "$n" -gt 0 ] && [ "$ok" -eq "$n" ]
}

suite() { # suite SCRIPT: an integration suite that manages its own servers
	[ -f "$1" ] || { echo "missing $1"; return 1; }
	HEARTH="$ROOT/build/hearth" SRC="$ROOT" bash "$1"
}

suite_pg() { # suite_pg SCRIPT: the same suite with Hearth's store in the PostgreSQL test cluster
	[ -f "$1" ] || { echo "missing $1"; return 1; }
	HEARTH="$ROOT/tests/pg/hearth-on-pg.sh" HEARTH_REAL="$ROOT/build/hearth" SRC="$ROOT" bash "$1"
}

pg_cluster() { # a throwaway PostgreSQL cluster (Unix socket only) for the unit tests' second engine
	local envs
	envs=$(bash "$ROOT/tests/pg/cluster.sh" start) || return 1
	eval "$envs"
	trap 'bash "$ROOT/tests/pg/cluster.sh" stop' EXIT
	echo "PostgreSQL test cluster in $HEARTH_TEST_PG_DIR"
}

step "install packages" install_packages
step "PostgreSQL test cluster (store tests run on SQLite and on PostgreSQL)" pg_cluster
step "build (warnings are errors) + unit and console tests" build_and_test build
step "AddressSanitizer + UndefinedBehaviorSanitizer build + tests" build_and_test build-asan -DHEARTH_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
step "console end-to-end tests with the store in PostgreSQL" bash tests/pg/run-e2e.sh build
SKIP=" ${HEARTH_SKIP:-} "
wanted() { [[ "$SKIP" != *" $1 "* ]] || { echo; echo "=== $1: skipped (HEARTH_SKIP)"; return 1; }; }
# The integration suites mostly wait on servers (IRC flood control, Synapse round trips), so
# they run in two lanes at once, each with its own servers and ports: Matrix (then the fuzz
# targets) beside IRC (then the container image: the lanes end closer together that way, 1,433
# and 1,399 s in the last run). Each lane's output is kept in a log and printed whole when the
# lane ends, so the log reads in order.
matrix_lane() {
	wanted matrix && step "Matrix: real Synapse + matrix-nio members (plain and end-to-end encrypted)" suite tests/matrix/run.sh
	# On PostgreSQL, the suites whose state lives in the store (replies, sync position, E2EE
	# sessions); HEARTH_PG_SUITES=all runs every suite.
	if [ "${HEARTH_PG_SUITES:-}" = all ]; then
		wanted matrix && step "Matrix again, the store in PostgreSQL" suite_pg tests/matrix/run.sh
	else
		# (the load test with half the commands and kills: on PostgreSQL another Hearth may share
		# the store, so each restart after a SIGKILL waits out the killed one's 10 s lease, and
		# ten of them left 45 of 500 commands unanswered within the test's 300 s on this machine)
		wanted matrix && HEARTH_MATRIX_SUITES="hearth e2ee sync_position failover" \
			HEARTH_SYNC_LOAD=250 HEARTH_SYNC_KILLS=5 \
			step "Matrix again, the store in PostgreSQL" suite_pg tests/matrix/run.sh
	fi
	wanted fuzz && step "libFuzzer targets (${FUZZ_SECONDS}s each)" fuzz_all
}
irc_lane() {
	wanted irc && step "IRC: InspIRCd + Anope and ngIRCd" suite tests/irc/run.sh
	if [ "${HEARTH_PG_SUITES:-}" = all ]; then
		wanted irc && step "IRC again, the store in PostgreSQL" suite_pg tests/irc/run.sh
	else
		wanted irc && HEARTH_IRC_SUITES="hearth failover" \
			step "IRC again, the store in PostgreSQL" suite_pg tests/irc/run.sh
	fi
	wanted docker && step "container image (podman, no engine)" suite tests/docker/run.sh
}
lane() { # lane NAME FUNCTION: runs FUNCTION in the background; its steps' results go to NAME.report
	local log="$LANES/$1"
	(
		PASS=0 FAIL=0 REPORT=()
		"$2"
		printf '%s\n' "${REPORT[@]}" >"$log.report"
	) >"$log.log" 2>&1 &
	echo "lane $1 started (pid $!)"
}
lane_end() { # lane_end NAME: prints the lane's log and adds its results to the summary
	local log="$LANES/$1" line
	echo
	echo "===== lane $1 (its whole output) ====="
	cat "$log.log"
	[ -f "$log.report" ] || { FAIL=$((FAIL + 1)); REPORT+=("FAILED lane $1 (no report)"); return; }
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		REPORT+=("$line")
		case "$line" in ok*) PASS=$((PASS + 1)) ;; *) FAIL=$((FAIL + 1)) ;; esac
	done <"$log.report"
}
if [ "$QUICK" -eq 0 ]; then
	LANES=$(mktemp -d /tmp/hearth-lanes.XXXXXX)
	t_lanes=$SECONDS
	lane matrix matrix_lane
	lane irc irc_lane
	wait
	lane_end matrix
	lane_end irc
	echo "both lanes took $((SECONDS - t_lanes)) s"
	rm -rf "$LANES"
	step "benchmark: router (figures, not asserted)" build/bench/bench_router 100000
fi

echo
echo "=== summary"
printf '%s\n' "${REPORT[@]}"
echo "suites: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
