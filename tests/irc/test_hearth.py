#!/usr/bin/env python3
"""Hearth's IRC transport against real servers: the real hearth binary, InspIRCd 3 + Anope 2
(TLS verified with the generated certificate as tls_ca_file, SASL PLAIN, and SASL EXTERNAL in a
second network section) and ngIRCd (plain RFC), all in one Hearth process, with member.py clients.

Expects the servers from servers.sh to be running (run.sh starts and stops them).
Environment: HEARTH (the binary), SRC (source dir). Prints one line per check and
"N passed, M failed"; exit status 1 if any failed.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from member import IrcError  # noqa: E402
from fakes import SaslHangServer, TlsListener, make_cert  # noqa: E402
from checks import HOST, IRC_PORT, IRC_TLS_PORT, NG_PORT  # noqa: E402
from checks import check, expect, finish, member, members, setup, sh  # noqa: E402

RUNDIR = os.environ.get("HEARTH_IRC_DIR", "/var/tmp/hearth-irc")
SRC = os.environ.get("SRC", os.path.dirname(os.path.dirname(HERE)))
HEARTH = os.environ.get("HEARTH", os.path.join(SRC, "build", "hearth"))
CAPS = ["message-tags", "server-time", "account-tag", "multi-prefix"]
REFUSED = "only this room's moderators"


extra_logs = []      # logs of further Hearth processes (the lag check's)


# ------------------------------------------------------------------ setup
TAG = "%x" % (os.getpid() & 0xfff)
CA = sh("ca")
BOT_PW = "hearth-bot-pw1"
sh("register", "hearthbot", BOT_PW)
sh("register", "hmod", "hmod-pw-1")
sh("register", "hearthext", "hearth-ext-pw1")
EXT_CERT = sh("gen-client-cert", "hearthext")
sh("certfp-add", "hearthext", "hearth-ext-pw1", EXT_CERT)

CH = "#group" + TAG          # InspIRCd, Hearth is op (first to join)
OPS = "#ops" + TAG           # InspIRCd, created by a member first: the member is op
KEYED = "#keyed" + TAG       # InspIRCd, +k sesame, created first by a member
INV = "#inv" + TAG           # InspIRCd, +i: Hearth gets in by INVITE
EXT = "#ext" + TAG           # InspIRCd, the EXTERNAL network section
NG = "#ng" + TAG             # ngIRCd
NGOPS = "#ngo" + TAG         # ngIRCd, member is op
NGNICK = "Hearth"            # on ngIRCd, squatted at start: Hearth takes Hearth_ then regains
NOVER = "#nover" + TAG       # InspIRCd, the tls_verify = false network section
SOFT = "#softpw" + TAG       # second Hearth: wrong SASL password, sasl_required = false
BADPW = "#badpw" + TAG       # second Hearth: wrong SASL password, sasl_required = true
WEL = "#welc" + TAG          # InspIRCd, a facilitator's room: created by fac before Hearth comes

workdir = tempfile.mkdtemp(prefix="hearth-irc-")
logpath = os.path.join(workdir, "hearth.log")


def tail_log(n=30):
    try:
        with open(logpath, errors="replace") as f:
            lines = f.readlines()[-n:]
        sys.stdout.write("----- hearth.log (last %d lines) -----\n%s" % (n, "".join(lines)))
    except OSError:
        pass


setup(width=58, on_fail=tail_log)

# Channels that must exist before Hearth arrives.
opal = member(HOST, IRC_PORT, "opal" + TAG, caps=CAPS).connect()
opal.join(OPS)
opal.join(KEYED)
opal.mode(KEYED, "+k", "sesame")
opal.join(INV)
opal.mode(INV, "+i")
ngop = member(HOST, NG_PORT, "ngop" + TAG).connect()
ngop.join(NGOPS)
squat = member(HOST, NG_PORT, NGNICK).connect()
fac = member(HOST, IRC_PORT, "fac" + TAG, caps=CAPS).connect()
fac.join(WEL)


class Keeper:
    """Answers the servers' PINGs for members that wait idle between checks (ngIRCd times out
    a silent client after about 2 minutes). release(m) before a check uses m again."""

    def __init__(self, *ms):
        self.ms, self.lock = list(ms), threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            with self.lock:
                for m in self.ms:
                    if not m.closed:
                        m.pump(0.1)
            time.sleep(0.5)

    def release(self, m):
        with self.lock:
            if m in self.ms:
                self.ms.remove(m)


keeper = Keeper(squat, ngop, fac)

config = """
[bot]
data_dir = {d}/data
log_level = debug
; these checks fire many commands as one member; the limit itself is tested in unit.room, e2e.room
room_answers_per_minute = 0

[irc.insp]
host = localhost
port = {tls}
tls = true
tls_ca_file = {ca}
nick = Hearth
alt_nicks = Hearth_
sasl_mechanism = PLAIN
sasl_username = hearthbot
channels = {ch}, {ops}, {keyed} sesame, {inv}, {wel}
moderators = hmod

[irc.ext]
host = 127.0.0.1
port = {tls}
tls = true
tls_ca_file = {ca}
tls_cert_file = {cert}
nick = HearthX
sasl_mechanism = EXTERNAL
channels = {ext}

[irc.ng]
host = 127.0.0.1
port = {ng}
tls = false
nick = {ngnick}
alt_nicks = Hearth_
channels = {ngch}, {ngops}

