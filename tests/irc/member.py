"""A scriptable IRC member for Hearth's IRC integration tests (stdlib only).

    from member import Member
    m = Member("127.0.0.1", 16697, "alice", tls=True, cafile=ca,
               sasl=("alice", "secret-pw"), caps=["message-tags", "server-time"])
    m.connect()                      # CAP LS 302, CAP REQ, SASL, CAP END, waits for 001
    m.join("#group")                 # waits for our own JOIN and end of NAMES
    m.privmsg("#group", "!checkin")
    replies = m.wait_privmsg("hearth", target="#group")   # list of Message
    m.quit()

Every received line is parsed into a Message and kept in an inbox until a wait_* call
consumes it, so nothing that arrived before the wait is missed. PING is answered
automatically. All waits raise IrcTimeout (a TimeoutError) on timeout and IrcClosed when
the server closes the connection (with the ERROR text, e.g. "Excess Flood").
"""

import base64
import os
import select
import socket
import ssl
import time

__all__ = ["Member", "Message", "parse_line", "IrcError", "IrcTimeout", "IrcClosed",
           "SaslFailed", "register_account", "add_certfp"]

MAX_LINE = 8191 + 512


class IrcError(Exception):
    pass


class IrcTimeout(IrcError, TimeoutError):
    pass


class IrcClosed(IrcError, ConnectionError):
    pass


class SaslFailed(IrcError):
    pass


# --------------------------------------------------------------------------- parsing

_TAG_ESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}


def _unescape_tag(v):
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\":
            if i + 1 < len(v):
                out.append(_TAG_ESCAPES.get(v[i + 1], v[i + 1]))
                i += 2
                continue
            i += 1          # trailing lone backslash is dropped
            continue
        out.append(c)
        i += 1
    return "".join(out)


class Message:
    """One parsed IRC line.

    tags: dict (value "" for a key without value); prefix: "nick!user@host" or server or None;
    nick/user/host: from the prefix; command: upper-case word or 3-digit numeric;
    params: list of str (trailing included as the last one); raw: the line without CRLF.
    """

    __slots__ = ("raw", "tags", "prefix", "nick", "user", "host", "command", "params", "time")

    def __init__(self, raw, tags, prefix, command, params):
        self.raw, self.tags, self.prefix, self.command, self.params = raw, tags, prefix, command, params
        self.nick = self.user = self.host = None
        if prefix:
            rest = prefix
            if "@" in rest:
                rest, self.host = rest.split("@", 1)
            if "!" in rest:
                rest, self.user = rest.split("!", 1)
            self.nick = rest
        self.time = time.time()

    @property
    def target(self):
        return self.params[0] if self.params else None

    @property
    def text(self):
        return self.params[-1] if self.params else ""

    def __repr__(self):
        return "Message(%r)" % self.raw


def parse_line(line):
    """Parse one line (str, without CRLF) per the IRCv3 message format. None if empty."""
    raw = line
    line = line.rstrip("\r\n")
    tags = {}
    if line.startswith("@"):
        sp = line.find(" ")
        tagstr, line = (line[1:], "") if sp < 0 else (line[1:sp], line[sp + 1:])
        for item in tagstr.split(";"):
            if not item:
                continue
            k, _, v = item.partition("=")
            tags[k] = _unescape_tag(v)
    line = line.lstrip(" ")
    prefix = None
    if line.startswith(":"):
        sp = line.find(" ")
        prefix, line = (line[1:], "") if sp < 0 else (line[1:sp], line[sp + 1:])
    params = []
    while True:
        line = line.lstrip(" ")
        if not line:
            break
        if line.startswith(":"):
            params.append(line[1:])
            break
        sp = line.find(" ")
        if sp < 0:
            params.append(line)
            break
        params.append(line[:sp])
        line = line[sp + 1:]
    if not params:
        return None
    command = params.pop(0).upper()
    return Message(raw.rstrip("\r\n"), tags, prefix, command, params)


def _lower(s):
    return s.lower() if s is not None else None


# --------------------------------------------------------------------------- client

