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
