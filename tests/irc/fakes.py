"""Tiny loopback servers for the two things the real IRC servers cannot show (stdlib only).

- TlsListener: presents a certificate made for another name (a hostname/IP mismatch). InspIRCd
  serves one certificate whose SAN has both localhost and 127.0.0.1, so a mismatch needs a
  second listener with a second certificate. It records every byte received after a completed
  handshake: a client that refuses the certificate must leave this empty.
- SaslHangServer: offers `sasl`, ACKs it, then never answers AUTHENTICATE (InspIRCd with Anope
  always answers, and cannot be made to hang). After `CAP END` it welcomes the client so the
  sasl_required = false path can be followed to its JOIN.

Everything listens on 127.0.0.1 on a free port (.port) and runs in daemon threads.
"""

import os
import socket
import ssl
import subprocess
import threading
import time


def make_cert(dirpath, name, san):
    """A self-signed certificate for CN=name with subjectAltName san (e.g. "DNS:other.test").
    Returns (path of cert+key in one PEM file, path of the certificate alone)."""
    path = os.path.join(dirpath, name + ".pem")
    key = os.path.join(dirpath, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-sha256", "-subj", "/CN=" + name, "-addext", "subjectAltName=" + san,
                    "-keyout", key, "-out", path + ".crt"], check=True, capture_output=True)
    with open(path, "w") as out:
        for f in (path + ".crt", key):
            with open(f) as inp:
                out.write(inp.read())
    return path, path + ".crt"


class _Listener:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class TlsListener(_Listener):
    def __init__(self, certfile):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certfile)
        self.handshakes_ok = 0
        self.handshake_errors = []
        self.received = b""
        super().__init__()

    def _serve(self, conn):
        conn.settimeout(10)
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as s:
                with self.lock:
                    self.handshakes_ok += 1
                s.sendall(b":mismatch.test NOTICE * :*** hello\r\n")
                while True:
                    data = s.recv(4096)
                    if not data:
                        return
                    with self.lock:
                        self.received += data
        except (ssl.SSLError, OSError) as e:
            with self.lock:
                self.handshake_errors.append(str(e))
        finally:
            conn.close()


class SaslHangServer(_Listener):
    def __init__(self):
        self.lines = []          # (connection number, line) in arrival order
        super().__init__()

    def lines_of(self, nick):
        """The lines of every connection that sent NICK nick, as a list per connection."""
        with self.lock:
            conns = {}
            for n, l in self.lines:
                conns.setdefault(n, []).append(l)
        return [ls for ls in conns.values() if ("NICK " + nick) in ls]

    def _serve(self, conn):
        with self.lock:
            num = self.connections
        conn.settimeout(60)
        buf, nick = b"", "*"
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.rstrip(b"\r").decode("utf-8", "replace")
                    with self.lock:
                        self.lines.append((num, line))
                    words = line.split(" ")
                    cmd = words[0].upper()
                    out = []
                    if cmd == "NICK" and len(words) > 1:
                        nick = words[1]
                    elif cmd == "CAP" and len(words) > 1 and words[1].upper() == "LS":
                        out.append(":hang.test CAP * LS :sasl=PLAIN")
                    elif cmd == "CAP" and len(words) > 1 and words[1].upper() == "REQ":
                        out.append(":hang.test CAP * ACK :" + line.split(":", 1)[1])
                    elif cmd == "CAP" and len(words) > 1 and words[1].upper() == "END":
                        out.append(":hang.test 001 %s :Welcome %s!u@127.0.0.1" % (nick, nick))
                        out.append(":hang.test 422 %s :No MOTD" % nick)
                    elif cmd == "PING":
                        out.append(":hang.test PONG hang.test :" + line.split(" ", 1)[-1].lstrip(":"))
                    elif cmd == "JOIN" and len(words) > 1:
                        out.append(":%s!u@127.0.0.1 JOIN %s" % (nick, words[1]))
                    elif cmd == "QUIT":
                        return
                    # AUTHENTICATE: deliberately no answer
                    for o in out:
                        conn.sendall((o + "\r\n").encode())
        except OSError:
            return
        finally:
            conn.close()


