#!/usr/bin/env python3
"""Hearth's IRC transport, issue 17: certificate pinning, expired certificates, SCRAM and ECDSA
SASL logins, STS, and the IRCv3 a modern network sends. Real servers where Debian has one
(InspIRCd 3 + Anope 2, ngIRCd, started by run.sh), scripted servers from fakes.py otherwise
(speaking the lines of the specifications, and lying where a hostile server would).

Each check starts its own small Hearth process (its pid in $HEARTH_IRC_DIR/hearth-test-v3-*.pid,
killed by run.sh on exit). Environment: HEARTH, SRC, the servers' ports (checks.py).
Prints one line per check and "N passed, M failed" unless imported with run(finish=False).
"""

import glob
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fakes import TlsListener, make_cert, make_expired_cert  # noqa: E402
from checks import HOST, IRC_PORT, IRC_TLS_PORT  # noqa: E402
from checks import check, expect, finish, member, setup, sh  # noqa: E402

RUNDIR = os.environ.get("HEARTH_IRC_DIR", "/var/tmp/hearth-irc")
SRC = os.environ.get("SRC", os.path.dirname(os.path.dirname(HERE)))
HEARTH = os.environ.get("HEARTH", os.path.join(SRC, "build", "hearth"))
TAG = "%x" % (os.getpid() & 0xfff)
CAPS = ["message-tags", "server-time", "account-tag", "multi-prefix"]
WORK = tempfile.mkdtemp(prefix="hearth-irc-v3-")


class Hearth:
    """One hearth process with the [irc.NAME] sections given; its log in self.log."""
    count = 0

    def __init__(self, sections, env=None):
        Hearth.count += 1
        self.dir = os.path.join(WORK, "h%d" % Hearth.count)
        os.makedirs(self.dir)
        self.cfg = os.path.join(self.dir, "hearth.ini")
        self.log = os.path.join(self.dir, "hearth.log")
        with open(self.cfg, "w") as f:
            f.write("[bot]\ndata_dir = %s/data\nlog_level = debug\n\n%s" % (self.dir, sections))
        e = dict(os.environ, HEARTH_CONTENT_DIR=os.path.join(SRC, "content"))
        e.update(env or {})
        self.p = subprocess.Popen([HEARTH, "--config", self.cfg], stdout=open(self.log, "w"),
                                  stderr=subprocess.STDOUT, env=e, start_new_session=True)
        self.pidfile = os.path.join(RUNDIR, "hearth-test-v3-%d.pid" % Hearth.count)
        with open(self.pidfile, "w") as f:
            f.write(str(self.p.pid))

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout=30):
        """The first log line matching pattern (a regex); fails after timeout."""
        deadline = time.time() + timeout
        rx = re.compile(pattern)
        while time.time() < deadline:
            for line in self.text().splitlines():
                if rx.search(line):
                    return line
            if self.p.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError("no log line /%s/ within %ds; log ends: %s" %
                             (pattern, timeout, self.text()[-1500:]))

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        try:
            os.unlink(self.pidfile)
        except OSError:
            pass
        text = self.text()
        expect("runtime error:" not in text and "AddressSanitizer" not in text,
               "sanitizer report: %s" % text[-1500:])


def openssl_fp(certfile):
    """sha256 fingerprint as `openssl x509 -fingerprint -sha256` prints it: AB:CD:..."""
    out = subprocess.run(["openssl", "x509", "-in", certfile, "-noout", "-fingerprint", "-sha256"],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1]


def wait_join(m, chan, nick, timeout=40):
    m.wait_for(lambda x: x.command == "JOIN" and x.nick and x.nick.lower() == nick.lower()
               and x.params and x.params[0].lower() == chan.lower(), timeout)


CA = sh("ca")
SERVER_FP = openssl_fp(CA)                        # InspIRCd's certificate
OTHER_PEM, OTHER_CRT = make_cert(WORK, "pinother", "DNS:other.test")
OTHER_FP = openssl_fp(OTHER_CRT)
ZERO_FP = "sha256:" + "00" * 32