class Member:
    def __init__(self, host, port, nick, tls=False, cafile=None, sasl=None, caps=(),
                 certfile=None, user=None, realname=None, password=None,
                 verify=True, server_hostname="localhost", log=None):
        """sasl: (account, password) for SASL PLAIN, or "EXTERNAL" (needs certfile).
        caps: capabilities to request when offered (sasl is added automatically).
        certfile: PEM with client certificate and key (for SASL EXTERNAL / CertFP).
        log: a callable(str) to trace traffic, or None (env HEARTH_IRC_TRACE=1 prints)."""
        self.host, self.port, self.nick = host, int(port), nick
        self.tls, self.cafile, self.certfile, self.verify = tls, cafile, certfile, verify
        self.server_hostname = server_hostname
        self.sasl, self.want_caps = sasl, list(caps)
        self.user = user or nick[:10]
        self.realname = realname or ("Hearth test member " + nick)
        self.password = password
        self.sock = None
        self.buf = b""
        self.inbox = []           # unconsumed Messages
        self.history = []         # every Message received (for debugging)
        self.closed = None        # None while open, else the reason (ERROR text or "EOF")
        self.caps_available = {}  # from CAP LS: name -> value ("" if none)
        self.caps_enabled = set()
        self.account = None       # set by 900 (logged in)
        self.isupport = {}
        self.welcome = None       # the 001 Message
        if log is None and os.environ.get("HEARTH_IRC_TRACE"):
            log = lambda s, n=nick: print("[%s] %s" % (n, s), flush=True)
        self.log = log

    # ---------------------------------------------------------------- transport
    def _open(self, timeout):
        s = socket.create_connection((self.host, self.port), timeout=timeout)
        if self.tls:
            if self.verify:
                ctx = ssl.create_default_context(cafile=self.cafile)
            else:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if self.certfile:
                ctx.load_cert_chain(self.certfile)
            s = ctx.wrap_socket(s, server_hostname=self.server_hostname)
        s.settimeout(None)
        s.setblocking(False)
        self.sock = s
        self.buf = b""
        self.closed = None

    def send(self, line):
        """Send one raw line (CRLF added). Raises IrcClosed if the connection is gone."""
        if self.sock is None or self.closed:
            raise IrcClosed("%s: not connected (%s)" % (self.nick, self.closed))
        if self.log:
            self.log(">> " + line)
        data = line.encode("utf-8") + b"\r\n"
        deadline = time.time() + 10
        while data:
            try:
                n = self.sock.send(data)
                data = data[n:]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                if time.time() > deadline:
                    raise IrcTimeout("%s: send blocked" % self.nick)
                select.select([], [self.sock], [], 0.2)
            except OSError as e:
                self._mark_closed("send failed: %s" % e)
                raise IrcClosed("%s: %s" % (self.nick, self.closed))

    def _mark_closed(self, why):
        if not self.closed:
            self.closed = why
        try:
            self.sock.close()
        except Exception:
            pass

    def _read_some(self, timeout):
        """Read what is available (waiting up to timeout) and queue parsed messages."""
        if self.closed:
            return
        pending = self.tls and self.sock.pending()
        if not pending:
            r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
            if not r:
                return
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (ssl.SSLWantReadError, BlockingIOError):
                break
            except ssl.SSLWantWriteError:
                break
            except OSError as e:
                self._mark_closed("recv failed: %s" % e)
                break
            if not chunk:
                self._mark_closed(self.closed or "EOF")
                break
            self.buf += chunk
            if not (self.tls and self.sock.pending()):
                break
        while b"\n" in self.buf:
            raw, self.buf = self.buf.split(b"\n", 1)
            raw = raw.rstrip(b"\r")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            if self.log:
                self.log("<< " + text)
            msg = parse_line(text)
            if msg is None:
                continue
            self._handle(msg)
        if len(self.buf) > MAX_LINE:
            self.buf = b""

    def _handle(self, msg):
        c = msg.command
        if c == "PING":
            try:
                self.send("PONG :" + msg.text)
            except IrcError:
                pass
            return
        if c == "ERROR":
            self.closed = "ERROR " + msg.text
        elif c == "001":
            self.welcome = msg
            if msg.params:
                self.nick = msg.params[0]
        elif c == "005":
            for tok in msg.params[1:-1]:
                k, _, v = tok.partition("=")
                self.isupport[k.upper()] = v
        elif c == "NICK" and msg.nick and _lower(msg.nick) == _lower(self.nick) and msg.params:
            self.nick = msg.params[0]
        elif c == "900" and len(msg.params) >= 3:
            self.account = msg.params[2]
        elif c == "901":
            self.account = None
        elif c == "CAP" and len(msg.params) >= 3:
            sub = msg.params[1].upper()
            if sub == "NEW":
                self._note_caps(msg.text)
            elif sub == "DEL":
                for name in msg.text.split():
                    self.caps_available.pop(name, None)
                    self.caps_enabled.discard(name)
        self.history.append(msg)
        self.inbox.append(msg)

    def _note_caps(self, text):
        for tok in text.split():
            k, _, v = tok.partition("=")
            self.caps_available[k] = v

    # ---------------------------------------------------------------- waiting
    def wait_for(self, predicate, timeout=20):
        """Return (and consume) the first received Message for which predicate(msg) is
        true, waiting up to timeout seconds. Earlier unmatched messages stay queued."""
        deadline = time.time() + timeout
        while True:
            for i, m in enumerate(self.inbox):
                if predicate(m):
                    del self.inbox[i]
                    return m
            if self.closed:
                raise IrcClosed("%s: connection closed (%s) while waiting" % (self.nick, self.closed))
            left = deadline - time.time()
            if left <= 0:
                raise IrcTimeout("%s: timed out after %.1fs; last lines: %s" % (
                    self.nick, timeout, [m.raw for m in self.history[-8:]]))
            self._read_some(min(left, 0.5))

    def wait_command(self, *commands, timeout=20):
        cs = {c.upper() for c in commands}
        return self.wait_for(lambda m: m.command in cs, timeout)

    def pump(self, seconds=0.0):
        """Read for `seconds` (answering PINGs) without consuming anything."""
        end = time.time() + seconds
        while True:
            self._read_some(max(0.0, min(0.2, end - time.time())))
            if self.closed or time.time() >= end:
                return

    def drain(self):
        """Forget every queued message (after reading what has already arrived)."""
        self.pump(0)
        self.inbox.clear()

    def _is_msg_from(self, m, from_nick, target):
        if m.command not in ("PRIVMSG", "NOTICE") or not m.params:
            return False
        if from_nick is not None and _lower(m.nick) != _lower(from_nick):
            return False
        if target is not None and _lower(m.params[0]) != _lower(target):
            return False
        return True

    def wait_privmsg(self, from_nick, target=None, timeout=20, count=None, quiet=1.5):
        """Collect PRIVMSG/NOTICE lines from from_nick (to target, if given: a channel,
        or our own nick for private messages).

        count=None: wait up to timeout for the first line, then keep collecting until no
        further line arrives for `quiet` seconds. count=N: wait (up to timeout in total)
        for exactly N lines. Returns a list of Message (use .text, .command, .tags)."""
        pred = lambda m: self._is_msg_from(m, from_nick, target)
        start = time.time()
        got = [self.wait_for(pred, timeout)]
        while count is None or len(got) < count:
            if count is None:
                try:
                    got.append(self.wait_for(pred, quiet))
                except IrcTimeout:
                    break
                except IrcClosed:
                    break
            else:
                left = timeout - (time.time() - start)
                got.append(self.wait_for(pred, max(0.0, left)))
        return got

    # ---------------------------------------------------------------- registration
    def connect(self, timeout=30, sasl_retry=True):
        """Connect and register: CAP LS 302, CAP REQ (wanted caps that are offered, plus
        sasl if asked), SASL, CAP END, wait for 001. If SASL is asked for but not (yet)
        offered (services not linked), reconnect until timeout instead of going on
        unauthenticated. Raises SaslFailed on 902/904/905/906/908, IrcError on 432/433."""
        deadline = time.time() + timeout
        while True:
            try:
                return self._connect_once(deadline)
            except _SaslNotOffered:
                self._mark_closed("sasl not offered")
                if not sasl_retry or time.time() + 1 > deadline:
                    raise SaslFailed("%s: server %s:%d does not offer SASL (services not linked?)"
                                     % (self.nick, self.host, self.port))
                time.sleep(1)

    def _left(self, deadline):
        return max(0.1, deadline - time.time())

    def _connect_once(self, deadline):
        self._open(self._left(deadline))
        self.inbox.clear()
        self.caps_available, self.caps_enabled, self.account = {}, set(), None
        if self.password:
            self.send("PASS " + self.password)
        self.send("CAP LS 302")
        self.send("NICK " + self.nick)
        self.send("USER %s 0 * :%s" % (self.user, self.realname))
        # CAP LS, possibly multi-line ("CAP * LS * :..."). A server without CAP sends 001.
        while True:
            m = self.wait_for(lambda m: m.command in ("CAP", "001", "433", "432", "421")
                              or (m.command == "CAP"), self._left(deadline))
            if m.command in ("433", "432"):
                raise IrcError("%s: nickname refused: %s" % (self.nick, m.raw))
            if m.command in ("001", "421"):
                if self.sasl:
                    raise _SaslNotOffered()
                if m.command == "001":
                    return self
                break
            if len(m.params) >= 3 and m.params[1].upper() == "LS":
                self._note_caps(m.text)
                if len(m.params) >= 4 and m.params[2] == "*":
                    continue
                break
        want = [c for c in self.want_caps if c in self.caps_available]
        if self.sasl:
            if "sasl" not in self.caps_available:
                raise _SaslNotOffered()
            if "sasl" not in want:
                want.append("sasl")
        if want:
            self.send("CAP REQ :" + " ".join(want))
            acked = set()
            while acked != set(want):
                m = self.wait_for(lambda m: m.command == "CAP" and len(m.params) >= 3
                                  and m.params[1].upper() in ("ACK", "NAK"), self._left(deadline))
                names = set(m.text.split())
                if m.params[1].upper() == "NAK":
                    raise IrcError("%s: server refused caps %s" % (self.nick, m.text))
                acked |= names
                self.caps_enabled |= {n.lstrip("-") for n in names if not n.startswith("-")}
        if self.sasl:
            self._authenticate(deadline)
        self.send("CAP END")
        m = self.wait_for(lambda m: m.command in ("001", "433", "432", "ERROR"), self._left(deadline))
        if m.command != "001":
            raise IrcError("%s: registration failed: %s" % (self.nick, m.raw))
        return self

    def _authenticate(self, deadline):
        if isinstance(self.sasl, str) and self.sasl.upper() == "EXTERNAL":
            mech, payload = "EXTERNAL", b""
        else:
            account, password = self.sasl
            mech = "PLAIN"
            payload = b"\0".join([account.encode(), account.encode(), password.encode()])
        self.send("AUTHENTICATE " + mech)
        m = self.wait_for(lambda m: m.command == "AUTHENTICATE" or m.command in
                          ("904", "905", "906", "908"), self._left(deadline))
        if m.command != "AUTHENTICATE":
            raise SaslFailed("%s: SASL %s refused: %s" % (self.nick, mech, m.raw))
        enc = base64.b64encode(payload).decode() if payload else ""
        if not enc:
            self.send("AUTHENTICATE +")
        else:
            for i in range(0, len(enc), 400):
                self.send("AUTHENTICATE " + enc[i:i + 400])
            if len(enc) % 400 == 0:
                self.send("AUTHENTICATE +")
        m = self.wait_for(lambda m: m.command in ("903", "902", "904", "905", "906", "907", "908"),
                          self._left(deadline))
        if m.command != "903":
            raise SaslFailed("%s: SASL %s failed: %s" % (self.nick, mech, m.raw))

    # ---------------------------------------------------------------- commands
    def join(self, chan, key=None, timeout=20):
        """JOIN and wait for our own JOIN echo and the end of NAMES (366)."""
        self.send("JOIN %s%s" % (chan, " " + key if key else ""))
        lc = _lower(chan)
        err = ("403", "405", "471", "473", "474", "475", "476", "477", "489")

        def pred(m):
            if m.command == "JOIN" and _lower(m.nick) == _lower(self.nick) and m.params \
                    and _lower(m.params[0]) == lc:
                return True
            return m.command in err and len(m.params) >= 2 and _lower(m.params[1]) == lc
        m = self.wait_for(pred, timeout)
        if m.command != "JOIN":
            raise IrcError("%s: cannot join %s: %s" % (self.nick, chan, m.raw))
        self.wait_for(lambda m: m.command == "366" and len(m.params) >= 2
                      and _lower(m.params[1]) == lc, timeout)
        return m

    def part(self, chan, reason=None, timeout=20):
        self.send("PART %s%s" % (chan, " :" + reason if reason else ""))
        lc = _lower(chan)
        return self.wait_for(lambda m: m.command == "PART" and _lower(m.nick) == _lower(self.nick)
                             and m.params and _lower(m.params[0]) == lc, timeout)

    def privmsg(self, target, text):
        self.send("PRIVMSG %s :%s" % (target, text))

    def notice(self, target, text):
        self.send("NOTICE %s :%s" % (target, text))

    def mode(self, chan, modes, *args, wait=True, timeout=20):
        """e.g. mode("#g", "+o", "hearth"). Waits for the server's MODE echo (or an error)."""
        self.send("MODE %s %s%s" % (chan, modes, "".join(" " + a for a in args)))
        if not wait:
            return None
        lc = _lower(chan)
        m = self.wait_for(lambda m: (m.command == "MODE" and m.params and _lower(m.params[0]) == lc)
                          or (m.command in ("482", "401", "441", "403", "472", "501")), timeout)
        if m.command != "MODE":
            raise IrcError("%s: MODE %s %s refused: %s" % (self.nick, chan, modes, m.raw))
        return m

    def op(self, chan, nick, timeout=20):
        return self.mode(chan, "+o", nick, timeout=timeout)

    def deop(self, chan, nick, timeout=20):
        return self.mode(chan, "-o", nick, timeout=timeout)

    def nickserv(self, text, timeout=20):
        """PRIVMSG NickServ and return the NOTICE lines it answers with (list of str)."""
        self.drain_from("NickServ")
        self.privmsg("NickServ", text)
        return [m.text for m in self.wait_privmsg("NickServ", timeout=timeout, quiet=1.0)]

    def drain_from(self, nick):
        self.pump(0)
        self.inbox = [m for m in self.inbox if _lower(m.nick) != _lower(nick)]

    def quit(self, reason="bye", timeout=5):
        if self.sock is None or self.closed:
            return
        try:
            self.send("QUIT :" + reason)
            end = time.time() + timeout
            while not self.closed and time.time() < end:
                self._read_some(0.2)
        except IrcError:
            pass
        self._mark_closed("quit")

    def close(self):
        if self.sock is not None:
            self._mark_closed("closed")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()