[irc.nover]
host = localhost
port = {tls}
tls = true
tls_verify = false
nick = HNoVerify
channels = {nover}
""".format(d=workdir, tls=IRC_TLS_PORT, ca=CA, ch=CH, ops=OPS, keyed=KEYED, inv=INV, cert=EXT_CERT,
           ext=EXT, ng=NG_PORT, ngnick=NGNICK, ngch=NG, ngops=NGOPS, nover=NOVER, wel=WEL)
cfgpath = os.path.join(workdir, "hearth.ini")
with open(cfgpath, "w") as f:
    f.write(config)
env = dict(os.environ, HEARTH_IRC_INSP_SASL_PASSWORD=BOT_PW, HEARTH_CONTENT_DIR=os.path.join(SRC, "content"))
logf = open(logpath, "w")
hearth = subprocess.Popen([HEARTH, "--config", cfgpath], stdout=logf, stderr=subprocess.STDOUT, env=env,
                          start_new_session=True)
with open(os.path.join(RUNDIR, "hearth-test.pid"), "w") as f:
    f.write(str(hearth.pid))

# A second Hearth for what must be refused: certificates (no CA file, a CA that did not sign,
# a name/IP mismatch served by fakes.TlsListener), wrong SASL passwords on the real InspIRCd+Anope
# with sasl_required true and false, and a SASL timeout (fakes.SaslHangServer: InspIRCd cannot be
# made to leave AUTHENTICATE unanswered). It runs while the first checks do and is stopped after.
work2 = tempfile.mkdtemp(prefix="hearth-irc2-")
log2path = os.path.join(work2, "hearth.log")
_, OTHER_CA = make_cert(work2, "stranger", "DNS:stranger.test")     # signed nothing of ours
MISMATCH_PEM, MISMATCH_CA = make_cert(work2, "other", "DNS:other.test")
tls_fake = TlsListener(MISMATCH_PEM)
hang = SaslHangServer()
config2 = """
[bot]
data_dir = {d}/data
log_level = debug

[irc.noca]
host = localhost
port = {tls}
nick = HNoCA
channels = #refused{tag}

[irc.wrongca]
host = localhost
port = {tls}
tls_ca_file = {otherca}
nick = HWrongCA
channels = #refused{tag}

[irc.ipmis]
host = 127.0.0.1
port = {fake}
tls_ca_file = {mismatchca}
nick = HIpMis
channels = #refused{tag}

[irc.namemis]
host = localhost
port = {fake}
tls_ca_file = {mismatchca}
nick = HNameMis
channels = #refused{tag}

[irc.badpw]
host = localhost
port = {tls}
tls_ca_file = {ca}
nick = HBadPw
sasl_mechanism = PLAIN
sasl_username = hearthbot
channels = {badpw}

[irc.softpw]
host = localhost
port = {tls}
tls_ca_file = {ca}
nick = HSoftPw
sasl_mechanism = PLAIN
sasl_username = hearthbot
sasl_required = false
channels = {soft}

[irc.hang]
host = 127.0.0.1
port = {hang}
tls = false
nick = HHangR
sasl_mechanism = PLAIN
sasl_username = someone
channels = #hangr

[irc.hangsoft]
host = 127.0.0.1
port = {hang}
tls = false
nick = HHangS
sasl_mechanism = PLAIN
sasl_username = someone
sasl_required = false
channels = #hangs
""".format(d=work2, tls=IRC_TLS_PORT, ca=CA, otherca=OTHER_CA, fake=tls_fake.port, mismatchca=MISMATCH_CA,
           tag=TAG, badpw=BADPW, soft=SOFT, hang=hang.port)
cfg2 = os.path.join(work2, "hearth.ini")
with open(cfg2, "w") as f:
    f.write(config2)
WRONG_PW = "not-the-password-9"
env2 = dict(os.environ, HEARTH_CONTENT_DIR=os.path.join(SRC, "content"),
            HEARTH_IRC_BADPW_SASL_PASSWORD=WRONG_PW, HEARTH_IRC_SOFTPW_SASL_PASSWORD=WRONG_PW,
            HEARTH_IRC_HANG_SASL_PASSWORD=WRONG_PW, HEARTH_IRC_HANGSOFT_SASL_PASSWORD=WRONG_PW,
            HEARTH_IRC_TEST_SASL_TIMEOUT_MS="2000")
log2f = open(log2path, "w")
hearth2 = subprocess.Popen([HEARTH, "--config", cfg2], stdout=log2f, stderr=subprocess.STDOUT, env=env2,
                           start_new_session=True)
with open(os.path.join(RUNDIR, "hearth-test2.pid"), "w") as f:
    f.write(str(hearth2.pid))


def wait_bot_in(m, chan, bot="Hearth", timeout=60):
    """Polls NAMES until bot is in chan; returns its prefix string (e.g. '@')."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m.send("NAMES " + chan)
        names = []
        while True:
            msg = m.wait_for(lambda x: x.command in ("353", "366") and len(x.params) >= 2
                             and chan.lower() in (p.lower() for p in x.params), 20)
            if msg.command == "366":
                break
            names += msg.text.split()
        for n in names:
            if n.lstrip("~&@%+").lower() == bot.lower():
                return n[: len(n) - len(bot)]
        time.sleep(0.5)
    raise AssertionError("%s did not join %s within %ds" % (bot, chan, timeout))


def ask(m, target, text, bot="Hearth", reply_to=None, timeout=20, quiet=2.0):
    """Sends text to target and returns Hearth's reply lines (to reply_to, default target)."""
    m.drain()
    m.privmsg(target, text)
    return m.wait_privmsg(bot, target=reply_to or target, timeout=timeout, quiet=quiet)


def log_text(path=None):
    with open(path or logpath, errors="replace") as f:
        return f.read()


def log2_lines(net):
    """The second Hearth's log lines about irc.NET."""
    return [l for l in log_text(log2path).splitlines() if " irc.%s:" % net in l or " irc.%s " % net in l]


def retry_delays(lines):
    """The "trying again in X s" delays, in order."""
    return [float(m.group(1)) for m in (re.search(r"trying again in ([0-9.]+) s", l) for l in lines) if m]


def wait_until(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.3)
    raise AssertionError("timed out after %ds: %s" % (timeout, what))


def expect_backoff(net, n=3, timeout=30):
    """At least n refusals of irc.NET logged as errors, each retry later than the one before."""
    expect(hearth2.poll() is None, "the second hearth exited: %s" % log_text(log2path)[-2000:])
    wait_until(lambda: len(retry_delays(log2_lines(net))) >= n, timeout,
               "%d retries of irc.%s; log: %s" % (n, net, log2_lines(net)[-6:]))
    d = retry_delays(log2_lines(net))[:n]
    expect(all(b > a for a, b in zip(d, d[1:])), "irc.%s: no backoff: %s" % (net, d))
    errs = [l for l in log2_lines(net) if "trying again in" in l]
    expect(all(" error " in l for l in errs), "not logged as an error: %s" % errs[:1])