def make_expired_cert(dirpath, name, san):
    """A self-signed certificate for CN=name, subjectAltName san, valid only in January 2020
    (`openssl ca` sets the dates; `req -x509` cannot make a past one). Returns (cert, key)."""
    d = os.path.join(dirpath, name + "-ca")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "index.txt"), "w"):
        pass
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("01\n")
    cnf = os.path.join(d, "ca.cnf")
    with open(cnf, "w") as f:
        f.write("[ca]\ndefault_ca = c\n[c]\ndir = %s\ndatabase = %s/index.txt\nnew_certs_dir = %s\n"
                "serial = %s/serial\ndefault_md = sha256\npolicy = p\ncopy_extensions = copy\n"
                "unique_subject = no\n[p]\ncommonName = supplied\n" % (d, d, d, d))
    key, csr, crt = (os.path.join(dirpath, name + x) for x in (".key", ".csr", ".crt"))
    subprocess.run(["openssl", "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=" + san, "-keyout", key, "-out", csr],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "ca", "-batch", "-notext", "-config", cnf, "-selfsign", "-keyfile", key,
                    "-in", csr, "-startdate", "20200101000000Z", "-enddate", "20200201000000Z",
                    "-out", crt], check=True, capture_output=True)
    return crt, key


def _b64(b):
    import base64
    return base64.b64encode(b).decode()


def _unb64(s):
    import base64
    return base64.b64decode(s, validate=True) if s != "+" else b""


