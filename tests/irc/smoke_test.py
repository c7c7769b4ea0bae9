#!/usr/bin/env python3
"""Self-test of the IRC harness (no Hearth involved).

Expects the servers from servers.sh to be running (run-smoke.sh starts and stops them).
Prints one line per check and "N passed, M failed"; exit status 1 if any failed.
Set SMOKE_RESTART=0 to skip the InspIRCd restart check (about 7 s).
"""

import os
import socket
import ssl
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from member import IrcError, SaslFailed  # noqa: E402
from checks import HOST, IRC_PORT, IRC_TLS_PORT, NG_PORT, NG_TLS_PORT  # noqa: E402
from checks import check, expect, finish, member, members, sh  # noqa: E402

CA = sh("ca")
TAG = "%x" % (os.getpid() & 0xffff)
CHAN = "#smoke-" + TAG
ALICE, ALICE_PW = "smokealice", "alice-smoke-pw1"
CAROL, CAROL_PW = "smokecarol", "carol-smoke-pw1"
CAPS = ["message-tags", "server-time", "account-tag", "multi-prefix", "echo-message"]

# ------------------------------------------------------------------ setup
sh("register", ALICE, ALICE_PW)
sh("register", CAROL, CAROL_PW)
CAROL_CERT = sh("gen-client-cert", CAROL)
sh("certfp-add", CAROL, CAROL_PW, CAROL_CERT)