def expect_nothing_sent(net):
    sent = [l for l in log2_lines(net) if "irc.%s >> " % net in l]
    expect(not sent, "irc.%s sent lines over a refused connection: %s" % (net, sent[:3]))


alice = member(HOST, IRC_TLS_PORT, "alice" + TAG, tls=True, cafile=CA, caps=CAPS)
ngmem = member(HOST, NG_PORT, "ngm" + TAG)


@check("hearth registers on InspIRCd (TLS verified, SASL PLAIN) and joins")
def _():
    alice.connect()
    alice.join(CH)
    wait_bot_in(alice, CH)
    alice.send("WHOIS Hearth")
    m = alice.wait_for(lambda x: x.command in ("330", "318"), 20)
    expect(m.command == "330" and m.params[2] == "hearthbot", "not logged in as hearthbot: %s" % m.raw)
    expect(re.search(r"TLS\S* .*certificate verified", log_text()), "no verified TLS in the log")


@check("hearth registers with SASL EXTERNAL (client certificate)")
def _():
    alice.join(EXT)
    wait_bot_in(alice, EXT, "HearthX")
    alice.drain()
    alice.send("WHOIS HearthX")
    m = alice.wait_for(lambda x: x.command in ("330", "318"), 20)
    expect(m.command == "330" and m.params[2] == "hearthext", "not logged in as hearthext: %s" % m.raw)


@check("the SASL password never reaches the log")
def _():
    import base64
    text = log_text()
    payload = base64.b64encode(b"hearthbot\0hearthbot\0" + BOT_PW.encode()).decode()
    expect(BOT_PW not in text and payload not in text, "secret in hearth.log")
    expect("AUTHENTICATE (payload hidden)" in text, "debug log should show the masked line")


@check("TLS without tls_ca_file: refused (self-signed), error, backoff")
def _():
    expect_backoff("noca")
    line = [l for l in log2_lines("noca") if "refused" in l][0]
    expect("certificate verify failed" in line or "self-signed certificate" in line, line)
    expect("localhost:%d" % IRC_TLS_PORT in line, "host not named: " + line)
    expect_nothing_sent("noca")


@check("TLS with a CA that did not sign the server's certificate: refused")
def _():
    expect_backoff("wrongca")
    line = [l for l in log2_lines("wrongca") if "refused" in l][0]
    expect("self-signed certificate" in line and "localhost:%d" % IRC_TLS_PORT in line, line)
    expect_nothing_sent("wrongca")
    w = member(HOST, IRC_PORT, "w" + TAG).connect()
    for nick in ("HNoCA", "HWrongCA"):
        w.send("WHOIS " + nick)
        m = w.wait_for(lambda x: x.command in ("311", "401"), 20)
        expect(m.command == "401", "%s is on the network: %s" % (nick, m.raw))
    w.quit()


@check("TLS host name and IP address mismatch: refused, nothing sent")
def _():
    expect_backoff("ipmis", 2)
    expect_backoff("namemis", 2)
    ip = [l for l in log2_lines("ipmis") if "refused" in l][0]
    name = [l for l in log2_lines("namemis") if "refused" in l][0]
    expect("IP address mismatch" in ip and "127.0.0.1:%d" % tls_fake.port in ip, ip)
    expect("hostname mismatch" in name and "localhost:%d" % tls_fake.port in name, name)
    expect_nothing_sent("ipmis")
    expect_nothing_sent("namemis")
    expect(tls_fake.connections >= 4, "fake TLS server saw %d connections" % tls_fake.connections)
    expect(tls_fake.received == b"", "bytes sent over a refused TLS: %r" % tls_fake.received[:200])


@check("tls_verify = false: connects and joins, with a warning")
def _():
    wait_bot_in(alice, NOVER, "HNoVerify")
    text = log_text()
    expect(re.search(r"warn .*irc\.nover: tls_verify = false", text), "no warning at start")
    expect("certificate NOT verified" in text, "handshake not logged as unverified")


@check("wrong SASL password, sasl_required = true: error, no JOIN, backoff")
def _():
    expect_backoff("badpw")
    lines = log2_lines("badpw")
    expect(any(" error " in l and "SASL PLAIN login as hearthbot failed: 904" in l for l in lines),
           "no clear SASL error: %s" % lines[-5:])
    expect(not any("irc.badpw >> JOIN" in l or "registered as" in l for l in lines), "went on registering")
    expect(WRONG_PW not in log_text(log2path), "the password reached the log")
    alice.send("NAMES " + BADPW)
    m = alice.wait_for(lambda x: x.command in ("353", "366") and BADPW.lower() in
                       (p.lower() for p in x.params), 20)
    expect(m.command == "366" or "HBadPw" not in m.text, "HBadPw joined: %s" % m.raw)


@check("wrong SASL password, sasl_required = false: warning, joins unauthenticated")
def _():
    expect(hearth2.poll() is None, "the second hearth exited")
    wait_until(lambda: "irc.softpw: joined" in log_text(log2path), 30, "HSoftPw did not join")
    wait_bot_in(alice, SOFT, "HSoftPw", timeout=5)
    expect(any("warn" in l and "SASL failed (904" in l and "going on without logging in" in l
               for l in log2_lines("softpw")), "no warning: %s" % log2_lines("softpw")[-5:])
    alice.drain()
    alice.send("WHOIS HSoftPw")
    m = alice.wait_for(lambda x: x.command in ("330", "318"), 20)
    expect(m.command == "318", "HSoftPw logged in anyway: %s" % m.raw)


