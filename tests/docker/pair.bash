# tests/docker/pair.bash - README's "Two containers on one PostgreSQL, with podman" example, run
# as written: sourced by tests/docker/run.sh after the image is built (uses its ok/bad/check/
# phase), or run on its own against an image already built (`bash tests/docker/pair.bash`).
#
# The example's commands are taken from README.md (the sh block after the marker
# `<!-- tests/docker/pair.bash runs this block -->`), so README and test cannot drift. The test
# supplies what README leaves to the operator: a throwaway PostgreSQL (tests/pg/cluster.sh,
# Unix socket only; its socket folder is passed as PGSOCK, which the block reads), the password
# file pgpw, and a hearth.ini whose one network section is an IRC network on a loopback port
# nobody listens on: the cheapest section that takes a lease (no homeserver, no E2EE keys, no
# TLS); the active instance keeps trying to connect, the standby waits, and the lease is what
# is checked. Checks: exactly one container holds the lease (its log and the lease row), then
# `podman kill` of that one, and the other logs "took over [irc.pair]" within 15 s.
#
# `podman run` cannot start containers in this sandbox with the stock OCI runtimes (crun: cgroups
# in hybrid mode and setrlimit refused; runc: setrlimit refused). So the test points podman at
# runc through a wrapper that drops the OCI config's rlimits (the containers inherit the host's)
# by a containers.conf in CONTAINERS_CONF; the example's commands themselves are unchanged.
# Container names hearth-a/hearth-b and volumes hearth-data-a/b are README's: a container or
# volume of those names left from an earlier run is removed first and at the end.

PAIR_ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PAIR_IMAGE=${IMAGE:-localhost/hearth}
PAIR_SECTION=irc.pair
PAIR_DEADLINE=15

if ! declare -F check >/dev/null; then # on its own
	set -uo pipefail
	PASS=0 FAIL=0
	ok() { PASS=$((PASS + 1)); echo "ok     $*"; }
	bad() { FAIL=$((FAIL + 1)); echo "FAILED $*"; }
	check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
	phase() { [ -n "$1" ] && echo && echo "=== $1"; return 0; }
	PAIR_ALONE=1
fi

pair_clean() {
	podman rm -f -t 0 hearth-a hearth-b >/dev/null 2>&1 || true
	podman volume rm -f hearth-data-a hearth-data-b >/dev/null 2>&1 || true
}

# The lines of README's block after the marker (between its ```sh and ```).
pair_block() {
	awk '/<!-- tests\/docker\/pair.bash runs this block -->/ { m = 1; next }
	     m == 1 && /^```sh/ { m = 2; next }
	     m == 2 && /^```/ { exit }
	     m == 2 { print }' "$PAIR_ROOT/README.md"
}

# The runtime wrapper (see the top) and the containers.conf that names it.
pair_runtime() {
	local dir=$1 runc
	runc=$(command -v runc) || return 1
	mkdir -p "$dir/bin"
	cat >"$dir/bin/runc" <<-EOF
		#!/bin/sh
		# runc, minus the OCI config's rlimits (this sandbox refuses setrlimit)
		bundle=
		prev=
		for a in "\$@"; do
			case "\$prev" in --bundle|-b) bundle=\$a ;; esac
			case "\$a" in --bundle=*) bundle=\${a#--bundle=} ;; esac
			prev=\$a
		done
		if [ -n "\$bundle" ] && [ -f "\$bundle/config.json" ]; then
			python3 -c 'import json, sys
		p = sys.argv[1]; c = json.load(open(p)); c.get("process", {}).pop("rlimits", None)
		json.dump(c, open(p, "w"))' "\$bundle/config.json" || exit 1
		fi
		exec $runc "\$@"
	EOF
	chmod 0755 "$dir/bin/runc"
	cat >"$dir/containers.conf" <<-EOF
		[engine]
		runtime = "runc"
		[engine.runtimes]
		runc = ["$dir/bin/runc"]
	EOF
}

# pair_holder: the container whose log says it holds the lease (a or b), else "".
pair_holder() {
	local n h=""
	for n in a b; do
		if podman logs "hearth-$n" 2>&1 | grep -qF "holding the lease for [$PAIR_SECTION]"; then
			h="$h$n"
		fi
	done
	echo "$h"
}

