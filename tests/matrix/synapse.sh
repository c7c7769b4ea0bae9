#!/usr/bin/env bash
# A real Synapse homeserver on loopback for Hearth's Matrix integration tests.
#
# Synapse is not in Debian 12, so it runs from a Debian sid chroot built once
# with debootstrap and cached outside the checkout.
#
# Usage: tests/matrix/synapse.sh deps|setup|start|stop|restart|status|url
#        tests/matrix/synapse.sh register NAME PASS [--admin]
#
# Environment:
#   HEARTH_SYNAPSE_ROOT  chroot location (default /var/cache/hearth/sid-synapse)
#   HEARTH_SYNAPSE_PORT  client port on 127.0.0.1 (default 18008)
#   HEARTH_SYNAPSE_KEEP  1: setup keeps an existing homeserver (config, database, rooms) instead
#                        of a fresh one (tests/bench/bench_rooms.py's 1,000 rooms; not for suites)
set -euo pipefail

ROOT=${HEARTH_SYNAPSE_ROOT:-/var/cache/hearth/sid-synapse}
PORT=${HEARTH_SYNAPSE_PORT:-18008}
MIRROR=http://deb.debian.org/debian
MARKER="$ROOT/.hearth-root-complete"   # written only after debootstrap succeeded
HS="$ROOT/hs"                          # config, database, media, logs (/hs inside)
PIDFILE="$HS/synapse.pid"
LOG="$HS/synapse.out"
URL="http://127.0.0.1:$PORT"

die() { echo "synapse.sh: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "must run as root (chroot, mount)"; }

# Install the host tools the harness needs, only those missing.
cmd_deps() {
    local missing=() p
    for p in debootstrap python3-matrix-nio python3-olm curl; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
            || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "deps: all present"
        return 0
    fi
    need_root
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Update the lists only when the install fails on stale or empty lists.
    apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; }
}

proc_mounted() { mountpoint -q "$ROOT/proc" 2>/dev/null; }

