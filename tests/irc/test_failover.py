#!/usr/bin/env python3
"""Two Hearths on one PostgreSQL store, one active for [irc.ng] (issue 13, point 4), against the
real InspIRCd (its test connect class has no fake lag, so 4 commands a second are not queued
by the server; ngIRCd throttles a client's input to a few commands a second and reads a dead
client's EOF only after its penalty time, which would measure ngIRCd, not Hearth).

Both processes run the same config; only the lease holder connects. A member sends
HEARTH_IRC_FAILOVER_LOAD (default 60) "!checkin" commands, one every 2 s, to the bot in private
while the active Hearth is SIGKILLed once (and started again as the new standby). IRC keeps no
history: a private message sent while no Hearth is connected gets ERR_NOSUCHNICK (401) from the
server, so the member knows exactly which commands nobody could hear. Every command that reached
a Hearth is answered exactly once: no reply twice, none lost beyond the commands in flight to
the killed process's socket (at most 2). The takeover time is printed. Flood control: the test
servers' connect class allows a client one command a second (more ends in "Excess Flood"), for
the member and for the bot's replies (two lines each) alike, so the load here is one command
every 2 s with the bot's default rate, not the Matrix suite's 4 per second.

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
log_level = info
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
""".format(d=workdir, port=IRC_PORT, bot=BOT, pw=LOAD_PASS))
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
m = member(HOST, IRC_PORT, "fomem" + TAG, password=LOAD_PASS).connect()


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
    m.drain()
    expect("irc.ng" not in b.log().replace(STANDBY, ""), "the standby did something on irc.ng:\n"
           + b.log()[-1500:])


@check("SIGKILL under load: every heard command answered once")
def _():
    sent = unheard = 0
    kill_at = LOAD // 3
    t_kill = None
    took = None
    victim = a
    standby = b
    mark_s = len(standby.log())
    replies = 0
    t0 = time.time()

    def collect():
        nonlocal replies, unheard
        m.pump(0)
        keep = []
        for x in m.inbox:
            if x.command == "401":
                unheard += 1
            elif x.command in ("PRIVMSG", "NOTICE") and x.nick and x.nick.lower() == BOT.lower() \
                    and "Check-in" in x.text:
                replies += 1
            else:
                keep.append(x)
        m.inbox.clear()
        m.inbox.extend(keep)

    for i in range(LOAD):
        time.sleep(max(0.0, t0 + i / RATE - time.time()))
        m.privmsg(BOT, "!checkin")
        sent += 1
        collect()
        if i == kill_at:
            victim.proc.send_signal(signal.SIGKILL)
            t_kill = time.time()
            victim.proc.wait()
        if t_kill and took is None and TOOK_OVER in standby.log()[mark_s:]:
            took = round(time.time() - t_kill, 1)
            victim.launch()  # the killed one comes back as the standby
    deadline = time.time() + 60
    while time.time() < deadline and replies + unheard < sent:
        time.sleep(0.5)
        collect()
    time.sleep(3)
    collect()
    heard = sent - unheard
    print("  figure: IRC takeover after SIGKILL: %s s; %d commands sent, %d unheard (401, nobody "
          "connected), %d answered" % (took, sent, unheard, replies), flush=True)
    expect(took is not None and took <= 15, "takeover time %s" % took)
    expect(replies <= heard, "%d replies for %d heard commands: some answered twice" % (replies, heard))
    expect(heard - replies <= 2, "%d heard commands unanswered" % (heard - replies))
    victim.wait_log(STANDBY, 30)


for p in procs:
    p.stop()
for p in procs:
    try:
        os.remove(os.path.join(RUNDIR, "hearth-test-fo-%s.pid" % p.name))
    except OSError:
        pass
finish()