@check("SASL timeout: required -> QUIT and retry; not required -> CAP END, JOIN")
def _():
    # fakes.SaslHangServer: CAP and sasl offered, AUTHENTICATE never answered (2 s test timeout)
    wait_until(lambda: len(hang.lines_of("HHangR")) >= 2, 30, "HHangR did not retry")
    conns = hang.lines_of("HHangR")
    for conn in conns[:-1]:     # the last one may still be waiting for its timeout
        expect("AUTHENTICATE PLAIN" in conn, "no AUTHENTICATE: %s" % conn)
        expect(not any(l.startswith("JOIN") or l == "CAP END" for l in conn), "went on: %s" % conn)
        expect(any(l.startswith("QUIT") for l in conn), "no QUIT: %s" % conn)
    expect(any(" error " in l and "no answer from services within 2.0 s" in l for l in log2_lines("hang")),
           "no clear timeout error: %s" % log2_lines("hang")[-4:])
    wait_until(lambda: any("JOIN #hangs" in c for c in hang.lines_of("HHangS")), 30, "HHangS did not join")
    conn = [c for c in hang.lines_of("HHangS") if "JOIN #hangs" in c][0]
    expect(conn.index("AUTHENTICATE PLAIN") < conn.index("CAP END") < conn.index("JOIN #hangs"), conn)
    expect(any("warn" in l and "going on without logging in" in l for l in log2_lines("hangsoft")),
           "no warning for the unauthenticated session")
    hearth2.send_signal(signal.SIGTERM)
    rc = hearth2.wait(15)
    expect(rc == 0, "second hearth exited with %d" % rc)
    tls_fake.close()
    hang.close()


@check("inspircd: !help, !learn, !checkin answered in the channel")
def _():
    for cmd in ("!help", "!learn", "!checkin"):
        lines = ask(alice, CH, cmd)
        expect(lines and all(m.command == "PRIVMSG" for m in lines), "%s: %r" % (cmd, lines))
        for m in lines:
            expect(len(m.raw.encode()) <= 510 + 300, "too long")  # raw includes tags
            expect(m.text.strip() != "", "empty line sent")
            expect("**" not in m.text, "markdown not rendered: %r" % m.text)


@check("!help crisis and the !help list read right as IRC text")
def _():
    lines = ask(alice, CH, "!help crisis")
    texts = [m.text for m in lines]
    expect(texts[:1] == ["!crisis"], "usage line: %r" % texts)
    expect(all("*" not in t for t in texts), "raw Markdown: %r" % texts)
    expect(any(t.startswith("Help right now") for t in texts), "no summary: %r" % texts)
    lines = ask(alice, CH, "!help")
    expect(any(m.text.startswith("- !learn [topic]: A short reading") for m in lines),
           "command and description run together: %r" % [m.text for m in lines])


@check("formatting codes and Latin-1 input are understood")
def _():
    lines = ask(alice, CH, "\x02\x0304,12!help\x0f")
    expect(lines, "no answer to a bold/colored !help")
    alice.drain()
    alice.sock.send(("PRIVMSG %s :!learn caf" % CH).encode() + b"\xe9\r\n")  # Latin-1, not UTF-8
    lines = alice.wait_privmsg("Hearth", target=CH, timeout=20, quiet=2.0)
    expect(lines, "no answer to Latin-1 input")


@check("private !help is answered in the query")
def _():
    lines = ask(alice, "Hearth", "!help", reply_to=alice.nick)
    expect(lines, "no private answer")


def hearth_lines(m, seconds):
    """What Hearth sends m (anywhere) within seconds."""
    m.pump(seconds)
    got = [x for x in m.inbox if x.command in ("PRIVMSG", "NOTICE") and (x.nick or "").lower() == "hearth"]
    m.inbox.clear()
    return got


@check("CTCP: VERSION and PING answered by NOTICE, ACTION ignored, bad CTCP harmless")
def _():
    alice.drain()
    alice.privmsg("Hearth", "\x01VERSION\x01")
    m = alice.wait_for(lambda x: x.command == "NOTICE" and x.nick == "Hearth", 20)
    expect(m.text.startswith("\x01VERSION Hearth ") and m.text.endswith("\x01"), "VERSION: %r" % m.text)
    alice.privmsg("Hearth", "\x01PING 123\x01")
    m = alice.wait_for(lambda x: x.command == "NOTICE" and x.nick == "Hearth", 20)
    expect(m.text == "\x01PING 123\x01", "PING: %r" % m.text)
    alice.privmsg("Hearth", "\x01ACTION waves\x01")
    alice.privmsg(CH, "\x01ACTION hugs everyone\x01")
    alice.privmsg(CH, "\x01VERSION\x01")          # CTCP to a channel is not for Hearth
    alice.notice("Hearth", "\x01VERSION\x01")     # a NOTICE is never answered
    got = hearth_lines(alice, 2.5)
    expect(not got, "answered ACTION / channel CTCP / NOTICE: %r" % [x.raw for x in got])
    for bad in ("\x01", "\x01\x01", "\x01VERSION", "\x01PING", "\x01PING " + "9" * 300, "\x01 \x01"):
        alice.privmsg("Hearth", bad)
    got = hearth_lines(alice, 2.5)
    for x in got:
        expect(x.command == "NOTICE" and x.text.startswith("\x01"), "odd answer to bad CTCP: %r" % x.raw)
    expect(hearth.poll() is None, "hearth died on a CTCP")
    expect(ask(alice, "Hearth", "!help", reply_to=alice.nick), "no answer after bad CTCP")


@check("!mood optin in the channel is answered privately (query)")
def _():
    alice.drain()
    alice.privmsg(CH, "!mood optin")
    lines = alice.wait_privmsg("Hearth", target=alice.nick, timeout=20, quiet=2.0)
    expect(lines, "no private answer")
    alice.pump(1)
    # the channel may only hear "I've replied to you privately", nothing of the mood log
    leaked = [m for m in alice.inbox if m.command == "PRIVMSG" and m.nick == "Hearth"
              and m.target.lower() == CH.lower() and "privately" not in m.text]
    expect(not leaked, "mood answer went to the channel: %r" % leaked)


@check("!mod help: refused for a member, allowed for a channel op")
def _():
    alice.join(OPS)
    wait_bot_in(alice, OPS)
    lines = ask(alice, OPS, "!mod help")
    expect(any(REFUSED in m.text for m in lines), "member not refused: %r" % [m.text for m in lines])
    lines = ask(opal, OPS, "!mod help")
    expect(lines and not any(REFUSED in m.text for m in lines), "op refused: %r" % [m.text for m in lines])


@check("op status is tracked through MODE -o/+o")
def _():
    opal.op(OPS, alice.nick)
    lines = ask(alice, OPS, "!mod help")
    expect(lines and not any(REFUSED in m.text for m in lines), "new op refused")
    opal.deop(OPS, opal.nick)
    lines = ask(opal, OPS, "!mod help")
    expect(any(REFUSED in m.text for m in lines), "de-opped member still moderator")


