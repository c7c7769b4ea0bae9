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
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from member import Member, IrcError  # noqa: E402

HOST = "127.0.0.1"
IRC_PORT = int(os.environ.get("IRC_PORT", 16667))
IRC_TLS_PORT = int(os.environ.get("IRC_TLS_PORT", 16697))
NG_PORT = int(os.environ.get("NGIRCD_PORT", 16668))
SERVERS = os.path.join(HERE, "servers.sh")
SRC = os.environ.get("SRC", os.path.dirname(os.path.dirname(HERE)))
HEARTH = os.environ.get("HEARTH", os.path.join(SRC, "build", "hearth"))
CAPS = ["message-tags", "server-time", "account-tag", "multi-prefix"]
REFUSED = "only this room's moderators"


def sh(*args):
    return subprocess.run([SERVERS, *args], check=True, capture_output=True, text=True).stdout.strip()


results = []


def check(name):
    def deco(fn):
        t0 = time.time()
        try:
            fn()
            results.append((name, True))
            print("ok   %-58s %.1fs" % (name, time.time() - t0), flush=True)
        except Exception as e:  # noqa: BLE001
            results.append((name, False))
            print("FAIL %-58s %s" % (name, e), flush=True)
            traceback.print_exc()
            tail_log()
        return fn
    return deco


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


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

workdir = tempfile.mkdtemp(prefix="hearth-irc-")
logpath = os.path.join(workdir, "hearth.log")
members = []


def member(host, port, nick, **kw):
    m = Member(host, port, nick, **kw)
    members.append(m)
    return m


def tail_log(n=30):
    try:
        with open(logpath, errors="replace") as f:
            lines = f.readlines()[-n:]
        sys.stdout.write("----- hearth.log (last %d lines) -----\n%s" % (n, "".join(lines)))
    except OSError:
        pass


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

config = """
[bot]
data_dir = {d}/data
log_level = debug

[irc.insp]
host = localhost
port = {tls}
tls = true
tls_ca_file = {ca}
nick = Hearth
alt_nicks = Hearth_
sasl_mechanism = PLAIN
sasl_username = hearthbot
channels = {ch}, {ops}, {keyed} sesame, {inv}
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
""".format(d=workdir, tls=IRC_TLS_PORT, ca=CA, ch=CH, ops=OPS, keyed=KEYED, inv=INV, cert=EXT_CERT,
           ext=EXT, ng=NG_PORT, ngnick=NGNICK, ngch=NG, ngops=NGOPS)
cfgpath = os.path.join(workdir, "hearth.ini")
with open(cfgpath, "w") as f:
    f.write(config)
env = dict(os.environ, HEARTH_IRC_INSP_SASL_PASSWORD=BOT_PW, HEARTH_CONTENT_DIR=os.path.join(SRC, "content"))
logf = open(logpath, "w")
hearth = subprocess.Popen([HEARTH, "--config", cfgpath], stdout=logf, stderr=subprocess.STDOUT, env=env,
                          start_new_session=True)
with open(os.path.join(os.environ.get("HEARTH_IRC_DIR", "/var/tmp/hearth-irc"), "hearth-test.pid"), "w") as f:
    f.write(str(hearth.pid))


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


def log_text():
    with open(logpath, errors="replace") as f:
        return f.read()


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


@check("inspircd: !help, !learn, !checkin answered in the channel")
def _():
    for cmd in ("!help", "!learn", "!checkin"):
        lines = ask(alice, CH, cmd)
        expect(lines and all(m.command == "PRIVMSG" for m in lines), "%s: %r" % (cmd, lines))
        for m in lines:
            expect(len(m.raw.encode()) <= 510 + 300, "too long")  # raw includes tags
            expect(m.text.strip() != "", "empty line sent")
            expect("**" not in m.text, "markdown not rendered: %r" % m.text)


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
    ngmem.join(NGOPS)
    wait_bot_in(ngmem, NGOPS, "Hearth_")
    lines = ask(ngmem, NGOPS, "!mod help", bot="Hearth_")
    expect(any(REFUSED in m.text for m in lines), "member not refused")
    lines = ask(ngop, NGOPS, "!mod help", bot="Hearth_")
    expect(lines and not any(REFUSED in m.text for m in lines), "op refused")


@check("ngircd: nick in use -> alternate, main nick regained when freed")
def _():
    ngmem.drain()
    squat.quit()
    m = ngmem.wait_for(lambda x: x.command == "NICK" and x.nick == "Hearth_" and x.params
                       and x.params[0] == NGNICK, 30)
    expect(m, "no NICK change")
    lines = ask(ngmem, NG, "!help", bot=NGNICK)
    expect(lines, "no answer after regaining the nick")


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


for m in members:
    try:
        m.close()
    except Exception:  # noqa: BLE001
        pass
if hearth.poll() is None:
    hearth.kill()
    hearth.wait()
passed = sum(1 for _, ok in results if ok)
failed = len(results) - passed
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