@check("inspircd: TLS verified against the generated cert")
def _():
    ctx = ssl.create_default_context(cafile=CA)
    with socket.create_connection((HOST, IRC_TLS_PORT), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            expect(t.version() in ("TLSv1.2", "TLSv1.3"), t.version())
    # and a client trusting only the system CAs refuses it
    try:
        with socket.create_connection((HOST, IRC_TLS_PORT), timeout=10) as s:
            ssl.create_default_context().wrap_socket(s, server_hostname="localhost")
        raise AssertionError("unverified certificate was accepted")
    except ssl.SSLCertVerificationError:
        pass


@check("inspircd: CAP LS 302 offers sasl and IRCv3 caps")
def _():
    m = member(HOST, IRC_PORT, "capls" + TAG).connect()
    for c in ("sasl", "message-tags", "server-time", "account-tag", "multi-prefix", "echo-message"):
        expect(c in m.caps_available, "missing cap %s in %s" % (c, m.caps_available))
    expect(m.isupport.get("CASEMAPPING") == "ascii", m.isupport.get("CASEMAPPING"))
    m.quit()


alice = bob = None


@check("inspircd: SASL PLAIN over TLS logs in")
def _():
    global alice
    alice = member(HOST, IRC_TLS_PORT, ALICE, tls=True, cafile=CA, sasl=(ALICE, ALICE_PW), caps=CAPS)
    alice.connect()
    expect(alice.account == ALICE, "account %r" % alice.account)
    expect("sasl" in alice.caps_enabled, alice.caps_enabled)


@check("inspircd: SASL PLAIN wrong password is refused (904)")
def _():
    m = member(HOST, IRC_PORT, "wrongpw" + TAG, sasl=(ALICE, "not-the-password"))
    try:
        m.connect()
        raise AssertionError("logged in with a wrong password")
    except SaslFailed as e:
        expect("904" in str(e), str(e))
    m.close()


@check("inspircd: two members talk in a channel over TLS")
def _():
    global bob
    bob = member(HOST, IRC_TLS_PORT, "smokebob" + TAG, tls=True, cafile=CA, caps=CAPS).connect()
    alice.join(CHAN)          # first joiner: operator
    bob.join(CHAN)
    alice.privmsg(CHAN, "hello from alice")
    m = bob.wait_privmsg(ALICE, CHAN, count=1)[0]
    expect(m.text == "hello from alice", m.text)
    expect(m.tags.get("account") == ALICE, "account tag %r" % m.tags)
    expect("time" in m.tags and "msgid" in m.tags, m.tags)
    bob.privmsg(CHAN, "hi alice, bob here")
    m = alice.wait_privmsg(bob.nick, CHAN, count=1)[0]
    expect(m.text == "hi alice, bob here", m.text)
    expect("account" not in m.tags, "bob has no account but %r" % m.tags)
    bob.privmsg(ALICE, "private hello")
    m = alice.wait_privmsg(bob.nick, ALICE, count=1)[0]
    expect(m.text == "private hello", m.text)


@check("inspircd: channel op gives +o")
def _():
    mm = alice.op(CHAN, bob.nick)
    expect(mm.params[1:] == ["+o", bob.nick], mm.params)
    seen = bob.wait_for(lambda m: m.command == "MODE" and m.params[1:] == ["+o", bob.nick], 10)
    expect(seen.nick == ALICE, seen.raw)


@check("inspircd: SASL EXTERNAL with a client certificate")
def _():
    m = member(HOST, IRC_TLS_PORT, "smokecarol" + TAG, tls=True, cafile=CA,
               certfile=CAROL_CERT, sasl="EXTERNAL", caps=CAPS).connect()
    expect(m.account == CAROL, "account %r" % m.account)
    m.join(CHAN)
    m.privmsg(CHAN, "carol via certfp")
    got = alice.wait_privmsg(m.nick, CHAN, count=1)[0]
    expect(got.tags.get("account") == CAROL, got.tags)
    m.quit()


@check("inspircd: burst of 25 lines gets Excess Flood")
def _():
    f = member(HOST, IRC_PORT, "flood" + TAG).connect()
    f.join(CHAN)
    sent = 0
    try:
        for i in range(25):
            f.privmsg(CHAN, "flood line %d" % i)
            sent += 1
    except IrcError:
        pass
    f.pump(3)
    expect(f.closed and "Excess Flood" in f.closed, "not disconnected: %r" % f.closed)
    q = alice.wait_for(lambda m: m.command == "QUIT" and m.nick == f.nick, 10)
    expect("Excess Flood" in q.text, q.raw)
    n = sum(1 for m in alice.inbox if m.command == "PRIVMSG" and m.nick == f.nick)
    print("     (flooder sent %d lines, %d reached the channel)" % (sent, n))


@check("ngircd: one message each way (plain)")
def _():
    a = member(HOST, NG_PORT, "nga" + TAG).connect()
    b = member(HOST, NG_PORT, "ngb" + TAG).connect()
    expect(a.caps_available == {"multi-prefix": ""}, a.caps_available)
    a.join(CHAN)
    b.join(CHAN)
    a.privmsg(CHAN, "hello on ngircd")
    expect(b.wait_privmsg(a.nick, CHAN, count=1)[0].text == "hello on ngircd", "a->b")
    b.privmsg(CHAN, "hello back")
    expect(a.wait_privmsg(b.nick, CHAN, count=1)[0].text == "hello back", "b->a")
    a.op(CHAN, b.nick)
    a.quit()
    b.quit()


@check("ngircd: TLS verified")
def _():
    m = member(HOST, NG_TLS_PORT, "ngtls" + TAG, tls=True, cafile=CA).connect()
    m.quit()


if os.environ.get("SMOKE_RESTART", "1") != "0":
    @check("inspircd restart keeps accounts (SASL after restart)")
    def _():
        dave = "smokedave"
        sh("register", dave, "dave-smoke-pw1")   # registered just before the restart
        for m in members:
            m.close()
        t0 = time.time()
        sh("restart", "inspircd")
        print("     (restart took %.1fs)" % (time.time() - t0))
        for acct, pw in ((ALICE, ALICE_PW), (dave, "dave-smoke-pw1")):
            m = member(HOST, IRC_PORT, acct + "r", sasl=(acct, pw)).connect()
            expect(m.account == acct, "%s: %r" % (acct, m.account))
            m.quit()
        m = member(HOST, IRC_TLS_PORT, "carolr", tls=True, cafile=CA, certfile=CAROL_CERT,
                   sasl="EXTERNAL").connect()
        expect(m.account == CAROL, m.account)
        m.quit()

for m in members:
    m.quit(timeout=1)
finish()