@check("an op who changes nick stays a moderator; the old nick does not")
def _():
    old = opal.nick
    wait_bot_in(opal, KEYED)
    opal.send("NICK opx" + TAG)
    opal.wait_for(lambda x: x.command == "NICK" and x.params and x.params[0] == "opx" + TAG, 20)
    lines = ask(opal, KEYED, "!mod help")
    expect(lines and not any(REFUSED in m.text for m in lines), "op refused after a nick change")
    imp = member(HOST, IRC_PORT, old, caps=CAPS).connect()   # someone else takes the old nick
    imp.join(KEYED, key="sesame")
    lines = ask(imp, KEYED, "!mod help")
    expect(any(REFUSED in m.text for m in lines), "the old nick kept op rights")
    imp.quit()
    opal.send("NICK " + old)
    opal.wait_for(lambda x: x.command == "NICK" and x.params and x.params[0] == old, 20)


@check("a configured services account (account-tag) is a moderator; its nick alone is not")
def _():
    hm = member(HOST, IRC_TLS_PORT, "hmod", tls=True, cafile=CA, caps=CAPS, sasl=("hmod", "hmod-pw-1")).connect()
    hm.join(CH)
    lines = ask(hm, CH, "!mod help")
    expect(lines and not any(REFUSED in m.text for m in lines), "account moderator refused")
    hm.quit()
    fake = member(HOST, IRC_PORT, "hmod", caps=CAPS).connect()   # same nick, not logged in
    fake.join(CH)
    lines = ask(fake, CH, "!mod help")
    expect(any(REFUSED in m.text for m in lines), "nick alone made a moderator")
    fake.quit()


@check("keyed channel joined with its key; invite to a configured channel accepted")
def _():
    wait_bot_in(opal, KEYED)
    opal.send("INVITE Hearth " + INV)
    wait_bot_in(opal, INV)


@check("kicked mid-reply: the rest of the reply is dropped, stays out until invited back")
def _():
    opal.drain()
    mark = len(log_text())
    for cmd in ("!help", "!learn", "!checkin"):
        opal.privmsg(INV, cmd)
    opal.wait_privmsg("Hearth", target=INV, count=1, timeout=20)
    opal.send("KICK %s Hearth :testing" % INV)
    opal.wait_for(lambda x: x.command == "KICK" and x.params[1].lower() == "hearth", 20)
    wait_until(lambda: "kicked from %s" % INV.lower() in log_text()[mark:].lower(), 20, "kick not seen")
    time.sleep(4)
    after = log_text()[mark:]
    after = after[after.lower().index("kicked from %s" % INV.lower()):]
    sent = re.findall(r"irc\.insp >> PRIVMSG %s .*" % re.escape(INV), after, re.I)
    expect(not sent, "replies sent to a channel Hearth was kicked from: %s" % sent[:2])
    refused = re.findall(r"irc\.insp << \S+ (?:404|442) Hearth %s .*" % re.escape(INV), after, re.I)
    expect(not refused, "server refused lines: %s" % refused[:2])
    joins = re.findall(r"irc\.insp >> JOIN %s" % re.escape(INV), after, re.I)
    expect(not joins, "Hearth rejoined after a moderator kicked it: %s" % joins[:1])
    opal.send("INVITE Hearth " + INV)
    wait_bot_in(opal, INV)
    expect(ask(opal, INV, "!help"), "no answer after the rejoin")


@check("ngircd: !help answered, every line within 512 bytes")
def _():
    ngmem.connect()
    ngmem.join(NG)
    bot = "Hearth_"
    wait_bot_in(ngmem, NG, bot)
    for cmd in ("!help", "!learn", "!checkin"):
        lines = ask(ngmem, NG, cmd, bot=bot)
        expect(lines, "no answer to " + cmd)
        for m in lines:
            expect(len(m.raw.encode("utf-8")) + 2 <= 512, "line over 512 bytes: %d" % len(m.raw))


@check("ngircd: op in a channel is a moderator, a member is not")
def _():
    keeper.release(ngop)
    ngmem.join(NGOPS)
    wait_bot_in(ngmem, NGOPS, "Hearth_")
    lines = ask(ngmem, NGOPS, "!mod help", bot="Hearth_")
    expect(any(REFUSED in m.text for m in lines), "member not refused")
    lines = ask(ngop, NGOPS, "!mod help", bot="Hearth_")
    expect(lines and not any(REFUSED in m.text for m in lines), "op refused")


@check("ngircd: nick in use -> alternate, main nick regained when freed")
def _():
    ngmem.drain()
    keeper.release(squat)
    squat.quit()
    # ngIRCd has no MONITOR: the nick comes back on the 60 s regain timer (REGAIN_MS in
    # bot/net/irc/reg.c), anywhere in that period after the quit
    m = ngmem.wait_for(lambda x: x.command == "NICK" and x.nick == "Hearth_" and x.params
                       and x.params[0] == NGNICK, 70)
    expect(m, "no NICK change")
    lines = ask(ngmem, NG, "!help", bot=NGNICK)
    expect(lines, "no answer after regaining the nick")


