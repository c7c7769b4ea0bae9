#!/usr/bin/env bash
# Real IRC servers on loopback for Hearth's IRC integration tests.
#
#   InspIRCd 3 (irc.test, network HearthTest) linked with Anope 2 (services.test)
#   ngIRCd 26 (ngircd.test)
#
# Usage: servers.sh deps | start [inspircd|ngircd|all] | stop [inspircd|ngircd|all]
#        | restart inspircd|ngircd|all | status | ca
#        | stop anope | start anope   (services only; InspIRCd stays up)
#        | register ACCOUNT PASSWORD | certfp-add ACCOUNT PASSWORD CERTFILE
#        | gen-client-cert NAME | fingerprint CERTFILE | env
#
# Environment (defaults):
#   HEARTH_IRC_DIR=/var/tmp/hearth-irc   runtime dir (configs, certs, logs, pids, Anope db)
#   IRC_PORT=16667 IRC_TLS_PORT=16697 IRC_LINK_PORT=17000     InspIRCd
#   NGIRCD_PORT=16668 NGIRCD_TLS_PORT=16698                   ngIRCd
#   PYTHON=/usr/bin/python3
# Everything listens on 127.0.0.1 only.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN="${HEARTH_IRC_DIR:-/var/tmp/hearth-irc}"
IRC_PORT="${IRC_PORT:-16667}"
IRC_TLS_PORT="${IRC_TLS_PORT:-16697}"
IRC_LINK_PORT="${IRC_LINK_PORT:-17000}"
NGIRCD_PORT="${NGIRCD_PORT:-16668}"
NGIRCD_TLS_PORT="${NGIRCD_TLS_PORT:-16698}"
PYTHON="${PYTHON:-/usr/bin/python3}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
START_TIMEOUT="${IRC_START_TIMEOUT:-60}"
LINK_PASS="hearth-link-secret"
# A client that sends this server password (PASS) gets the "load" connect class: 20 commands a
# second instead of 1 (the failover test's member and Hearths, issue 13). Everyone else is in
# "main", whose flood control the flood tests check.
LOAD_PASS="hearth-load-class"

