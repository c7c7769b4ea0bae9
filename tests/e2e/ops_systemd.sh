#!/usr/bin/env bash
# ops_systemd.sh - config/hearth.service passes `systemd-analyze verify` (with ExecStart pointed
# at the binary under test) and carries the hardening a reviewer expects; prints the exposure
# from `systemd-analyze security --offline` (both work without systemd as PID 1) and fails above
# 2.0. Skips when systemd-analyze is not installed.
. "$(dirname "$0")/lib.bash"
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: skipping"; exit 0; }
unit="$WORK/hearth.service"
sed "s|/usr/bin/hearth|$HEARTH|" "$SRC/config/hearth.service" >"$unit"
out=$(cd "$WORK" && systemd-analyze verify --man=no "$unit" 2>&1) && rc=0 || rc=$?
equal "systemd-analyze verify exit code" "$rc" 0
[ -z "$out" ] || echo "$out"
for d in "Type=notify" "DynamicUser=yes" "ProtectSystem=strict" "StateDirectory=hearth" \
	"NoNewPrivileges=yes" "PrivateTmp=yes" "CapabilityBoundingSet=" \
	"SystemCallFilter=@system-service" "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
	"MemoryDenyWriteExecute=yes" "ExecReload=/bin/kill -HUP \$MAINPID" "WatchdogSec="; do
	expect "unit has $d" "$(cat "$unit")" "$d"
done
sec=$(cd "$WORK" && systemd-analyze security --offline=true "$unit" 2>&1 || true)
grep '✗' <<<"$sec" | sed 's/  */ /g' || true
level=$(sed -n 's/.*Overall exposure level for hearth.service: \([0-9.]*\).*/\1/p' <<<"$sec")
echo "systemd-analyze security: overall exposure $level (goal: below 2.0)"
equal "exposure below 2.0" "$(awk -v l="${level:-99}" 'BEGIN { print (l < 2.0) ? "yes" : "no (" l ")" }')" yes
finish