@check("lag: ngircd stopped (SIGSTOP) -> noticed, reconnects and rejoins")
def _():
    # A third Hearth with lag detection shortened through the test-only variables (see
    # bot/net/irc/irc.c): our own PING after 3 s of silence, the link is dead 3 s later
    # (defaults 60 s + 30 s). The main Hearth keeps the defaults and does not notice the stop.
    work3 = tempfile.mkdtemp(prefix="hearth-irc3-")
    log3 = os.path.join(work3, "hearth.log")
    extra_logs.append(log3)
    lagch = "#lag" + TAG
    with open(os.path.join(work3, "hearth.ini"), "w") as f:
        f.write("[bot]\ndata_dir = %s/data\nlog_level = debug\n\n[irc.lag]\nhost = 127.0.0.1\nport = %d\n"
                "tls = false\nnick = HLag\nalt_nicks = HLag_\nchannels = %s\n" % (work3, NG_PORT, lagch))
    env3 = dict(os.environ, HEARTH_CONTENT_DIR=os.path.join(SRC, "content"),
                HEARTH_IRC_TEST_PING_IDLE_MS="3000", HEARTH_IRC_TEST_PING_DEADLINE_MS="3000")
    h3 = subprocess.Popen([HEARTH, "--config", os.path.join(work3, "hearth.ini")], stdout=open(log3, "w"),
                          stderr=subprocess.STDOUT, env=env3, start_new_session=True)
    with open(os.path.join(RUNDIR, "hearth-test3.pid"), "w") as f:
        f.write(str(h3.pid))
    try:
        ngmem.join(lagch)
        wait_bot_in(ngmem, lagch, "HLag", timeout=30)
        with open(os.path.join(RUNDIR, "ngircd.pid")) as f:
            pid = int(f.read().strip())
        t0 = time.time()
        os.kill(pid, signal.SIGSTOP)
        try:
            wait_until(lambda: "irc.lag: no answer to PING" in log_text(log3), 30, "lag not noticed")
        finally:
            os.kill(pid, signal.SIGCONT)
        noticed = time.time() - t0
        wait_until(lambda: log_text(log3).count("irc.lag: joined") >= 2, 60, "no rejoin after the lag")
        expect(re.search(r"warn .*irc\.lag: no answer to PING \(lag over 3\.0 s\)", log_text(log3)),
               "not logged as a warning")
        deadline = time.time() + 30
        while True:   # the old session may hold HLag a moment: HLag_ first, then the regain
            try:
                wait_bot_in(ngmem, lagch, "HLag_", timeout=1)
                bot = "HLag_"
            except AssertionError:
                bot = "HLag"
            if bot == "HLag" or time.time() > deadline:
                break
            time.sleep(1)
        lines = ask(ngmem, lagch, "!help", bot=bot)
        expect(lines, "no answer after the lag reconnect")
        print("     (silence noticed after %.1f s)" % noticed)
    finally:
        h3.send_signal(signal.SIGTERM)
        try:
            h3.wait(15)
        except subprocess.TimeoutExpired:
            h3.kill()


@check("fair send queue: one member's 15 commands do not hold up another's")
def _():
    fl = member(HOST, IRC_PORT, "fl" + TAG, caps=CAPS).connect()
    fl.join(CH)
    wait_bot_in(alice, CH)
    alice.pump(6)          # let Hearth's token bucket refill
    alice.drain()
    for _ in range(15):
        fl.privmsg(CH, "!hepl")
    alice.pump(0.7)
    alice.privmsg("Hearth", "!hepl")
    order = []
    deadline = time.time() + 60
    while order.count("fl") < 15 or "me" not in order:
        m = alice.wait_for(lambda x: x.command == "PRIVMSG" and x.nick == "Hearth" and
                           x.target.lower() in (CH.lower(), alice.nick.lower()), max(0.1, deadline - time.time()))
        order.append("me" if m.target.lower() == alice.nick.lower() else "fl")
    after = len(order) - order.index("me") - 1
    print("     (private answer came after %d of the flooder's 15 answers)" % order.index("me"))
    expect(after >= 5, "waited behind the flooder: %s" % "".join("M" if o == "me" else "." for o in order))
    fl.quit()


@check("a burst of 50 commands is all answered, no Excess Flood")
def _():
    senders = [member(HOST, IRC_PORT, "b%d%s" % (i, TAG), caps=CAPS).connect() for i in range(5)]
    for s in senders:
        s.join(CH)
    alice.drain()
    t0 = time.time()
    for s in senders:
        for _ in range(10):   # 10 each: under the server's own limit of 20 for the members
            s.privmsg(CH, "!hepl")
    def answer(m):
        return (m.command == "PRIVMSG" and m.nick == "Hearth" and m.target.lower() == CH.lower()
                and "Did you mean" in m.text)
    got, deadline = [], time.time() + 120
    while len(got) < 50:   # earlier replies still arriving for others are ignored
        got.append(alice.wait_for(answer, max(0.1, deadline - time.time())))
    took = time.time() - t0
    alice.pump(3)
    extra = [m for m in alice.inbox if answer(m)]
    expect(not extra, "more answers than commands: %d" % len(extra))
    expect("Excess Flood" not in log_text(), "Hearth was disconnected for flooding")
    lines = ask(alice, CH, "!checkin")
    expect(lines, "Hearth not answering after the burst")
    print("     (50 answers in %.1f s: burst 4, then 1 line/s)" % took)
    for s in senders:
        s.quit()


# ------------------------------------------------------------------ a nick is not an identity
LOGIN_WORDS = re.compile(r"log ?in|account", re.I)
# what a member with an account sees: the consent text, the confirmation, a logged entry
CONSENT_SHOWN = re.compile(r"Before you start a mood log|mood log is ready|already opted in|Logged \*?\*?\d+/10", re.I)


def texts(lines):
    return "\n".join(m.text for m in lines)


def mood_ask(m, text):
    """A mood command sent privately; Hearth's private answer as one text."""
    return texts(ask(m, "Hearth", text, reply_to=m.nick, timeout=25))


GHOST_NOTE = "lanternmoth" + TAG          # a note no log and no later holder of the nick may see


@check("mood log without a services account: told how to log in, nothing stored")
def _():
    g = member(HOST, IRC_PORT, "ghost" + TAG, caps=CAPS).connect()
    answers = []
    try:
        g.join(CH)
        wait_bot_in(g, CH)
        # every command is tried (so that the next check has something to look for if one was
        # stored), then every answer is checked
        for cmd in ("!mood optin", "!mood optin confirm", "!mood 4 " + GHOST_NOTE, "!mood remind 09:00"):
            answers.append((cmd, mood_ask(g, cmd)))
        # in the channel too: the room hears only that a reply went elsewhere
        g.drain()
        g.privmsg(CH, "!mood 3 " + GHOST_NOTE)
        answers.append(("!mood 3 (channel)", texts(g.wait_privmsg("Hearth", target=g.nick, timeout=20, quiet=2.0))))
    finally:
        g.quit()
    for cmd, got in answers:
        expect(LOGIN_WORDS.search(got), "%s: no word about logging in to an account: %r" % (cmd, got[:300]))
        expect(not CONSENT_SHOWN.search(got), "%s: treated like a member with an account: %r" % (cmd, got[:300]))
        expect(GHOST_NOTE not in got, "%s: the note was echoed" % cmd)