class SaslServer(_Listener):
    """A scripted IRC server for the SASL mechanisms InspIRCd + Anope 2.0 lack: SCRAM-SHA-256/512
    (RFC 5802/7677, the exact messages of the RFC's exchange) and ECDSA-NIST256P-CHALLENGE (as
    Atheme: the account name, a 32-byte challenge, a DER signature of it, checked with
    `openssl pkeyutl -verify` against pubkey). `mode` makes it hostile:

      ok           a correct exchange, 900 + 903
      badsig       SCRAM: a wrong server signature in v= (a server that does not know the password)
      no-final     SCRAM: 903 right after the client's proof, with no v= at all
      iter-low / iter-huge / iter-junk    SCRAM: i=1, i=4000000000, i=12x
      bad-nonce    SCRAM: a server nonce that does not start with the client's
      bad-b64      the server's first message is not base64
      overlong     the server's first message is 12 chunks of 400 bytes (past the client's cap)
      switch       offers the mechanism in CAP LS, then answers AUTHENTICATE with 908 PLAIN + 904
      e-error      SCRAM: e=invalid-proof
      later        no sasl in CAP LS (services away); CAP NEW sasl=... after the client's JOIN
      silent       as InspIRCd 3: no sasl in CAP LS before CAP END, sasl in any CAP LS after it,
                   and never a CAP NEW
      silent-fail  the same, and every login attempt answered with 904

    After CAP END it welcomes the client and echoes JOINs; self.joined lists channels joined,
    self.lines (conn, line) everything received, self.verified the SASL logins it accepted."""

    def __init__(self, mechs, mode="ok", user="hearthuser", password="", iters=4096, pubkey=None):
        self.mechs, self.mode, self.user, self.password = mechs, mode, user, password
        self.iters, self.pubkey = iters, pubkey
        self.lines, self.joined, self.verified, self.errors = [], [], [], []
        super().__init__()

    def _scram(self, st, mech, data):
        import hashlib
        import hmac
        name = "sha512" if mech.endswith("512") else "sha256"
        H = lambda b: hashlib.new(name, b).digest()  # noqa: E731
        HM = lambda k, b: hmac.new(k, b, name).digest()  # noqa: E731
        if st["step"] == 1:
            first = data.decode()
            expect_prefix = "n,,n=%s,r=" % self.user
            if not first.startswith(expect_prefix):
                self.errors.append("bad client-first " + first)
                return None
            st["bare"] = first[3:]
            cnonce = first[len(expect_prefix):]
            snonce = ("X" + cnonce if self.mode == "bad-nonce" else cnonce) + "srvNONCE4242"
            it = {"iter-low": "1", "iter-huge": "4000000000", "iter-junk": "12x"}.get(self.mode, str(self.iters))
            st["salt"] = b"hearth-salt-0123"
            st["sfirst"] = "r=%s,s=%s,i=%s" % (snonce, _b64(st["salt"]), it)
            return st["sfirst"].encode()
        if st["step"] == 2:
            final = data.decode()
            without, _, proof = final.rpartition(",p=")
            auth = ("%s,%s,%s" % (st["bare"], st["sfirst"], without)).encode()
            salted = hashlib.pbkdf2_hmac(name, self.password.encode(), st["salt"], self.iters)
            ckey = HM(salted, b"Client Key")
            csig = HM(H(ckey), auth)
            want = bytes(a ^ b for a, b in zip(ckey, csig))
            if not without.startswith("c=biws,r=") or _unb64(proof) != want:
                self.errors.append("bad proof")
                return "e=invalid-proof".encode()
            self.verified.append(mech)
            if self.mode == "no-final":
                return "903"
            if self.mode == "e-error":
                return b"e=invalid-proof"
            ssig = HM(HM(salted, b"Server Key"), auth)
            if self.mode == "badsig":
                ssig = bytes([ssig[0] ^ 1]) + ssig[1:]
            return ("v=" + _b64(ssig)).encode()
        return None

    def _ecdsa(self, st, data):
        import tempfile
        if st["step"] == 1:
            if data != self.user.encode():
                self.errors.append("ecdsa: account %r" % data)
                return None
            st["challenge"] = os.urandom(32)
            return st["challenge"]
        if st["step"] == 2:
            with tempfile.TemporaryDirectory() as d:
                for n, b in (("c", st["challenge"]), ("s", data)):
                    with open(os.path.join(d, n), "wb") as f:
                        f.write(b)
                r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", self.pubkey,
                                    "-in", os.path.join(d, "c"), "-sigfile", os.path.join(d, "s")],
                                   capture_output=True)
            if r.returncode != 0:
                self.errors.append("ecdsa: bad signature")
                return "904"
            self.verified.append("ECDSA")
            return "903"
        return None

    def _serve(self, conn):
        with self.lock:
            num = self.connections
        conn.settimeout(60)
        buf, nick = b"", "*"
        st = {"step": 0, "mech": None, "chunks": ""}

        def send(*ls):
            for o in ls:
                conn.sendall((o + "\r\n").encode())

        def send_sasl(b):
            s = _b64(b) if b else ""
            chunks = [s[i:i + 400] for i in range(0, len(s), 400)] or [""]
            for c in chunks:
                send("AUTHENTICATE " + (c or "+"))
            if s and len(chunks[-1]) == 400:
                send("AUTHENTICATE +")

        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.rstrip(b"\r").decode("utf-8", "replace")
                    with self.lock:
                        self.lines.append((num, line))
                    words = line.split(" ")
                    cmd = words[0].upper()
                    if cmd == "NICK" and len(words) > 1:
                        nick = words[1]
                    elif cmd == "CAP" and len(words) > 1 and words[1].upper() == "LS":
                        if self.mode == "later" or (self.mode.startswith("silent") and not st.get("reg")):
                            send(":sasl.test CAP * LS :message-tags cap-notify")
                        else:
                            send(":sasl.test CAP * LS :sasl=%s message-tags" % self.mechs)
                    elif cmd == "CAP" and len(words) > 1 and words[1].upper() == "REQ":
                        send(":sasl.test CAP * ACK :" + line.split(":", 1)[1])
                    elif cmd == "CAP" and len(words) > 1 and words[1].upper() == "END":
                        st["reg"] = True
                        send(":sasl.test 001 %s :Welcome %s!u@127.0.0.1" % (nick, nick),
                             ":sasl.test 422 %s :No MOTD" % nick)
                    elif cmd == "AUTHENTICATE" and st["mech"] is None:
                        st["mech"] = words[1]
                        if self.mode == "switch":
                            send(":sasl.test 908 %s PLAIN :are available SASL mechanisms" % nick,
                                 ":sasl.test 904 %s :SASL authentication failed" % nick)
                        elif self.mode == "silent-fail":
                            st["mech"] = None
                            send(":sasl.test 904 %s :SASL authentication failed" % nick)
                        elif self.mode == "bad-b64":
                            send("AUTHENTICATE +")
                            st["step"] = 0
                        else:
                            send("AUTHENTICATE +")
                    elif cmd == "AUTHENTICATE":
                        arg = words[1] if len(words) > 1 else ""
                        if arg == "*":
                            send(":sasl.test 906 %s :SASL authentication aborted" % nick)
                            continue
                        st["chunks"] += "" if arg == "+" else arg
                        if len(arg) == 400:
                            continue
                        payload, st["chunks"] = _unb64(st["chunks"]) if st["chunks"] else b"", ""
                        st["step"] += 1
                        if self.mode == "bad-b64" and st["step"] == 1:
                            send("AUTHENTICATE not*base64!")
                            continue
                        if self.mode == "overlong" and st["step"] == 1:
                            send(*["AUTHENTICATE " + "A" * 400] * 12)
                            continue
                        if st["mech"].startswith("SCRAM") and st["step"] == 3:
                            # the client's empty answer to v=
                            send(":sasl.test 900 %s %s!u@h %s :You are now logged in" % (nick, nick, self.user),
                                 ":sasl.test 903 %s :SASL authentication successful" % nick)
                            continue
                        out = (self._scram(st, st["mech"], payload) if st["mech"].startswith("SCRAM")
                               else self._ecdsa(st, payload))
                        if out is None:
                            send(":sasl.test 904 %s :SASL authentication failed" % nick)
                        elif out == "903":
                            send(":sasl.test 900 %s %s!u@h %s :You are now logged in" % (nick, nick, self.user),
                                 ":sasl.test 903 %s :SASL authentication successful" % nick)
                        elif out == "904":
                            send(":sasl.test 904 %s :SASL authentication failed" % nick)
                        else:
                            send_sasl(out)
                    elif cmd == "PING":
                        send(":sasl.test PONG sasl.test :" + line.split(" ", 1)[-1].lstrip(":"))
                    elif cmd == "JOIN" and len(words) > 1:
                        with self.lock:
                            self.joined.append(words[1])
                        send(":%s!u@127.0.0.1 JOIN %s" % (nick, words[1]))
                        if self.mode == "later":
                            send(":sasl.test CAP %s NEW :sasl=%s" % (nick, self.mechs))
                    elif cmd == "QUIT":
                        return
        except (OSError, ValueError) as e:
            with self.lock:
                self.errors.append("server: %r" % e)
            return
        finally:
            conn.close()