def run_pinning():
    chan = "#pin" + TAG
    watcher = member(HOST, IRC_TLS_PORT, "pinw" + TAG, tls=True, cafile=CA, caps=CAPS).connect()
    watcher.join(chan)
    fake = TlsListener(OTHER_PEM)
    # a pin for another certificate first, the right one second, in the two spellings
    right = SERVER_FP.replace(":", "").lower()
    h = Hearth("""
[irc.pin]
host = 127.0.0.1
port = {tls}
nick = HPin{tag}
sasl_mechanism =
channels = {chan}
tls_fingerprint = {zero}, sha256:{right}

[irc.pinfake]
host = 127.0.0.1
port = {fake}
nick = HPinF{tag}
sasl_mechanism =
channels = #pinf
tls_fingerprint = sha256:{otherfp}

[irc.pinwrong]
host = localhost
port = {fake}
nick = HPinW{tag}
sasl_mechanism =
channels = #pinw
tls_fingerprint = {zero}
""".format(tls=IRC_TLS_PORT, tag=TAG, chan=chan, zero=ZERO_FP, right=right, fake=fake.port,
           otherfp=OTHER_FP))
    try:
        @check("pinned certificate (no CA file): InspIRCd TLS, joins")
        def _():
            wait_join(watcher, chan, "HPin" + TAG)
            line = h.wait_log(r"127\.0\.0\.1:%d: TLS .*certificate pinned sha256:" % IRC_TLS_PORT)
            expect(SERVER_FP in line, "the pinned fingerprint is not logged: %s" % line)

        @check("pinned certificate: another name and self-signed accepted")
        def _():
            deadline = time.time() + 20
            while time.time() < deadline and b"NICK HPinF" not in fake.received:
                time.sleep(0.2)
            expect(b"NICK HPinF" + TAG.encode() in fake.received,
                   "no registration over the pinned connection: %r" % fake.received[:200])

        @check("fingerprint mismatch: refused in the handshake, nothing sent, prints it")
        def _():
            line = h.wait_log(r"error .*irc.pinwrong: TLS certificate of localhost:%d refused" % fake.port)
            expect(OTHER_FP in line, "the fingerprint seen is not in the error: %s" % line)
            expect("trying again" in line, "no retry: %s" % line)
            expect(b"HPinW" not in fake.received, "bytes sent after a mismatch: %r" % fake.received)
            expect(not [l for l in h.text().splitlines() if "irc.pinwrong >> " in l],
                   "lines sent over the refused connection")
    finally:
        h.stop()
        fake.close()

    @check("tls_fingerprint that is not sha256:HEX: --check-config says so")
    def _():
        cfg = os.path.join(WORK, "badfp.ini")
        with open(cfg, "w") as f:
            f.write("[irc.x]\nhost = a\nchannels = #a\nsasl_mechanism =\ntls_fingerprint = md5:00\n")
        r = subprocess.run([HEARTH, "--check-config", "--config", cfg], capture_output=True, text=True)
        expect(r.returncode != 0 and "tls_fingerprint" in r.stdout + r.stderr, r.stdout + r.stderr)


def run_expired():
    """InspIRCd restarted with an expired certificate (made here with openssl), then restored."""
    certs = os.path.join(RUNDIR, "certs")
    pem, key = os.path.join(certs, "server.pem"), os.path.join(certs, "server.key")
    saved = {p: open(p, "rb").read() for p in (pem, key)}
    exp_crt, exp_key = make_expired_cert(WORK, "expired", "DNS:localhost,IP:127.0.0.1")
    exp_ca = os.path.join(WORK, "expired-ca.pem")
    with open(exp_ca, "wb") as f:
        f.write(open(exp_crt, "rb").read())
    h = None
    try:
        for src, dst in ((exp_crt, pem), (exp_key, key)):
            with open(dst, "wb") as f:
                f.write(open(src, "rb").read())
        sh("restart", "inspircd")
        h = Hearth("""
[irc.exp]
host = localhost
port = {tls}
tls_ca_file = {ca}
nick = HExp{tag}
sasl_mechanism =
channels = #exp{tag}

[irc.exppin]
host = localhost
port = {tls}
nick = HExpP{tag}
sasl_mechanism =
channels = #expp{tag}
tls_fingerprint = sha256:{fp}
""".format(tls=IRC_TLS_PORT, ca=exp_ca, tag=TAG, fp=openssl_fp(exp_crt)))

        @check("expired server certificate: refused with a clear error")
        def _():
            line = h.wait_log(r"error .*irc.exp: TLS certificate of localhost:%d refused" % IRC_TLS_PORT)
            expect("certificate has expired" in line and "renew" in line, line)
            expect(not [l for l in h.text().splitlines() if "irc.exp >> " in l], "lines sent")

        @check("expired but pinned certificate: accepted (the pin is the check)")
        def _():
            h.wait_log(r"irc.exppin: registered as HExpP", 40)
    finally:
        if h:
            h.stop()
        for p, data in saved.items():
            with open(p, "wb") as f:
                f.write(data)
        sh("restart", "inspircd")


def run(do_finish=True):
    setup(width=62)
    run_pinning()
    run_expired()
    if do_finish:
        finish()


if __name__ == "__main__":
    run()