# Unmount everything under ROOT (a killed debootstrap can leave proc/sys mounted).
umount_all() {
    local m
    for m in $(awk -v r="$ROOT/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
}

# Build the sid root once; a root without the marker is half-built: remove it.
build_root() {
    if [ -f "$MARKER" ] && [ -x "$ROOT/usr/bin/python3" ]; then
        echo "setup: reusing $ROOT"
        return 0
    fi
    command -v debootstrap >/dev/null || die "debootstrap missing: run '$0 deps'"
    if [ -e "$ROOT" ]; then
        echo "setup: removing incomplete root $ROOT"
        cmd_stop >/dev/null
        umount_all
        # Never follow a mount out of the root while deleting it.
        rm -rf --one-file-system "$ROOT"
    fi
    mkdir -p "$(dirname "$ROOT")"
    echo "setup: debootstrap sid into $ROOT (about 70 s, 560 MB)"
    debootstrap --variant=minbase --include=matrix-synapse,python3-cffi-backend,curl \
        sid "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 \
        || { tail -20 "$ROOT.debootstrap.log" >&2; die "debootstrap failed (log: $ROOT.debootstrap.log)"; }
    chroot "$ROOT" python3 -c 'import synapse, nacl' || die "synapse does not import in $ROOT"
    touch "$MARKER"
}

# Rate limits tests hit: the keys this Synapse version knows (checked against
# synapse/config/ratelimiting.py), each raised to 1000/s with a burst of 1000.
write_limits() {
    local fast='{per_second: 1000, burst_count: 1000}'
    cat <<EOF

# --- Hearth test harness: loopback only, no federation, no rate limits ---
suppress_key_server_warning: true
trusted_key_servers: []
enable_registration: false
rc_message: $fast
rc_registration: $fast
rc_registration_token_validity: $fast
rc_login:
  address: $fast
  account: $fast
  failed_attempts: $fast
rc_joins:
  local: $fast
  remote: $fast
rc_joins_per_room: $fast
rc_invites:
  per_room: $fast
  per_user: $fast
  per_issuer: $fast
rc_room_creation: $fast
rc_key_requests: $fast
rc_media_create: $fast
rc_presence:
  per_user: $fast
rc_3pid_validation: $fast
rc_admin_redaction: $fast
rc_third_party_invite: $fast
rc_delayed_event_mgmt: $fast
rc_reports: $fast
rc_user_directory: $fast
EOF
}

# Generate a fresh homeserver config and an empty database under ROOT/hs.
write_config() {
    cmd_stop >/dev/null
    rm -rf --one-file-system "$HS"
    mkdir -p "$HS"
    chroot "$ROOT" python3 -m synapse.app.homeserver --server-name localhost \
        --config-path /hs/homeserver.yaml --data-directory /hs \
        --generate-config --report-stats=no >"$HS/generate.out" 2>&1 \
        || { cat "$HS/generate.out" >&2; die "config generation failed"; }
    local y="$HS/homeserver.yaml"
    grep -q '^registration_shared_secret:' "$y" || die "generated config has no registration_shared_secret"
    # One bind on 127.0.0.1 only (two binds on one port fail), our port.
    sed -i -e "/^\s*- '::1'\s*$/d" -e "/^\s*- ::1\s*$/d" \
        -e "s/^\(\s*bind_addresses:\).*\]$/\1 ['127.0.0.1']/" \
        -e "s/^\(\s*-\?\s*port:\) 8008$/\1 $PORT/" "$y"
    grep -q "port: $PORT\$" "$y" || die "could not set the port in $y"
    grep -q '::1' "$y" && die "could not remove the ::1 bind from $y"
    # Drop generated keys we override below, then append ours; strip the keys
    # this Synapse does not know, so the config stays valid on other versions.
    sed -i -e '/^suppress_key_server_warning:/d' -e '/^enable_registration:/d' \
        -e '/^trusted_key_servers:/,/^[^ ]/{/^trusted_key_servers:/d;/^ /d}' "$y"
    echo >>"$y"   # the generated file ends without a newline
    write_limits | filter_known_limits >>"$y"
    # The log config writes homeserver.log to /hs; keep it quiet on stdout.
    chroot "$ROOT" python3 - <<'PY' || die "generated config does not load"
import yaml
with open("/hs/homeserver.yaml") as f:
    yaml.safe_load(f)
PY
}

# Keep only rc_* keys known to this Synapse (others are ignored anyway, but an
# honest config shows what applies).
filter_known_limits() {
    local known
    known=$(grep -oh '"rc_[a-z0-9_]*' \
        "$ROOT"/usr/lib/python3/dist-packages/synapse/config/ratelimiting.py 2>/dev/null \
        | tr -d '"' | sort -u | tr '\n' ' ' || true)
    awk -v known=" $known " '
        /^rc_[a-z0-9_]*:/ { k=$1; sub(":", "", k); keep = (known == "  " || index(known, " " k " ") > 0) }
        /^[^ ]/ && !/^rc_/ { keep = 1 }
        keep { print }'
}

cmd_setup() {
    need_root
    build_root
    if [ "${HEARTH_SYNAPSE_KEEP:-}" = 1 ] && [ -f "$HS/homeserver.yaml" ] \
        && grep -q "port: $PORT\$" "$HS/homeserver.yaml"; then
        echo "setup: keeping the homeserver in $HS (HEARTH_SYNAPSE_KEEP=1)"
        return 0
    fi
    write_config
    echo "setup: config at $HS/homeserver.yaml, port $PORT"
}

running_pid() {
    local pid
    [ -f "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    echo "$pid"
}

cmd_start() {
    need_root
    [ -f "$MARKER" ] && [ -f "$HS/homeserver.yaml" ] || die "not set up: run '$0 setup'"
    if pid=$(running_pid); then
        echo "start: already running (pid $pid)"
    elif curl -fs -o /dev/null --max-time 2 "$URL/_matrix/client/versions"; then
        die "port $PORT already answers but not with our Synapse: stop it or set HEARTH_SYNAPSE_PORT"
    else
        proc_mounted || mount -t proc proc "$ROOT/proc"
        # Foreground Synapse in the background: it writes no pid file itself.
        setsid chroot "$ROOT" bash -c 'cd /hs && exec python3 -m synapse.app.homeserver -c /hs/homeserver.yaml' \
            >"$LOG" 2>&1 </dev/null &
        echo $! >"$PIDFILE"
    fi
    local i
    for i in $(seq 1 120); do
        if curl -fs -o /dev/null --max-time 2 "$URL/_matrix/client/versions"; then
            echo "start: synapse ready at $URL (pid $(cat "$PIDFILE"))"
            return 0
        fi
        running_pid >/dev/null || break
        sleep 0.5
    done
    echo "start: synapse did not answer within 60 s; log tail:" >&2
    tail -40 "$LOG" >&2 || true
    tail -20 "$HS/homeserver.log" >&2 2>/dev/null || true
    exit 1
}

cmd_stop() {
    local pid i
    if pid=$(running_pid); then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.5
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "stop: pid $pid ignored TERM for 15 s, killing" >&2
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.2
        fi
        echo "stop: stopped pid $pid"
    else
        echo "stop: not running"
    fi
    rm -f "$PIDFILE"
    if proc_mounted; then umount "$ROOT/proc" || umount -l "$ROOT/proc"; fi
}

cmd_register() {
    [ $# -ge 2 ] || die "usage: $0 register NAME PASS [--admin]"
    local name=$1 pass=$2 admin=--no-admin out
    [ "${3:-}" = --admin ] && admin=--admin
    running_pid >/dev/null || die "synapse is not running: run '$0 start'"
    # Already there: /profile answers 200 for an existing local user.
    if curl -fs -o /dev/null "$URL/_matrix/client/v3/profile/@$name:localhost"; then
        echo "register: @$name:localhost exists"
        return 0
    fi
    if out=$(chroot "$ROOT" synapse_register_new_matrix_user -c /hs/homeserver.yaml \
            -u "$name" -p "$pass" "$admin" "$URL" 2>&1); then
        echo "register: created @$name:localhost"
    elif grep -qi 'User ID already taken' <<<"$out"; then
        echo "register: @$name:localhost exists"
    else
        echo "$out" >&2
        die "could not register $name"
    fi
}

case "${1:-}" in
    deps) cmd_deps ;;
    setup) cmd_setup ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop; cmd_start ;;
    status) if pid=$(running_pid); then echo "running (pid $pid) at $URL"; else echo "not running"; exit 1; fi ;;
    register) shift; cmd_register "$@" ;;
    url) echo "$URL" ;;
    *) echo "usage: $0 deps|setup|start|stop|restart|status|url|register NAME PASS [--admin]" >&2; exit 2 ;;
esac