@check("the next holder of a nick gets nothing of the last one's mood log")
def _():
    nick = "ghost" + TAG
    taker = member(HOST, IRC_PORT, nick, caps=CAPS).connect()   # the nick is free again: someone takes it
    answers = []
    try:
        expect(taker.nick == nick, "could not take the nick: %s" % taker.nick)
        taker.join(CH)
        wait_bot_in(taker, CH)
        for cmd in ("!mood history", "!mood export", "!mood forget", "!mood forget confirm", "!mood optout"):
            answers.append((cmd, mood_ask(taker, cmd)))
    finally:
        taker.quit()
    for cmd, got in answers:
        expect(GHOST_NOTE not in got, "%s: the first member's note was shown to the new holder" % cmd)
        expect(not re.search(r"\b\d+ entr(y|ies)\b|Latest entries|Here is your mood log|deletes everything|"
                             r"the mood log held", got, re.I),
               "%s: the new holder was shown or given a log: %r" % (cmd, got[:300]))
        expect(LOGIN_WORDS.search(got), "%s: no word about logging in: %r" % (cmd, got[:300]))


@check("a private reply is not delivered to whoever takes the nick meanwhile")
def _():
    # Hearth's queue is held back by a flooder (1 line/s after a burst of 4); vic asks for three
    # long private answers. Once the first line has reached vic, vic changes nick and another
    # client takes vic's old nick: the rest of vic's answers must not reach that client.
    vic = member(HOST, IRC_PORT, "vic" + TAG, caps=CAPS).connect()
    vic.join(CH)
    thief = member(HOST, IRC_PORT, "thf" + TAG, caps=CAPS).connect()    # in none of Hearth's channels
    fl = member(HOST, IRC_PORT, "fq" + TAG, caps=CAPS).connect()
    fl.join(CH)
    wait_bot_in(vic, CH)
    vic.pump(6)           # let Hearth's token bucket refill
    mark = len(log_text())
    for _ in range(12):
        fl.privmsg(CH, "!hepl")
    for _ in range(3):
        vic.privmsg("Hearth", "!help")
    old = vic.nick
    vic.wait_privmsg("Hearth", target=old, count=1, timeout=30)
    vic.send("NICK vx" + TAG)
    vic.wait_for(lambda x: x.command == "NICK" and x.params and x.params[0] == "vx" + TAG, 20)
    thief.send("NICK " + old)
    thief.wait_for(lambda x: x.command == "NICK" and x.params and x.params[0] == old, 20)
    got, deadline = 0, time.time() + 60
    while got < 12:       # the flooder's answers come last in the queue's rounds
        fl.wait_for(lambda x: x.command == "PRIVMSG" and x.nick == "Hearth", max(0.1, deadline - time.time()))
        got += 1
    thief.pump(4)
    stolen = [m.raw for m in thief.inbox if m.command in ("PRIVMSG", "NOTICE") and m.nick == "Hearth"]
    expect(not stolen, "the new holder of %s got %d of vic's lines: %s" % (old, len(stolen), stolen[:2]))
    after = log_text()[mark:]
    dropped = re.findall(r"irc\.insp: a private reply for %s was not sent.*" % re.escape(old), after, re.I)
    expect(dropped, "no reply was still queued when the nick passed (the check proved nothing)")
    expect(not re.search(r"irc\.insp >> PRIVMSG %s " % re.escape(old), after[after.index(dropped[0]):], re.I),
           "lines for %s sent after the drop" % old)
    print("     (%d private repl%s dropped)" % (len(dropped), "y" if len(dropped) == 1 else "ies"))
    for m in (vic, thief, fl):
        m.quit()


@check("a private reply is not delivered to who takes the nick after a quit")
def _():
    vic = member(HOST, IRC_PORT, "vq" + TAG, caps=CAPS).connect()
    vic.join(CH)
    fl = member(HOST, IRC_PORT, "fr" + TAG, caps=CAPS).connect()
    fl.join(CH)
    wait_bot_in(vic, CH)
    vic.pump(6)
    mark = len(log_text())
    for _ in range(12):
        fl.privmsg(CH, "!hepl")
    for _ in range(3):
        vic.privmsg("Hearth", "!help")
    old = vic.nick
    vic.wait_privmsg("Hearth", target=old, count=1, timeout=30)
    vic.quit()
    thief = member(HOST, IRC_PORT, old, caps=CAPS).connect()
    expect(thief.nick == old, "could not take the nick: %s" % thief.nick)
    thief.join(CH)        # and joins Hearth's channel: now a tracked, different person
    got, deadline = 0, time.time() + 60
    while got < 12:
        fl.wait_for(lambda x: x.command == "PRIVMSG" and x.nick == "Hearth", max(0.1, deadline - time.time()))
        got += 1
    thief.pump(4)
    stolen = [m.raw for m in thief.inbox if m.command in ("PRIVMSG", "NOTICE") and m.nick == "Hearth"
              and m.target.lower() == old.lower()]
    expect(not stolen, "the new holder of %s got %d of vic's lines: %s" % (old, len(stolen), stolen[:2]))
    expect(re.search(r"irc\.insp: a private reply for %s was not sent" % re.escape(old), log_text()[mark:], re.I),
           "no reply was still queued when the nick passed (the check proved nothing)")
    expect(ask(thief, "Hearth", "!help", reply_to=thief.nick), "the new holder's own question not answered")
    for m in (thief, fl):
        m.quit()


MOOD_NOTE = "quietheron" + TAG


