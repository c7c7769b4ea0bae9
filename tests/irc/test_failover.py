#!/usr/bin/env python3
"""Two Hearths on one PostgreSQL store, one active for [irc.ng] (issue 13, point 4), against the
real InspIRCd (ngIRCd has neither chanhistory nor msgid: this test runs on InspIRCd only).

Both processes run the same config; only the lease holder connects. The member and both Hearths
send the server password of the test InspIRCd's "load" connect class (servers.sh), which allows
20 commands a second (the default class, 1 a second, is what the flood tests check). The member
opens the channel and sets +H (chanhistory: the channel's recent lines are replayed to whoever
joins, with msgid and server-time, in a chathistory batch). It then sends
HEARTH_IRC_FAILOVER_LOAD (default 200) "!checkin" commands at 4 a second, every other one to the
channel and every other one in private, while the active Hearth is SIGKILLed once (and started
again as the new standby). With echo-message every command comes back with its msgid, and every
reply names the msgid it answers (+draft/reply), so each command's replies are counted:

- channel commands: every one answered exactly once (the new instance answers from the replay
  what the killed one took and did not answer, and what was said while nobody was there; the
  store's record of answered msgids keeps it from answering anything twice);
- private commands: IRC has no replay for them; while no Hearth holds the nick the server
  answers 401, so the member knows; every other one answered once, none twice, except at most
  2 in the killed process's socket.

The takeover time is printed. Then forged tags from a member (+batch, +msgid, +time, and server
tags a client writes) change nothing.

HEARTH_IRC_FAILOVER_LOG=debug gives both Hearths a debug log (raw lines, never a body).

Runs only with the store in PostgreSQL (tests/pg/hearth-on-pg.sh; run-all.sh's "IRC again, the
store in PostgreSQL" step); skipped otherwise. Prints "N passed, M failed" last.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from member import IrcTimeout  # noqa: E402
from checks import HOST, IRC_PORT, check, expect, finish, member, setup  # noqa: E402

SRC = os.environ.get("SRC", os.path.dirname(os.path.dirname(HERE)))
HEARTH = os.environ.get("HEARTH", os.path.join(SRC, "build", "hearth"))
RUNDIR = os.environ.get("HEARTH_IRC_DIR", "/var/tmp/hearth-irc")
LOAD = int(os.environ.get("HEARTH_IRC_FAILOVER_LOAD", "200"))
RATE = 4.0  # commands per second (the "load" connect class allows it: see servers.sh)
LOAD_PASS = "hearth-load-class"  # servers.sh's LOAD_PASS: the server password of that class
TAG = "%x" % (os.getpid() & 0xfff)
BOT = "HFail" + TAG
TOOK_OVER = "took over [irc.ng]"
STANDBY = "[irc.ng] is active in another Hearth"

if not (os.environ.get("HEARTH_REAL") and os.environ.get("HEARTH_TEST_PG_URL")):
    print("skipped: the IRC failover check needs the store in PostgreSQL (tests/pg/hearth-on-pg.sh)")
    print("0 passed, 0 failed")
    sys.exit(0)

workdir = tempfile.mkdtemp(prefix="hearth-irc-fo-")
cfgpath = os.path.join(workdir, "hearth.ini")
with open(cfgpath, "w") as f:
    f.write("""
[bot]
data_dir = {d}/data
log_level = {lvl}
room_answers_per_minute = 0