class _SaslNotOffered(Exception):
    pass


# --------------------------------------------------------------------------- services helpers

def _ns_ok(lines, *needles):
    joined = " ".join(lines).lower()
    return any(n.lower() in joined for n in needles)


def register_account(host, port, account, password, email=None, timeout=30):
    """Register NickServ account `account` (idempotent). Returns 0 on success."""
    email = email or "%s@example.invalid" % account
    m = Member(host, port, account)
    try:
        m.connect(timeout=timeout)
        lines = m.nickserv("REGISTER %s %s" % (password, email))
        if _ns_ok(lines, "registered", "is now registered") and not _ns_ok(lines, "already registered"):
            print("registered %s" % account)
            return 0
        if _ns_ok(lines, "already registered", "already been registered"):
            lines = m.nickserv("IDENTIFY %s %s" % (account, password))
            if _ns_ok(lines, "password accepted", "now identified", "already identified"):
                print("account %s already registered (password matches)" % account)
                return 0
            print("account %s exists with another password: %s" % (account, lines))
            return 1
        print("NickServ refused REGISTER %s: %s" % (account, lines))
        return 1
    finally:
        m.quit()


def add_certfp(host, tls_port, account, password, certfile, cafile=None, timeout=30):
    """Add the fingerprint of `certfile` (PEM cert+key) to NickServ account `account`
    (idempotent), so SASL EXTERNAL works with that certificate. Returns 0 on success.

    Anope 2.0 ignores a fingerprint argument when you are identified to the account
    yourself and takes the one of your connection, so this connects over TLS with the
    client certificate, identifies with the password, then sends CERT ADD."""
    m = Member(host, tls_port, "cfp%x" % (os.getpid() & 0xffffff), tls=True, cafile=cafile,
               certfile=certfile)
    try:
        m.connect(timeout=timeout)
        lines = m.nickserv("IDENTIFY %s %s" % (account, password))
        if not _ns_ok(lines, "password accepted", "now identified", "already identified"):
            print("cannot identify as %s: %s" % (account, lines))
            return 1
        lines = m.nickserv("CERT ADD")
        if _ns_ok(lines, "added to", "already present"):
            print(" ".join(lines).replace("\x02", ""))
            return 0
        print("NickServ refused CERT ADD: %s" % lines)
        return 1
    finally:
        m.quit()
