#!/usr/bin/env bash
# ops_http.sh - [admin] listen: /metrics parses as Prometheus text with every required family,
# a command increments its counter, no label carries a member id, room id or text; /healthz
# answers 200 "ok" (console only: the store answers); and the endpoint holds up against a
# hostile client: path traversal, other methods, a huge request, a slow request (the loop keeps
# serving), a listen address other machines can reach (refused unless allow_remote).
. "$(dirname "$0")/lib.bash"
PORT=$((20000 + RANDOM % 20000))
URL="http://127.0.0.1:$PORT"
PROM="$SRC/tests/e2e/promtext.py"
printf '[admin]\nlisten = 127.0.0.1:%s\n' "$PORT" >"$WORK/c.ini"

mkfifo "$WORK/in"
"$HEARTH" --config "$WORK/c.ini" --data-dir "$WORK/data" --as "zqmember{x=\"1\"}" <"$WORK/in" >"$WORK/out" 2>>"$WORK/stderr" &
pid=$!
exec 3>"$WORK/in"
for _ in $(seq 50); do curl -s -o /dev/null "$URL/healthz" && break; sleep 0.1; done

before=$(python3 "$PROM" "$URL/metrics")
for fam in hearth_commands_total hearth_replies_total hearth_reply_latency_seconds hearth_own_time_seconds \
	hearth_network_up hearth_matrix_syncs_total hearth_matrix_sync_errors_total hearth_matrix_sync_lag_seconds \
	hearth_e2e_undecryptable_events_total hearth_e2e_key_requests_total hearth_irc_reconnects_total \
	hearth_irc_send_queue_depth hearth_crisis_answers_total hearth_mood_log_members \
	hearth_store_errors_total hearth_resident_memory_bytes; do
	expect "family $fam" "$before" "# $fam "
done
reject "no help counted yet" "$before" 'hearth_commands_total{command="help"'
printf '!help\n!help\n/dm !mood optin\n/dm !mood optin confirm\n!crisis\n!nosuchcmd\n' >&3
sleep 1
after=$(python3 "$PROM" "$URL/metrics")
expect "help counted twice" "$after" 'hearth_commands_total{command="help",network="console"} 2'
expect "mood counted" "$after" 'hearth_commands_total{command="mood",network="console"} 2'
expect "replies sent" "$after" 'hearth_replies_total{network="console",result="sent"}'
expect "crisis answer counted" "$after" "hearth_crisis_answers_total{} 1"
expect "mood members" "$after" "hearth_mood_log_members{} 1"
expect "latency observed" "$after" 'hearth_reply_latency_seconds_count{} '
reject "no member id in a label" "$after" "zqmember"
reject "unknown command not a label" "$after" "nosuchcmd"
rss=$(grep '^hearth_resident_memory_bytes' <<<"$after" | awk '{print $2}')
equal "RSS is a real size" "$([ "${rss%.*}" -gt 1000000 ] && echo yes)" yes

out=$(curl -s -i "$URL/healthz")
expect "healthz 200" "$out" "HTTP/1.1 200"
expect "healthz ok" "$out" "ok"

# hostile: paths, methods, sizes, slowness
for p in /../../etc/passwd /metrics/../../etc/passwd /%2e%2e/%2e%2e/etc/passwd /metrics/ /METRICS '/healthz?x=/../'; do
	code=$(curl -s --path-as-is -o "$WORK/body" -w '%{http_code}' "$URL$p")
	if [ "$p" = '/healthz?x=/../' ]; then equal "query string ignored" "$code" 200; else
		equal "path $p is 404" "$code" 404; fi
	reject "no file served for $p" "$(cat "$WORK/body")" "root:"
done
equal "POST refused" "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data 'x=1' "$URL/metrics")" 405
equal "DELETE refused" "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL/healthz")" 405
big=$(head -c 100000 /dev/zero | tr '\0' a)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$URL/metrics" || true)
reject "a 100 KB header is not served" "$code" 200
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/metrics?$(head -c 50000 /dev/zero | tr '\0' b)" || true)
reject "a 50 KB URL is not served" "$code" 200
# a slow client that never finishes its request: the endpoint (and the loop) keep answering
python3 - "$PORT" >"$WORK/slow" <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
start = time.time()
try:
    s.settimeout(30)
    data = s.recv(100)
    print("closed after %.0f s" % (time.time() - start))
except socket.timeout:
    print("still open after 30 s")
PY
slow=$!
sleep 1
equal "answers while a slow client waits" "$(curl -s -m 3 "$URL/healthz")" ok
printf '!help\n' >&3
sleep 0.5
expect "commands still handled" "$(python3 "$PROM" "$URL/metrics")" 'hearth_commands_total{command="help",network="console"} 3'
wait $slow
expect "the slow client is cut off" "$(cat "$WORK/slow")" "closed after"
reject "not after 30 s" "$(cat "$WORK/slow")" "still open"
# another machine's address cannot reach a loopback listener
other=$(hostname -I 2>/dev/null | awk '{print $1}')
if [ -n "$other" ] && [ "$other" != 127.0.0.1 ]; then
	reject "not reachable on $other" "$(curl -s -m 2 "http://$other:$PORT/healthz" || true)" ok
fi
exec 3>&-
wait $pid

# listen addresses other machines can reach are refused unless allow_remote = true
printf '[admin]\nlisten = 0.0.0.0:%s\n' "$PORT" >"$WORK/remote.ini"
out=$("$HEARTH" --check-config --config "$WORK/remote.ini" 2>&1 || true)
expect "0.0.0.0 refused" "$out" "reachable from other machines"
printf '[admin]\nlisten = [::]:%s\n' "$PORT" >"$WORK/remote6.ini"
out=$("$HEARTH" --check-config --config "$WORK/remote6.ini" 2>&1 || true)
expect ":: refused" "$out" "reachable from other machines"
printf '[admin]\nlisten = 0.0.0.0:%s\nallow_remote = true\n' "$PORT" >"$WORK/remote-ok.ini"
out=$("$HEARTH" --check-config --config "$WORK/remote-ok.ini" 2>&1)
expect "allow_remote accepts it" "$out" ": ok"
printf '[admin]\nlisten = example.org:80\n' >"$WORK/bad.ini"
out=$("$HEARTH" --check-config --config "$WORK/bad.ini" 2>&1 || true)
expect "a host name is refused" "$out" "is not an address"

# a Unix socket, and --healthcheck
printf '[admin]\nlisten = unix:%s/admin.sock\n' "$WORK" >"$WORK/unix.ini"
mkfifo "$WORK/in2"
"$HEARTH" --config "$WORK/unix.ini" --data-dir "$WORK/data" <"$WORK/in2" >/dev/null 2>>"$WORK/stderr" &
pid=$!
exec 4>"$WORK/in2"
for _ in $(seq 50); do [ -S "$WORK/admin.sock" ] && break; sleep 0.1; done
equal "unix socket answers" "$(curl -s --unix-socket "$WORK/admin.sock" http://x/healthz)" ok
"$HEARTH" --config "$WORK/unix.ini" --healthcheck
equal "--healthcheck exit code" "$?" 0
exec 4>&-
wait $pid
equal "socket removed at exit" "$([ -e "$WORK/admin.sock" ] && echo left || echo gone)" gone
out=$("$HEARTH" --config "$WORK/unix.ini" --healthcheck 2>&1 || true)
expect "--healthcheck when down" "$out" "cannot reach"
finish