pair_run() {
	local work pg_started=0 block holder other t0 waited n rows rc
	phase "two instances on one PostgreSQL (README's podman example)"
	work=$(mktemp -d /var/tmp/hearth-pair.XXXXXX)
	if ! command -v runc >/dev/null; then
		bad "runc is not installed (apt-get install runc)"
		rm -rf "$work"
		return
	fi
	if ! podman image exists "$PAIR_IMAGE"; then
		bad "no image $PAIR_IMAGE (tests/docker/run.sh builds it)"
		rm -rf "$work"
		return
	fi
	pair_runtime "$work/rt"
	export CONTAINERS_CONF=$work/rt/containers.conf
	block=$(pair_block)
	echo "README's block:"
	sed 's/^/  | /' <<<"$block" || true
	check "README has the marked podman block with its podman run" grep -q 'podman run' <<<"$block"
	pair_clean
	# the throwaway PostgreSQL: its socket open to the containers' user 10001
	if ! eval "$(bash "$PAIR_ROOT/tests/pg/cluster.sh" start)"; then
		bad "tests/pg/cluster.sh start"
		rm -rf "$work"
		return
	fi
	pg_started=1
	chmod 0755 "$HEARTH_TEST_PG_DIR" "$HEARTH_TEST_PG_DIR/sock"
	chmod 0777 "$HEARTH_TEST_PG_DIR/sock/.s.PGSQL.5432"
	printf '%s' "$HEARTH_TEST_PG_PASSWORD" >"$work/pgpw"
	# What README leaves to the operator: hearth.ini. The port: one nobody listens on.
	cat >"$work/hearth.ini" <<-EOF
		[bot]
		timezone = UTC
		[store]
		url = postgresql://hearth@/hearth?host=/run/postgresql
		[$PAIR_SECTION]
		host = 127.0.0.1
		port = 9
		tls = false
		nick = HearthPair
		channels = #pair
	EOF
	chmod 0644 "$work/hearth.ini"
	# the block, as written, in the operator's folder
	rc=0
	(cd "$work" && PGSOCK=$HEARTH_TEST_PG_DIR/sock bash -e -c "$block") >"$work/block.log" 2>&1 || rc=$?
	check "README's block runs (exit $rc)" test "$rc" -eq 0
	grep -v 'level=error msg="unable to get systemd connection' "$work/block.log" | sed 's/^/  > /' | head -20 || true
	for n in a b; do
		check "container hearth-$n is running" \
			test "$(podman inspect -f '{{.State.Running}}' "hearth-$n" 2>/dev/null)" = true
	done
	# one holds the lease, the other waits
	holder=
	for _ in $(seq 1 60); do
		holder=$(pair_holder)
		[ -n "$holder" ] && podman logs hearth-a hearth-b 2>&1 |
			grep -qF "[$PAIR_SECTION] is active in another Hearth" && break
		sleep 0.5
	done
	for n in a b; do
		echo "--- podman logs hearth-$n"
		podman logs "hearth-$n" 2>&1 | grep -v '^$' | head -12 | sed 's/^/  /' || true
	done
	check "exactly one container holds the lease for [$PAIR_SECTION] (log: '$holder')" \
		test "${#holder}" -eq 1
	[ "$holder" = a ] && other=b || other=a
	check "the other waits as a standby (its log)" \
		sh -c "podman logs hearth-$other 2>&1 | grep -qF '[$PAIR_SECTION] is active in another Hearth'"
	rows=$(PGPASSWORD=$HEARTH_TEST_PG_PASSWORD psql -X -qAt -h "$HEARTH_TEST_PG_DIR/sock" -U hearth -d hearth \
		-c "SELECT count(*) FROM lease WHERE section = '$PAIR_SECTION' AND holder <> ''" 2>&1 || true)
	check "one lease row for [$PAIR_SECTION] in PostgreSQL ($rows)" test "$rows" = 1
	if [ "${#holder}" -eq 1 ]; then
		podman kill "hearth-$holder" >/dev/null || true
		t0=$(date +%s.%N)
		waited=
		for _ in $(seq 1 $((PAIR_DEADLINE * 5 + 10))); do
			if podman logs "hearth-$other" 2>&1 | grep -qF "took over [$PAIR_SECTION]"; then
				waited=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
				break
			fi
			sleep 0.2
		done
		echo "after podman kill hearth-$holder: $(podman logs "hearth-$other" 2>&1 | grep -F "took over" || echo 'no takeover')"
		check "hearth-$other took over within ${PAIR_DEADLINE} s of the kill (${waited:-never} s)" \
			awk -v w="${waited:-}" -v d="$PAIR_DEADLINE" 'BEGIN { exit !(w != "" && w + 0 < d) }'
		check "hearth-$holder is stopped" \
			test "$(podman inspect -f '{{.State.Running}}' "hearth-$holder" 2>/dev/null)" = false
	fi
	pair_clean
	unset CONTAINERS_CONF
	[ "$pg_started" = 1 ] && bash "$PAIR_ROOT/tests/pg/cluster.sh" stop >/dev/null 2>&1
	rm -rf "$work"
}

pair_run
if [ -n "${PAIR_ALONE:-}" ]; then
	echo
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
fi
