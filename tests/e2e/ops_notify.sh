#!/usr/bin/env bash
# ops_notify.sh - Type=notify: Hearth tells the service manager READY=1 once it runs,
# RELOADING=1 and READY=1 around a SIGHUP, WATCHDOG=1 at half of WATCHDOG_USEC, and STOPPING=1
# on SIGTERM, on the NOTIFY_SOCKET datagram socket as systemd reads it.
. "$(dirname "$0")/lib.bash"
if ! "$HEARTH" --help >/dev/null || ! ldd "$HEARTH" | grep -q libsystemd; then
	echo "built without libsystemd: sd_notify is off; skipping"; exit 0
fi
sock="$WORK/notify.sock"
python3 - "$sock" >"$WORK/notes" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(8)
end = time.time() + 8
try:
    while time.time() < end:
        msg = s.recv(4096).decode()
        print(msg.replace("\n", "|"), flush=True)
        if msg.startswith("STOPPING=1"):
            break
except socket.timeout:
    pass
PY
listener=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
mkfifo "$WORK/in"
NOTIFY_SOCKET="$sock" WATCHDOG_USEC=400000 "$HEARTH" --data-dir "$WORK/data" <"$WORK/in" >/dev/null 2>>"$WORK/stderr" &
pid=$!
exec 3>"$WORK/in"
sleep 1.2
kill -HUP $pid
sleep 0.5
kill -TERM $pid
wait $pid || true
exec 3>&-
wait $listener || true
notes=$(cat "$WORK/notes")
expect "READY=1" "$notes" "READY=1|STATUS="
expect "RELOADING=1 on SIGHUP" "$notes" "RELOADING=1"
expect "STOPPING=1 on SIGTERM" "$notes" "STOPPING=1"
equal "READY again after the reload" "$(grep -A3 RELOADING <<<"$notes" | grep -c '^READY=1')" 1
n=$(grep -c '^WATCHDOG=1' <<<"$notes" || true)
equal "watchdog pings at half the interval (>= 4 in 1.7 s)" "$([ "$n" -ge 4 ] && echo yes || echo "$n")" yes
reject "nothing before READY but the watchdog" "$(grep -v '^WATCHDOG' <<<"$notes" | head -1)" "STOPPING"
expect "first non-watchdog note is READY" "$(grep -v '^WATCHDOG' <<<"$notes" | head -1)" "READY=1"
finish