log() { printf 'servers.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------- deps
cmd_deps() {
    local want=() p
    for p in inspircd anope ngircd openssl gnutls-bin python3; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || want+=("$p")
    done
    if [ "${#want[@]}" -eq 0 ]; then log "all packages present"; return 0; fi
    log "installing: ${want[*]}"
    # Keep Debian's packaged services from starting and grabbing ports.
    local own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${want[@]}" || rc=$?
    if [ "$rc" != 0 ]; then      # stale or missing package lists: update once and retry
        apt-get update -q && rc=0 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${want[@]}" || rc=$?
    fi
    [ "$own_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ "$rc" = 0 ] || die "apt-get install failed ($rc)"
    # If a packaged service started anyway, stop and disable it.
    for p in inspircd anope ngircd; do
        if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
            systemctl disable --now "$p" >/dev/null 2>&1 || true
        fi
        service "$p" stop >/dev/null 2>&1 || true
    done
    for p in "$IRC_PORT" "$IRC_TLS_PORT" "$IRC_LINK_PORT" "$NGIRCD_PORT" "$NGIRCD_TLS_PORT" 6667 6697 7000; do
        if port_open "$p"; then log "warning: something listens on 127.0.0.1:$p (a packaged daemon?)"; fi
    done
}

# ---------------------------------------------------------------- helpers
need_bins() {
    local b
    for b in inspircd anope ngircd openssl certtool; do
        command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || die "missing $b: run '$0 deps'"
    done
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

readpid() { [ -f "$RUN/$1.pid" ] && cat "$RUN/$1.pid" || true; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port_free_or_die() {
    if port_open "$1"; then die "port $1 on 127.0.0.1 is already in use (another server running? try '$0 stop' or set $2)"; fi
}

# stop_pid NAME...: TERM all, wait up to 10 s, then KILL. Safe when not running.
stop_pid() {
    local name pid i alive
    for name in "$@"; do
        pid="$(readpid "$name")"
        pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null || true
    done
    for i in $(seq 1 100); do
        alive=0
        for name in "$@"; do pid_alive "$(readpid "$name")" && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for name in "$@"; do
        pid="$(readpid "$name")"
        if pid_alive "$pid"; then log "$name ($pid) did not stop, sending KILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.2; fi
        [ -n "$pid" ] && log "stopped $name ($pid)"
        rm -f "$RUN/$name.pid"
    done
}

show_logs() {
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        echo "----- $f (last 40 lines) -----" >&2
        tail -n 40 "$f" >&2
    done
}

ensure_certs() {
    mkdir -p "$RUN/certs"
    local c="$RUN/certs"
    if [ ! -s "$c/server.pem" ] || [ ! -s "$c/server.key" ]; then
        log "generating self-signed certificate for localhost"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
            -subj /CN=localhost \
            -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
            -addext keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign \
            -addext extendedKeyUsage=serverAuth \
            -keyout "$c/server.key" -out "$c/server.pem" 2>/dev/null
        chmod 644 "$c/server.pem" "$c/server.key"   # test key; ngIRCd drops to nobody
    fi
    if [ ! -s "$c/dhparams.pem" ]; then
        log "generating DH params (certtool)"
        certtool --get-dh-params --sec-param medium >"$c/dhparams.pem" 2>/dev/null ||
            certtool --generate-dh-params --sec-param medium --outfile "$c/dhparams.pem" >/dev/null 2>&1
        chmod 644 "$c/dhparams.pem"
    fi
}

# ---------------------------------------------------------------- configs
write_inspircd_conf() {
    local d="$RUN/inspircd"
    mkdir -p "$d/data" "$d/logs"
    cat >"$d/inspircd.conf" <<EOF
<config format="xml">
<server name="irc.test" description="Hearth test server" network="HearthTest">
<admin name="Hearth tests" nick="admin" email="admin@irc.test">

<bind address="127.0.0.1" port="$IRC_PORT" type="clients">
<bind address="127.0.0.1" port="$IRC_TLS_PORT" type="clients" sslprofile="hearth">
<bind address="127.0.0.1" port="$IRC_LINK_PORT" type="servers">

<module name="ssl_gnutls">
<sslprofile name="hearth" provider="gnutls"
    certfile="$RUN/certs/server.pem" keyfile="$RUN/certs/server.key"
    dhfile="$RUN/certs/dhparams.pem" hash="sha256" requestclientcert="yes"
    priority="NORMAL">

<connect name="load" allow="*" password="$LOAD_PASS"
    timeout="20" pingfreq="120" hardsendq="1M" softsendq="65536" recvq="8192"
    threshold="60" commandrate="20000" fakelag="no"
    localmax="1000" globalmax="1000" maxconnwarn="no" limit="5000"
    maxchans="100" resolvehostnames="no" useident="no" usednsbl="no">
<connect name="main" allow="*"
    timeout="20" pingfreq="120" hardsendq="1M" softsendq="65536" recvq="8192"
    threshold="20" commandrate="1000" fakelag="no"
    localmax="1000" globalmax="1000" maxconnwarn="no" limit="5000"
    maxchans="100" resolvehostnames="no" useident="no" usednsbl="no">

<options casemapping="ascii" prefixquit="Quit: " syntaxhints="no"
    defaultmodes="not" xlinemessage="You're banned!" allowzerolimit="no"
    exemptchanops="" invitebypassmodes="yes" nosnoticestack="no" cyclehostsfromuser="no"
    pingwarning="15" serverpingfreq="60" splitwhois="no" announcets="yes"
    hostintopic="yes" restrictbannedusers="yes" genericoper="no" ircumsgprefix="no" hidesplits="no">
<performance netbuffersize="10240" somaxconn="128" softlimit="12800" clonesonconnect="no" timeskipwarn="2s" quietbursts="yes">
<security announceinvites="dynamic" hideserver="" hidebans="no" hidekills="" hideulinekills="no"
    hidesplits="no" maxtargets="20" customversion="" operspywhois="no" restrictbannedusers="yes"
    genericoper="no" userstats="Pu">
<limits maxaway="200" maxchan="64" maxhost="64" maxident="10" maxkey="30" maxkick="255"
    maxmodes="20" maxnick="30" maxquit="255" maxreal="128" maxtopic="307">
<dns timeout="2">
<pid file="$d/inspircd.pid">
<files motd="$d/motd.txt">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="$d/logs/ircd.log">

<module name="cap">
<module name="ircv3">
<module name="ircv3_accounttag">
<module name="ircv3_batch">
<module name="ircv3_capnotify">
<module name="ircv3_chghost">
<module name="ircv3_ctctags">
<module name="ircv3_echomessage">
<module name="monitor">
<module name="setname">
<module name="ircv3_invitenotify">
<module name="ircv3_labeledresponse">
<module name="ircv3_msgid">
<module name="chanhistory">
<chanhistory maxlines="100" notice="no" bots="yes" prefixmsg="no">
<module name="ircv3_servertime">
<module name="namesx">
<module name="uhnames">
<module name="services_account">
<module name="sslinfo">
<module name="hidechans">
<module name="svshold">
<module name="chghost">
<module name="chgident">
<module name="spanningtree">
<module name="sasl">
<sasl target="services.test" requiressl="no">

<link name="services.test" ipaddr="127.0.0.1" port="$IRC_LINK_PORT"
    allowmask="127.0.0.0/8" sendpass="$LINK_PASS" recvpass="$LINK_PASS" hidden="no">
<uline server="services.test" silent="yes">
EOF
    printf 'Welcome to the Hearth test network (InspIRCd).\n' >"$d/motd.txt"
}

write_anope_conf() {
    local d="$RUN/anope"
    mkdir -p "$d/conf" "$d/data/backups" "$d/logs"
    cat >"$d/conf/services.conf" <<EOF
uplink
{
	host = "127.0.0.1"
	ipv6 = no
	ssl = no
	port = $IRC_LINK_PORT
	password = "$LINK_PASS"
}
serverinfo
{
	name = "services.test"
	description = "Hearth test services"
	pid = "$d/anope.pid"
	motd = "$d/conf/services.motd"
}
module
{
	name = "inspircd3"
	use_server_side_mlock = yes
	use_server_side_topiclock = yes
}
networkinfo
{
	networkname = "HearthTest"
	nicklen = 30
	userlen = 10
	hostlen = 64
	chanlen = 32
	modelistsize = 100
	vhost_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"
	allow_undotted_vhosts = false
	disallow_start_or_end = ".-"
}
options
{
	casemap = "ascii"
	strictpasswords = no
	badpasslimit = 1000
	badpasstimeout = 1h
	updatetimeout = 10s
	expiretimeout = 30m
	readtimeout = 5s
	warningtimeout = 4h
	timeoutcheck = 1s
	retrywait = 2s
	hideprivilegedcommands = yes
	hideregisteredcommands = yes
}
log
{
	target = "services.log"
	admin = "*"
	commands = "*"
	servers = "*"
	users = "connect disconnect nick"
	other = "*"
	rawio = no
	debug = no
}
mail
{
	usemail = no
	sendfrom = "services@irc.test"
}
module
{
	name = "db_flatfile"
	database = "anope.db"
	keepbackups = 3
	fork = no
	nobackupokay = yes
}
module { name = "enc_sha256" }
module { name = "m_sasl" }

service
{
	nick = "NickServ"
	user = "services"
	host = "services.test"
	gecos = "Nickname Registration Service"
}
module
{
	name = "nickserv"
	client = "NickServ"
	forceemail = no
	confirmemailchanges = no
	defaults = "ns_private hide_email hide_mask memo_signon memo_receive"
	regdelay = 0
	expire = 0
	secureadmins = yes
	modeonid = yes
	hidenetsplitquit = no
	killquick = 20s
	kill = 60s
	enforceruser = "enforcer"
	enforcerhost = "services.test"
	releasetimeout = 1m
	guestnickprefix = "Guest"
	nonicknameownership = no
	passlen = 64
}
command { service = "NickServ"; name = "HELP"; command = "generic/help"; }
module { name = "help" }
module { name = "ns_cert"; max = 5; }
command { service = "NickServ"; name = "CERT"; command = "nickserv/cert"; }
module { name = "ns_drop" }
command { service = "NickServ"; name = "DROP"; command = "nickserv/drop"; }
module { name = "ns_group"; maxaliases = 16; nogroupchange = yes; }
command { service = "NickServ"; name = "GLIST"; command = "nickserv/glist"; }
command { service = "NickServ"; name = "GROUP"; command = "nickserv/group"; }
command { service = "NickServ"; name = "UNGROUP"; command = "nickserv/ungroup"; }
module { name = "ns_identify"; maxlogins = 50; }
command { service = "NickServ"; name = "ID"; command = "nickserv/identify"; hide = true; }
command { service = "NickServ"; name = "IDENTIFY"; command = "nickserv/identify"; }
module { name = "ns_info" }
command { service = "NickServ"; name = "INFO"; command = "nickserv/info"; }
module { name = "ns_logout" }
command { service = "NickServ"; name = "LOGOUT"; command = "nickserv/logout"; }
module { name = "ns_recover"; restoreonrecover = yes; }
command { service = "NickServ"; name = "RECOVER"; command = "nickserv/recover"; }
module { name = "ns_register"; registration = "none"; resenddelay = 90s; }
command { service = "NickServ"; name = "CONFIRM"; command = "nickserv/confirm"; }
command { service = "NickServ"; name = "REGISTER"; command = "nickserv/register"; }
module { name = "ns_set" }
command { service = "NickServ"; name = "SET"; command = "nickserv/set"; }
command { service = "NickServ"; name = "SET PASSWORD"; command = "nickserv/set/password"; }
command { service = "NickServ"; name = "SET KILL"; command = "nickserv/set/kill"; }
module { name = "ns_status" }
command { service = "NickServ"; name = "STATUS"; command = "nickserv/status"; }
EOF
    printf 'Hearth test services.\n' >"$d/conf/services.motd"
}

write_ngircd_conf() {
    local d="$RUN/ngircd"
    mkdir -p "$d"
    chmod 755 "$d"
    cat >"$d/ngircd.conf" <<EOF
[Global]
	Name = ngircd.test
	Info = Hearth test server (ngIRCd)
	Network = HearthTestNg
	Listen = 127.0.0.1
	Ports = $NGIRCD_PORT
	MotdPhrase = Welcome to the Hearth test network (ngIRCd).
	AdminInfo1 = Hearth tests
	AdminInfo2 = loopback
	AdminEMail = admin@ngircd.test
[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	PingTimeout = 120
	PongTimeout = 20
[Options]
	PAM = no
	Ident = no
	DNS = no
	RequireAuthPing = no
	SyslogFacility = local5
[SSL]
	CertFile = $RUN/certs/server.pem
	KeyFile = $RUN/certs/server.key
	DHFile = $RUN/certs/dhparams.pem
	Ports = $NGIRCD_TLS_PORT
EOF
}

# ---------------------------------------------------------------- waiting
wait_port() {   # wait_port PORT DEADLINE_EPOCH
    while ! port_open "$1"; do
        [ "$(date +%s)" -lt "$2" ] || return 1
        sleep 0.1
    done
}

wait_sasl() {   # wait_sasl DEADLINE PID...: until InspIRCd offers sasl (Anope linked)
    "$PYTHON" - "$IRC_PORT" "$@" <<'EOF'
import os, socket, sys, time
port, deadline, pids = int(sys.argv[1]), float(sys.argv[2]), [int(p) for p in sys.argv[3:]]
while time.time() < deadline:
    for pid in pids:
        try:
            os.kill(pid, 0)
            with open("/proc/%d/stat" % pid) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    raise OSError("zombie")
        except OSError:
            print("process %d exited" % pid, file=sys.stderr)
            sys.exit(1)
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=3)
        s.sendall(b"CAP LS 302\r\n")
        buf, caps = b"", ""
        end = time.time() + 3
        while time.time() < end:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
            if b" LS :" in buf and b"\n" in buf.split(b" LS :", 1)[1]:
                caps = buf.decode("utf-8", "replace")
                break
        try:
            s.sendall(b"QUIT\r\n")
        except OSError:
            pass
        s.close()
        if " sasl" in caps or ":sasl" in caps:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.3)
sys.exit(1)
EOF
}

# ---------------------------------------------------------------- start/stop
start_inspircd() {
    need_bins
    ensure_certs
    local d="$RUN/inspircd" a="$RUN/anope" t0 deadline
    t0="$(date +%s%N)"
    deadline=$(( $(date +%s) + START_TIMEOUT ))
    if pid_alive "$(readpid inspircd)"; then
        if pid_alive "$(readpid anope)"; then log "inspircd already running ($(readpid inspircd))"; return 0; fi
        log "inspircd already running ($(readpid inspircd)), starting Anope"
    else
        stop_pid anope
        port_free_or_die "$IRC_PORT" IRC_PORT
        port_free_or_die "$IRC_TLS_PORT" IRC_TLS_PORT
        port_free_or_die "$IRC_LINK_PORT" IRC_LINK_PORT
        write_inspircd_conf
        : >"$d/logs/stdout.log"
        (
            cd "$d"
            ulimit -c 0
            exec setsid inspircd --runasroot --nofork --config "$d/inspircd.conf" </dev/null >>"$d/logs/stdout.log" 2>&1
        ) &
        echo $! >"$RUN/inspircd.pid"
        if ! wait_port "$IRC_LINK_PORT" "$deadline" || ! wait_port "$IRC_PORT" "$deadline" || ! wait_port "$IRC_TLS_PORT" "$deadline"; then
            log "InspIRCd did not open its ports"; show_logs "$d/logs/stdout.log" "$d/logs/ircd.log"; stop_pid inspircd; exit 1
        fi
    fi
    write_anope_conf
    : >"$a/logs/stdout.log"
    (
        cd "$a"
        ulimit -c 0
        exec setsid anope --confdir="$a/conf" --config=services.conf --dbdir="$a/data" \
            --logdir="$a/logs" --modulesdir=/usr/lib/anope --nofork </dev/null >>"$a/logs/stdout.log" 2>&1
    ) &
    echo $! >"$RUN/anope.pid"
    if ! wait_sasl "$deadline" "$(readpid inspircd)" "$(readpid anope)"; then
        log "SASL was not offered within ${START_TIMEOUT}s (Anope did not link?)"
        show_logs "$d/logs/stdout.log" "$d/logs/ircd.log" "$a/logs/stdout.log" "$a"/logs/services.log*
        stop_pid anope inspircd; exit 1
    fi
    log "InspIRCd up: plain 127.0.0.1:$IRC_PORT, TLS :$IRC_TLS_PORT, Anope linked, SASL offered after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

# Anope alone (InspIRCd stays up): for tests of "services went away / came back".
start_anope() { pid_alive "$(readpid inspircd)" || die "start inspircd first"; start_inspircd; }
stop_anope() { stop_pid anope; }

start_ngircd() {
    need_bins
    ensure_certs
    if pid_alive "$(readpid ngircd)"; then log "ngircd already running ($(readpid ngircd))"; return 0; fi
    port_free_or_die "$NGIRCD_PORT" NGIRCD_PORT
    port_free_or_die "$NGIRCD_TLS_PORT" NGIRCD_TLS_PORT
    write_ngircd_conf
    local d="$RUN/ngircd" deadline
    deadline=$(( $(date +%s) + START_TIMEOUT ))
    : >"$d/stdout.log"
    (
        cd "$d"
        ulimit -c 0
        exec setsid ngircd -n -f "$d/ngircd.conf" </dev/null >>"$d/stdout.log" 2>&1
    ) &
    echo $! >"$RUN/ngircd.pid"
    if ! wait_port "$NGIRCD_PORT" "$deadline" || ! wait_port "$NGIRCD_TLS_PORT" "$deadline"; then
        log "ngIRCd did not open its ports"; show_logs "$d/stdout.log"; stop_pid ngircd; exit 1
    fi
    log "ngIRCd up: plain 127.0.0.1:$NGIRCD_PORT, TLS :$NGIRCD_TLS_PORT"
}

stop_inspircd() { stop_pid anope inspircd; }
stop_ngircd() { stop_pid ngircd; }

which_servers() {
    case "${1:-all}" in
        all) echo "inspircd ngircd" ;;
        inspircd|ngircd|anope) echo "$1" ;;
        *) die "unknown server '$1' (inspircd, ngircd, anope or all)" ;;
    esac
}

cmd_start() { mkdir -p "$RUN"; local s; for s in $(which_servers "${1:-all}"); do "start_$s"; done; }
cmd_stop() { [ -d "$RUN" ] || return 0; local s; for s in $(which_servers "${1:-all}"); do "stop_$s"; done; }
cmd_restart() { local s; for s in $(which_servers "${1:-all}"); do "stop_$s"; "start_$s"; done; }

cmd_status() {
    local n p
    for n in inspircd anope ngircd; do
        p="$(readpid "$n")"
        if pid_alive "$p"; then echo "$n running ($p)"; else echo "$n stopped"; fi
    done
}

# ---------------------------------------------------------------- accounts and certs
cmd_ca() {
    ensure_certs >/dev/null 2>&1 || ensure_certs
    echo "$RUN/certs/server.pem"
}

cmd_gen_client_cert() {
    local name="${1:?usage: gen-client-cert NAME}"
    [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "certificate name must be letters, digits, . _ -"
    mkdir -p "$RUN/certs/clients"
    local f="$RUN/certs/clients/$name.pem"
    if [ ! -s "$f" ]; then
        local tmp; tmp="$(mktemp -d)"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 -subj "/CN=$name" \
            -keyout "$tmp/key" -out "$tmp/crt" 2>/dev/null
        cat "$tmp/crt" "$tmp/key" >"$f"
        rm -rf "$tmp"
        chmod 600 "$f"
    fi
    echo "$f"
}

# SHA-256 fingerprint as InspIRCd reports it: lowercase hex, no colons.
cmd_fingerprint() {
    local f="${1:?usage: fingerprint CERTFILE}"
    [ -r "$f" ] || die "cannot read $f"
    openssl x509 -in "$f" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}

cmd_register() {
    local acct="${1:?usage: register ACCOUNT PASSWORD}" pass="${2:?usage: register ACCOUNT PASSWORD}"
    PYTHONPATH="$HERE" "$PYTHON" - "$IRC_PORT" "$acct" "$pass" <<'EOF'
import sys
from member import register_account
port, acct, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
sys.exit(register_account("127.0.0.1", port, acct, pw))
EOF
}

cmd_certfp_add() {
    local acct="${1:?usage: certfp-add ACCOUNT PASSWORD CERTFILE}" pass="${2:?}" cert="${3:?}"
    [ -r "$cert" ] || die "cannot read $cert"
    PYTHONPATH="$HERE" "$PYTHON" - "$IRC_TLS_PORT" "$acct" "$pass" "$cert" "$RUN/certs/server.pem" <<'EOF'
import sys
from member import add_certfp
port, acct, pw, cert, ca = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
sys.exit(add_certfp("127.0.0.1", port, acct, pw, cert, cafile=ca))
EOF
}

cmd_env() {
    cat <<EOF
HEARTH_IRC_DIR=$RUN
IRC_PORT=$IRC_PORT
IRC_TLS_PORT=$IRC_TLS_PORT
IRC_LINK_PORT=$IRC_LINK_PORT
NGIRCD_PORT=$NGIRCD_PORT
NGIRCD_TLS_PORT=$NGIRCD_TLS_PORT
IRC_CA=$RUN/certs/server.pem
EOF
}

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

main() {
    local cmd="${1:-}"; shift || true
    case "$cmd" in
        deps) cmd_deps ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        restart) cmd_restart "$@" ;;
        status) cmd_status ;;
        ca) cmd_ca ;;
        register) cmd_register "$@" ;;
        certfp-add) cmd_certfp_add "$@" ;;
        gen-client-cert) cmd_gen_client_cert "$@" ;;
        fingerprint) cmd_fingerprint "$@" ;;
        env) cmd_env ;;
        -h|--help|help|"") usage ;;
        *) usage; exit 2 ;;
    esac
}
main "$@"