class MiniIrc(_Listener):
    """A minimal IRC server, plain or TLS (certfile), whose CAP LS offers `caps` (a string such
    as "sts=port=6697,duration=300 message-tags"; may be changed between connections). It welcomes
    after CAP END and echoes JOINs. self.sessions counts registrations seen (NICK lines),
    self.joined the channels joined, self.lines (conn, line) all input."""

    def __init__(self, caps, certfile=None, after_join=()):
        self.caps = caps
        self.after_join = list(after_join)    # raw lines sent after the client's first JOIN
        self.ctx = None
        if certfile:
            self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ctx.load_cert_chain(certfile)
        self.lines, self.joined, self.handshake_errors = [], [], []
        self.sessions = 0
        super().__init__()

    def _serve(self, conn):
        with self.lock:
            num = self.connections
        conn.settimeout(60)
        if self.ctx:
            try:
                conn = self.ctx.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError) as e:
                with self.lock:
                    self.handshake_errors.append(str(e))
                conn.close()
                return
        buf, nick = b"", "*"

        def send(*ls):
            for o in ls:
                conn.sendall((o + "\r\n").encode())
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.rstrip(b"\r").decode("utf-8", "replace")
                    with self.lock:
                        self.lines.append((num, line))
                    words = line.split(" ")
                    cmd = words[0].upper()
                    if cmd == "NICK" and len(words) > 1:
                        nick = words[1]
                        with self.lock:
                            self.sessions += 1
                    elif cmd == "CAP" and len(words) > 1 and words[1].upper() == "LS":
                        send(":mini.test CAP * LS :" + self.caps)
                    elif cmd == "CAP" and len(words) > 1 and words[1].upper() == "REQ":
                        send(":mini.test CAP * ACK :" + line.split(":", 1)[1])
                    elif cmd == "CAP" and len(words) > 1 and words[1].upper() == "END":
                        send(":mini.test 001 %s :Welcome %s!u@127.0.0.1" % (nick, nick),
                             ":mini.test 422 %s :No MOTD" % nick)
                    elif cmd == "PING":
                        send(":mini.test PONG mini.test :" + line.split(" ", 1)[-1].lstrip(":"))
                    elif cmd == "JOIN" and len(words) > 1:
                        with self.lock:
                            self.joined.append(words[1])
                        send(":%s!u@127.0.0.1 JOIN %s" % (nick, words[1]))
                        if self.after_join:
                            for l in self.after_join:
                                time.sleep(0.3)
                                send(l.replace("$nick", nick).replace("$chan", words[1]))
                            self.after_join = []
                    elif cmd == "QUIT":
                        return
        except (OSError, ValueError):
            return
        finally:
            conn.close()