@check("debug log: no mood note, no message body, in either direction")
def _():
    sh("register", "hmood", "hmood-pw-1")
    mm = member(HOST, IRC_TLS_PORT, "hmood" + TAG, tls=True, cafile=CA, caps=CAPS,
                sasl=("hmood", "hmood-pw-1")).connect()
    mm.join(CH)
    wait_bot_in(mm, CH)
    expect("log_level = debug" in config, "the main Hearth must run at debug for this check")
    mood_ask(mm, "!mood optin")
    got = mood_ask(mm, "!mood optin confirm")
    expect(re.search(r"ready|already opted in", got), "optin: %r" % got[:300])
    got = mood_ask(mm, "!mood 6 " + MOOD_NOTE + " by the river")
    expect(re.search(r"Logged", got), "not logged: %r" % got[:300])
    mm.drain()
    mm.privmsg(CH, "!mood 5 " + MOOD_NOTE + " in the channel")
    mm.wait_privmsg("Hearth", target=mm.nick, timeout=20, quiet=2.0)
    shown = mood_ask(mm, "!mood history") + mood_ask(mm, "!mood export")
    expect(MOOD_NOTE in shown, "the note did not come back in history/export (nothing to look for)")
    time.sleep(1)
    text = log_text()
    for secret in (MOOD_NOTE, GHOST_NOTE, "by the river", "Latest entries", "!mood"):
        expect(secret not in text, "%r is in hearth.log" % secret)
    # the lines themselves are still logged, with the text hidden
    expect(re.search(r"irc\.insp << .*PRIVMSG Hearth :\(text hidden\)", text), "incoming lines not logged")
    expect(re.search(r"irc\.insp >> PRIVMSG %s :\(text hidden\)" % re.escape(mm.nick), text, re.I),
           "outgoing lines not logged")
    mood_ask(mm, "!mood forget")
    mood_ask(mm, "!mood forget confirm")
    mm.quit()


@check("a facilitator's room: one introduction, a NOTICE welcome, status, room settings")
def _():
    keeper.release(fac)
    wait_bot_in(fac, WEL)
    said = fac.wait_privmsg("Hearth", target=WEL, timeout=20, quiet=2.0)
    intros = [l for l in said if "not therapy" in l.text]
    expect(len(intros) == 1, "introductions: %r" % [l.text for l in said])
    expect("!help" in intros[0].text, intros[0].text)
    fac.drain()
    # a member without an account joins: a NOTICE to them, never to the channel
    wm = member(HOST, IRC_PORT, "wm" + TAG, caps=CAPS).connect()
    wm.join(WEL)
    got = wm.wait_privmsg("Hearth", target=wm.nick, timeout=20, quiet=2.0)
    expect(len(got) == 1 and got[0].command == "NOTICE", "welcome: %r" % [(l.command, l.text) for l in got])
    expect(got[0].text.startswith("Welcome, wm"), got[0].text)
    fac.pump(2.0)
    chan = [m for m in fac.inbox if m.command in ("PRIVMSG", "NOTICE") and "Welcome" in m.text]
    expect(not chan, "a welcome reached the channel: %r" % [m.raw for m in chan])
    # leaves and comes back: nothing more
    wm.part(WEL)
    wm.drain()
    wm.join(WEL)
    wm.pump(3.0)
    again = [m for m in wm.inbox if m.command == "NOTICE" and "Welcome" in m.text]
    expect(not again, "welcomed twice: %r" % [m.raw for m in again])
    # status and settings (fac created the channel: an operator, so a moderator)
    text = " ".join(l.text for l in ask(fac, WEL, "!mod status"))
    for want in ("This room's setup", "Hearth: active", "Quiet hours: none", "Crisis country:",
                 "Language:", "Prefix:", "Welcome: on"):
        expect(want in text, "status lacks %r: %s" % (want, text))
    text = " ".join(l.text for l in ask(wm, WEL, "!mod set prefix ?"))
    expect(REFUSED in text, "a member changed the prefix: " + text)
    text = " ".join(l.text for l in ask(fac, WEL, "!mod set timezone europe/london"))
    expect("Europe/London" in text, text)
    text = " ".join(l.text for l in ask(fac, WEL, "!mod set country mars"))
    expect("gb" in text and "Nothing was changed" in text, text)
    text = " ".join(l.text for l in ask(fac, WEL, "!mod set prefix ?"))
    expect("?help" in text, text)
    wm.drain()
    wm.privmsg(WEL, "!about")
    wm.pump(3.0)
    old = [m for m in wm.inbox if m.command == "PRIVMSG" and (m.nick or "").lower() == "hearth"]
    expect(not old, "the old prefix still answers: %r" % [m.text for m in old])
    text = " ".join(l.text for l in ask(wm, WEL, "?help"))
    expect("?learn" in text and "!learn" not in text, text)
    text = " ".join(l.text for l in ask(fac, WEL, "?mod status"))
    expect("Time zone: Europe/London" in text and "Prefix: ?" in text, text)
    ask(fac, WEL, "?mod set prefix default")
    wm.quit()


def restart_and_check(server, port, chan, bot, tls):
    sh("restart", server)
    m = member(HOST, port, "r%s%s" % (server[:2], TAG), tls=tls, cafile=CA if tls else None).connect(timeout=60)
    m.join(chan)
    wait_bot_in(m, chan, bot, timeout=150)
    lines = ask(m, chan, "!help", bot=bot)
    expect(lines, "no answer after the restart")
    m.quit()


@check("ngircd restarted while Hearth runs: reconnects, rejoins, answers")
def _():
    restart_and_check("ngircd", NG_PORT, NG, NGNICK, False)


@check("inspircd+anope restarted: reconnects with SASL, rejoins (keyed too)")
def _():
    restart_and_check("inspircd", IRC_TLS_PORT, CH, "Hearth", True)
    m = member(HOST, IRC_PORT, "rk" + TAG).connect()
    m.join(KEYED, key="sesame")
    wait_bot_in(m, KEYED, timeout=60)
    m.send("WHOIS Hearth")
    w = m.wait_for(lambda x: x.command in ("330", "318"), 20)
    expect(w.command == "330", "not logged in after the restart: %s" % w.raw)
    m.quit()


@check("hearth is still running and stops cleanly on SIGTERM")
def _():
    expect(hearth.poll() is None, "hearth exited with %s" % hearth.returncode)
    hearth.send_signal(signal.SIGTERM)
    rc = hearth.wait(15)
    expect(rc == 0, "exit status %d" % rc)


@check("no sanitizer reports in any hearth log")
def _():
    pat = re.compile(r"ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")
    for path in [logpath, log2path] + extra_logs:
        m = pat.search(log_text(path))
        expect(not m, "%s: %s" % (path, log_text(path)[m.start():m.start() + 600] if m else ""))


for m in members:
    try:
        m.close()
    except Exception:  # noqa: BLE001
        pass
if hearth.poll() is None:
    hearth.kill()
    hearth.wait()
finish()