[irc.ng]
host = 127.0.0.1
port = {port}
tls = false
server_password = {pw}
rate = 12
burst = 20
nick = {bot}
channels = #fo{bot}
""".format(d=workdir, port=IRC_PORT, bot=BOT, pw=LOAD_PASS,
           lvl=os.environ.get("HEARTH_IRC_FAILOVER_LOG", "info")))
os.chmod(cfgpath, 0o600)
env = dict(os.environ, HEARTH_CONTENT_DIR=os.path.join(SRC, "content"))


class Proc:
    def __init__(self, name):
        self.name = name
        self.log_path = os.path.join(workdir, name + ".log")
        self.proc = None

    def launch(self):
        mark = len(self.log())
        logf = open(self.log_path, "a")
        self.proc = subprocess.Popen([HEARTH, "--config", cfgpath], stdout=logf, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        logf.close()
        with open(os.path.join(RUNDIR, "hearth-test-fo-%s.pid" % self.name), "w") as f:
            f.write(str(self.proc.pid))
        return mark

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_log(self, text, timeout, mark=0):
        t0 = time.time()
        while text not in self.log()[mark:]:
            if time.time() - t0 > timeout:
                raise AssertionError("'%s' not in %s within %ds:\n%s" % (text, self.log_path, timeout,
                                                                         self.log()[mark:][-2000:]))
            time.sleep(0.05)
        return time.time() - t0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def tail_logs():
    for p in procs:
        sys.stdout.write("----- %s (tail) -----\n%s\n" % (p.log_path, p.log()[-2500:]))


setup(width=50, on_fail=tail_logs)
procs = [Proc("a"), Proc("b")]
a, b = procs
CHAN = "#fo" + BOT
m = member(HOST, IRC_PORT, "fomem" + TAG, password=LOAD_PASS,
           caps=("message-tags", "server-time", "echo-message")).connect()
# The member opens the channel first (so it is its operator) and turns chanhistory on: the
# last 100 lines of 2 minutes are replayed to whoever joins (InspIRCd's +H)
m.join(CHAN)
m.mode(CHAN, "+H", "100:120")


@check("one Hearth connects, the other waits")
def _():
    a.launch()
    a.wait_log("holding the lease for [irc.ng]", 30)
    b.launch()
    b.wait_log(STANDBY, 30)
    deadline = time.time() + 30
    while True:
        m.drain()
        m.privmsg(BOT, "!checkin")
        try:
            got = m.wait_privmsg(BOT, timeout=3)
            if any("Check-in" in x.text for x in got):
                break
        except IrcTimeout:
            pass
        expect(time.time() < deadline, "the active Hearth never answered")
    while not any(x.command == "JOIN" and x.nick and x.nick.lower() == BOT.lower() for x in m.history):
        expect(time.time() < deadline, "the active Hearth never joined " + CHAN)
        m.pump(0.2)
    m.drain()
    expect("irc.ng" not in b.log().replace(STANDBY, ""), "the standby did something on irc.ng:\n"
           + b.log()[-1500:])


@check("SIGKILL under load: channel commands answered exactly once")
def _():
    """Every second command goes to the channel, every other one in private. The member has
    echo-message: each command it sent comes back with its msgid (or, in private while nobody
    holds the bot's nick, as 401), and each reply names the msgid it answers (+draft/reply)."""
    kill_at = LOAD // 3
    t_kill = None
    took = None
    victim, standby = a, b
    mark_s = len(standby.log())
    kinds = []           # per command sent, in order: "chan" or "priv"
    fate = []            # per command, in the order the server answered: msgid, or "401"
    replies = {}         # msgid -> number of "Check-in" reply lines naming it
    stray = []           # replies naming no msgid we sent
    me = m.nick.lower()

    def collect():
        m.pump(0)
        keep = []
        for x in m.inbox:
            if x.command == "401" and len(x.params) > 1 and x.params[1].lower() == BOT.lower():
                fate.append("401")
            elif x.command == "PRIVMSG" and x.nick and x.nick.lower() == me:
                fate.append(x.tags.get("msgid") or "?")      # our own command, echoed
            elif x.command in ("PRIVMSG", "NOTICE") and x.nick and x.nick.lower() == BOT.lower() \
                    and "Check-in" in x.text:
                rid = x.tags.get("+draft/reply")
                if rid:
                    replies[rid] = replies.get(rid, 0) + 1
                else:
                    stray.append(x.raw)
            else:
                keep.append(x)
        m.inbox.clear()
        m.inbox.extend(keep)

    def owed():
        n = 0
        for kind, f in zip(kinds, fate):
            if f != "401" and replies.get(f, 0) == 0:
                n += 1
        return n + len(kinds) - len(fate)

    m.drain()
    t0 = time.time()
    for i in range(LOAD):
        time.sleep(max(0.0, t0 + i / RATE - time.time()))
        kind = "chan" if i % 2 == 0 else "priv"
        m.privmsg(CHAN if kind == "chan" else BOT, "!checkin")
        kinds.append(kind)
        collect()
        if i == kill_at:
            victim.proc.send_signal(signal.SIGKILL)
            t_kill = time.time()
            victim.proc.wait()
        if t_kill and took is None and TOOK_OVER in standby.log()[mark_s:]:
            took = round(time.time() - t_kill, 1)
            victim.launch()  # the killed one comes back as the standby
    deadline = time.time() + 60
    while time.time() < deadline and owed() > 2:
        time.sleep(0.5)
        collect()
    time.sleep(3)
    collect()
    expect(len(fate) == len(kinds), "%d commands sent, the server answered %d" % (len(kinds), len(fate)))
    chan = [f for k, f in zip(kinds, fate) if k == "chan"]
    priv = [f for k, f in zip(kinds, fate) if k == "priv"]
    bounced = priv.count("401")
    chan_once = sum(1 for f in chan if replies.get(f, 0) == 1)
    priv_once = sum(1 for f in priv if f != "401" and replies.get(f, 0) == 1)
    twice = {f: n for f, n in replies.items() if n > 1}
    priv_lost = [f for f in priv if f != "401" and replies.get(f, 0) == 0]
    print("  figure: IRC takeover after SIGKILL: %s s; %d commands at %g/s: channel %d/%d answered "
          "once; private %d answered once, %d bounced with 401 (nobody held the nick), %d lost in the "
          "killed process's socket" % (took, LOAD, RATE, chan_once, len(chan), priv_once, bounced,
                                       len(priv_lost)), flush=True)
    expect(took is not None and took <= 15, "takeover time %s" % took)
    expect(not twice, "answered more than once: %s" % twice)
    expect(not stray, "replies that name no command: %s" % stray[:3])
    expect("?" not in chan, "a channel command came back without a msgid")
    expect(chan_once == len(chan), "channel commands not answered exactly once: %s" %
           [(f, replies.get(f, 0)) for f in chan if replies.get(f, 0) != 1][:10])
    expect(len(priv_lost) <= 2, "%d private commands neither answered nor bounced" % len(priv_lost))
    expect(set(replies) <= set(chan + priv), "a reply to a command never sent")
    victim.wait_log(STANDBY, 30)


@check("forged tags from a member change nothing")
def _():
    """Client-only tags (+batch, +msgid, +time) are the member's own words, never the server's:
    the command is live and answered once, naming the server's msgid; a server tag a client
    writes (batch=, msgid=) is dropped by the server."""
    for forged in ("@+batch=1;+msgid=forged1;+time=2020-01-01T00:00:00.000Z",
                   "@batch=1;msgid=forged2;time=2020-01-01T00:00:00.000Z"):
        m.drain()
        m.send("%s PRIVMSG %s :!checkin" % (forged, CHAN))
        echo = m.wait_for(lambda x: x.command == "PRIVMSG" and x.nick and x.nick.lower() == m.nick.lower(), 10)
        mid = echo.tags.get("msgid")
        expect(mid and "forged" not in mid, "the server kept a forged msgid: %s" % echo.raw)
        got = m.wait_privmsg(BOT, target=CHAN, timeout=15, quiet=3)
        named = [x.tags.get("+draft/reply") for x in got if "Check-in" in x.text]
        expect(named == [mid], "forged %s: replies named %s, want [%s]" % (forged, named, mid))


for p in procs:
    p.stop()
for p in procs:
    try:
        os.remove(os.path.join(RUNDIR, "hearth-test-fo-%s.pid" % p.name))
    except OSError:
        pass
finish()
