#!/usr/bin/python3
"""Hearth's Matrix suite: the real hearth binary, a real Synapse, real nio members.

Run by tests/matrix/run.sh, which starts Synapse, registers hearth/alice/bob/carol and writes
the config. Environment: HEARTH (binary), HEARTH_CONFIG, HEARTH_MATRIX_URL, HEARTH_TEST_TMP,
HEARTH_SYNAPSE_SH. Prints 'N passed, M failed' last.
"""

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import traceback
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from member import Member, MemberError  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pg"))
import hearth_store  # noqa: E402  (tests/pg: the store on either engine)

HS = os.environ["HEARTH_MATRIX_URL"]
HEARTH = os.environ["HEARTH"]
CONFIG = os.environ["HEARTH_CONFIG"]
TMP = os.environ["HEARTH_TEST_TMP"]
SYN = os.environ["HEARTH_SYNAPSE_SH"]
BOT = "@hearth:localhost"
BOT2 = "@hearth2:localhost"    # for the tests of start-up and session failures
REFUSED = "only this room's moderators"


class Hearth:
    """A hearth process; its log goes to TMP/<name>.log (appended across restarts)."""

    def __init__(self, name: str = "hearth", config: str = CONFIG, env: dict = None):
        self.proc = None
        self.config = config
        self.env = env
        self.log_path = os.path.join(TMP, name + ".log")
        self.pid_path = os.path.join(TMP, name + ".pid")

    def log(self) -> str:
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def launch(self, config: str = None) -> int:
        """Starts the process without waiting for anything; returns the log offset before it."""
        mark = len(self.log())
        logf = open(self.log_path, "a")
        self.proc = subprocess.Popen([HEARTH, "--config", config or self.config], stdout=logf,
                                     stderr=logf, stdin=subprocess.DEVNULL, env=self.env)
        logf.close()
        with open(self.pid_path, "w") as f:
            f.write(str(self.proc.pid))
        return mark

    def start(self, wait_for: str = "first sync done|continuing from", config: str = None) -> None:
        mark = self.launch(config)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = self.log()[mark:]
            if any(w in text for w in wait_for.split("|")):
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"hearth exited with {self.proc.returncode}:\n{text[-2000:]}")
            time.sleep(0.1)
        raise AssertionError("hearth did not get going within 30 s:\n" + self.log()[mark:][-2000:])

    async def wait_exit(self, timeout: float) -> int:
        """The exit code of a process expected to end by itself (killed after timeout)."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                self.proc = None
                raise AssertionError(f"hearth did not exit within {timeout} s:\n{self.log()[-2000:]}")
            await asyncio.sleep(0.1)
        rc = self.proc.returncode
        self.proc = None
        if os.path.exists(self.pid_path):
            os.remove(self.pid_path)
        return rc

    def stop(self) -> int:
        if not self.proc:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("hearth ignored SIGTERM for 15 s")
        finally:
            self.proc = None
            if os.path.exists(self.pid_path):
                os.remove(self.pid_path)
        return rc

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def other_hearth(name: str, homeserver: str = HS, password: str = None, token: str = None):
    """A second Hearth for @hearth2 with its own data folder, log and environment (the secret
    comes from the environment only: the suite's HEARTH_MATRIX_PASSWORD is removed)."""
    data = os.path.join(TMP, name + "-data")
    os.makedirs(data, exist_ok=True)
    cfg = os.path.join(TMP, name + ".ini")
    with open(cfg, "w") as f:
        f.write(f"[bot]\ndata_dir = {data}\nlog_level = info\n\n[matrix]\nhomeserver = {homeserver}\n"
                f"user_id = {BOT2}\ndevice_name = Hearth {name}\nallowed_inviters = *:localhost\n")
    os.chmod(cfg, 0o600)
    env = {k: v for k, v in os.environ.items()
           if k not in ("HEARTH_MATRIX_PASSWORD", "HEARTH_MATRIX_ACCESS_TOKEN")}
    if password is not None:
        env["HEARTH_MATRIX_PASSWORD"] = password
    if token is not None:
        env["HEARTH_MATRIX_ACCESS_TOKEN"] = token
    return Hearth(name, cfg, env)


def post(path: str, body: dict, token: str = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(HS + "/_matrix/client/v3" + path, data=json.dumps(body).encode(),
                                 method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


async def wait_log(h: Hearth, text: str, timeout: float, mark: int = 0) -> None:
    deadline = time.monotonic() + timeout
    while text not in h.log()[mark:]:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in {h.log_path} within {timeout} s:\n"
                                 + h.log()[mark:][-2000:])
        if h.proc is not None and h.proc.poll() is not None:
            raise AssertionError(f"hearth exited with {h.proc.returncode} before {text!r}:\n"
                                 + h.log()[mark:][-2000:])
        await asyncio.sleep(0.1)


def free_port() -> int:
    """A loopback TCP port that nothing listens on now."""
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        return sk.getsockname()[1]


def config_with_data(name: str, data_dir: str) -> str:
    """The suite's config with data_dir (made if missing) as the data folder, written to
    TMP/<name>.ini: a suite that runs a Hearth of its own."""
    os.makedirs(data_dir, exist_ok=True)
    cfg = os.path.join(TMP, name + ".ini")
    with open(CONFIG) as f:
        text = f.read()
    text = "\n".join(f"data_dir = {data_dir}" if line.startswith("data_dir =") else line
                     for line in text.splitlines()) + "\n"
    with open(cfg, "w") as f:
        f.write(text)
    os.chmod(cfg, 0o600)
    return cfg


def config_via(port: int, name: str, data_dir: str = None) -> str:
    """The suite's config with log_level = debug and the homeserver reached through a forwarder
    on port (and data_dir, if given, as the data folder), written to TMP/<name>.ini."""
    cfg = os.path.join(TMP, name + ".ini")
    with open(CONFIG) as f:
        text = f.read()
    text = text.replace("log_level = info", "log_level = debug") \
        .replace(f"homeserver = {HS}", f"homeserver = http://127.0.0.1:{port}")
    if data_dir:
        text = "\n".join(f"data_dir = {data_dir}" if line.startswith("data_dir =") else line
                         for line in text.splitlines()) + "\n"
    with open(cfg, "w") as f:
        f.write(text)
    os.chmod(cfg, 0o600)
    return cfg


async def tcp_forward(port: int, target: str, send_delay=0):
    """A loopback TCP forwarder to the homeserver (it comes up late in the retry test). With
    send_delay, each event send (PUT .../send/...) is held that long on its way: a number of
    seconds, or a dict whose "send" entry is read at each send (a test changes it while the
    forwarder runs)."""
    host, tport = target.split("//")[1].split(":")

    async def pipe(r, w, delay=0):
        try:
            while data := await r.read(65536):
                hold = delay["send"] if isinstance(delay, dict) else delay
                if hold and data.startswith(b"PUT ") and b"/send/" in data.split(b"\r\n", 1)[0]:
                    await asyncio.sleep(hold)
                w.write(data)
                await w.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            w.close()

    async def handle(cr, cw):
        try:
            sr, sw = await asyncio.open_connection(host, int(tport))
        except OSError:
            cw.close()
            return
        await asyncio.gather(pipe(cr, sw, send_delay), pipe(sr, cw))

    return await asyncio.start_server(handle, "127.0.0.1", port)


def hearth_token(data_dir: str = None) -> str:
    """Hearth's access token, opened from its store (where it is sealed with e2e.key)."""
    from sealed import is_sealed, open_sealed
    data_dir = data_dir or os.path.join(TMP, "data")
    row = hearth_store.query_one(data_dir,
                                 "SELECT value FROM kv WHERE ns='matrix' AND key='access_token'")
    assert row, "no access token in Hearth's store"
    assert is_sealed(row[0]), "the access token is kept in clear in the store"
    return open_sealed(data_dir, row[0])


def api(path: str, token: str) -> dict:
    req = urllib.request.Request(HS + "/_matrix/client/v3" + path,
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


async def reply_to(m: Member, room: str, cmd: str, timeout: float = 30):
    """The bot's reply to event cmd (matched by m.in_reply_to)."""
    return await m.wait_for_message(room, sender=BOT, timeout=timeout,
                                    predicate=lambda x: x.in_reply_to == cmd)


def replies_to(m: Member, room: str, cmd: str):
    return [x for x in m.messages(room) if x.sender == BOT and x.in_reply_to == cmd]


async def settle(m: Member, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await m.sync_once(timeout_ms=int(min(1.0, end - time.monotonic()) * 1000) or 1)


class Suite:
    def __init__(self):
        self.hearth = Hearth()
        self.alice = Member(HS, "alice", "alicepw", os.path.join(TMP, "alice"))
        self.bob = Member(HS, "bob", "bobpw", os.path.join(TMP, "bob"))
        self.carol = Member(HS, "carol", "carolpw", os.path.join(TMP, "carol"))
        self.room = None

    # -- tests, in order (later ones use the group room) --------------------

    async def test_history_not_answered_on_first_start(self):
        """An invite and a command from before Hearth's very first start: Hearth joins, does
        not answer the old command, answers a new one."""
        room = await self.alice.create_room("early", invite=[BOT])
        old = await self.alice.send(room, "!help")
        self.hearth.start()
        await self.alice.wait_for_join(room, BOT, timeout=30)
        new = await self.alice.send(room, "!about")
        await reply_to(self.alice, room, new)
        assert not replies_to(self.alice, room, old), "answered a command from before its start"

    async def test_join_on_invite(self):
        room = await self.alice.create_room("circle", invite=[BOT, self.bob.user_id, self.carol.user_id],
                                            power_levels={"bob": 50, "carol": 0})
        await self.bob.join(room)
        await self.carol.join(room)
        await self.alice.wait_for_join(room, BOT, timeout=30)
        self.room = room

    async def test_commands_answered_as_rich_notice_replies(self):
        for text in ("!help", "!learn", "!checkin"):
            cmd = await self.alice.send(self.room, text)
            r = await reply_to(self.alice, self.room, cmd)
            assert r.msgtype == "m.notice", f"{text}: msgtype {r.msgtype}"
            assert r.content.get("format") == "org.matrix.custom.html", f"{text}: no HTML format"
            assert r.content.get("formatted_body"), f"{text}: empty formatted_body"
            assert r.body.strip(), f"{text}: empty body"
            assert "<" not in r.body or "</" not in r.body, f"{text}: HTML in the plain body"

    async def test_help_renders(self):
        """!help crisis: the usage is a code element, never raw Markdown (it once came as
        `**!crisis **`); the !help list keeps each command apart from its description in the
        HTML and in the plain body."""
        cmd = await self.alice.send(self.room, "!help crisis")
        r = await reply_to(self.alice, self.room, cmd)
        html = r.content.get("formatted_body", "")
        assert "<code>!crisis</code>" in html, html
        assert "*" not in html and "*" not in r.body, (html, r.body)
        assert r.body.startswith("!crisis\n\nHelp right now"), r.body
        cmd = await self.alice.send(self.room, "!help")
        r = await reply_to(self.alice, self.room, cmd)
        html = r.content.get("formatted_body", "")
        assert "<li><code>!learn [topic]</code>: A short reading" in html, html
        assert "- !learn [topic]: A short reading" in r.body, r.body

    async def test_reply_in_thread(self):
        root = await self.alice.send(self.room, "a thread about today")
        cmd = await self.alice.send(self.room, "!checkin", thread_root=root, reply_to=root)
        r = await reply_to(self.alice, self.room, cmd)
        rel = r.content["m.relates_to"]
        assert rel.get("rel_type") == "m.thread" and rel.get("event_id") == root, rel
        assert rel.get("is_falling_back") is True, rel

    async def test_moderator_allowed_at_50_refused_at_0(self):
        ok = await self.bob.send(self.room, "!mod help")
        r = await reply_to(self.bob, self.room, ok)
        assert REFUSED not in r.body, f"power level 50 was refused: {r.body!r}"
        no = await self.carol.send(self.room, "!mod help")
        r = await reply_to(self.carol, self.room, no)
        assert REFUSED in r.body, f"power level 0 was not refused: {r.body!r}"

    async def test_own_and_bot_notices_ignored(self):
        """An m.notice (another bot) is not answered, even when it looks like a command."""
        n = await self.alice.send(self.room, "!help", notice=True)
        after = await self.alice.send(self.room, "!about")
        await reply_to(self.alice, self.room, after)
        assert not replies_to(self.alice, self.room, n), "answered an m.notice"

    async def test_room_setup_welcome_status_settings(self):
        """Issue 10: Hearth introduces itself once when it joins a group room; a member who joins
        gets one welcome, a reply-less m.notice that mentions only them, with a hostile display
        name shown as text, and never a second one after leaving and rejoining; !mod status
        shows the room's setup; !mod set changes the room's zone and prefix (which then really
        works there) and refuses bad values with the good ones."""
        room = await self.alice.create_room("setup", invite=[BOT, self.bob.user_id],
                                            power_levels={"bob": 0, "carol": 0})
        await self.alice.wait_for_join(room, BOT, timeout=30)
        intro = await self.alice.wait_for_message(
            room, sender=BOT, timeout=30,
            predicate=lambda x: "not therapy" in x.body and not x.body.startswith("Welcome"))
        assert "!help" in intro.body and intro.msgtype == "m.notice", intro.body
        assert not intro.content.get("m.relates_to"), intro.content
        # carol joins with a display name that tries markup and a room mention
        hostile = "<b>Carol</b> [x](https://e.example) @room"
        await self.carol._api("PUT", f"/profile/{self.carol.user_id}/displayname",
                              {"displayname": hostile})
        try:
            await self.alice.invite(room, "carol")
            await self.carol.join(room)
            w = await self.alice.wait_for_message(
                room, sender=BOT, timeout=30, predicate=lambda x: x.body.startswith("Welcome"))
            assert w.msgtype == "m.notice", w.msgtype
            assert not w.content.get("m.relates_to"), w.content
            assert w.content.get("m.mentions") == {"user_ids": [self.carol.user_id]}, w.content
            html = w.content.get("formatted_body", "")
            assert "<b>Carol" not in html and "href" not in html, html
            assert "Carol" in w.body, w.body
            # leaves and rejoins: no second welcome; bob's join long ago got none either
            await self.carol.leave(room)
            await self.alice.invite(room, "carol")
            await self.carol.join(room)
            await self.bob.join(room)  # within the minute: no second welcome in the room
        finally:
            await self.carol._api("PUT", f"/profile/{self.carol.user_id}/displayname",
                                  {"displayname": "carol"})
        probe = await self.alice.send(room, "!mod status")
        st = await reply_to(self.alice, room, probe)
        for want in ("This room's setup", "Hearth: active", "Quiet hours: none",
                     "Crisis country:", "Language:", "Prefix:", "Welcome: on"):
            assert want in st.body, f"status lacks {want!r}: {st.body!r}"
        welcomes = [x for x in self.alice.messages(room)
                    if x.sender == BOT and x.body.startswith("Welcome")]
        assert len(welcomes) == 1, f"{len(welcomes)} welcomes"
        intros = [x for x in self.alice.messages(room) if x.sender == BOT and "not therapy" in x.body
                  and not x.in_reply_to and not x.body.startswith("Welcome")]
        assert len(intros) == 1, f"{len(intros)} introductions"
        # per-room settings
        r = await reply_to(self.alice, room, await self.alice.send(room, "!mod set timezone europe/london"))
        assert "Europe/London" in r.body, r.body
        r = await reply_to(self.alice, room, await self.alice.send(room, "!mod set country mars"))
        assert "gb" in r.body and "Nothing was changed" in r.body, r.body
        r = await reply_to(self.bob, room, await self.bob.send(room, "!mod set prefix ?"))
        assert REFUSED in r.body, r.body
        r = await reply_to(self.alice, room, await self.alice.send(room, "!mod set prefix ?"))
        assert "?help" in r.body, r.body
        old = await self.bob.send(room, "!about")
        new = await self.bob.send(room, "?help")
        r = await reply_to(self.bob, room, new)
        assert "?learn" in r.body and "!learn" not in r.body, r.body
        assert not replies_to(self.bob, room, old), "the old prefix still answers"
        r = await reply_to(self.alice, room, await self.alice.send(room, "?mod status"))
        assert "Time zone: Europe/London" in r.body and "Prefix: ?" in r.body, r.body

    async def test_mood_answered_in_private_chat(self):
        cmd = await self.carol.send(self.room, "!mood 6 a private sentence about my sister")
        dm = await self.carol.wait_for_invite(timeout=30, inviter=BOT)
        assert self.carol.invites[dm]["is_direct"], "the private chat invite is not is_direct"
        await self.carol.join(dm)
        r = await self.carol.wait_for_message(dm, sender=BOT, timeout=30)
        assert r.msgtype == "m.notice", r.msgtype
        await settle(self.carol, 2)
        for m in self.carol.messages(self.room):
            if m.sender == BOT:
                assert "sister" not in m.body, "the note was repeated in the group room"
        # a second private answer goes to the same chat, no new invite
        cmd2 = await self.carol.send(self.room, "!mood history")
        await self.carol.wait_for_message(dm, sender=BOT, timeout=30,
                                          after_event_id=r.event_id)
        await settle(self.carol, 1)
        fresh = [x for x in self.carol.invites if x != dm and x not in self.carol._invites_taken]
        assert not fresh, f"a second private chat was opened: {fresh}"
        assert cmd and cmd2

    async def test_private_chat_opened_by_member(self):
        dm = await self.bob.create_room(None, invite=[BOT], is_direct=True)
        await self.bob.wait_for_join(dm, BOT, timeout=30)
        cmd = await self.bob.send(dm, "!help")
        r = await reply_to(self.bob, dm, cmd)
        assert r.msgtype == "m.notice"

    async def test_encrypted_room_gets_encrypted_replies(self):
        """An encrypted room is answered, and only with encrypted events (never plaintext)."""
        room = await self.alice.create_room("sealed", invite=[BOT], encrypted=True)
        await self.alice.wait_for_join(room, BOT, timeout=30)
        cmd = await self.alice.send(room, "!help")
        r = await reply_to(self.alice, room, cmd)
        assert r.msgtype == "m.notice" and r.body.strip(), r
        assert r.encrypted, "the reply in an encrypted room was not encrypted"
        await settle(self.alice, 1)
        plain = [m for m in self.alice.messages(room) if m.sender == BOT and not m.encrypted]
        assert not plain, f"Hearth wrote plaintext in an encrypted room: {plain}"
        assert not self.alice.undecryptable(room), "undecryptable events in the room"

    async def test_restart_no_duplicate_no_loss(self):
        before = await self.alice.send(self.room, "!learn")
        await reply_to(self.alice, self.room, before)
        assert self.hearth.stop() == 0
        cmds = []
        for text in ("!help", "!learn", "!checkin"):
            cmds.append(await self.alice.send(self.room, text))
        self.hearth.start()
        for c in cmds:
            await reply_to(self.alice, self.room, c, timeout=40)
        await settle(self.alice, 3)
        for c in cmds + [before]:
            n = len(replies_to(self.alice, self.room, c))
            assert n == 1, f"{n} replies to {c}"

    async def test_restart_long_gap_fetched(self):
        """More messages while Hearth is down than one sync returns (its filter keeps 100):
        the command at the start of the gap is still answered, once."""
        assert self.hearth.stop() == 0
        first = await self.alice.send(self.room, "!about")
        for i in range(110):
            await self.bob.send(self.room, f"chatter {i}")
        last = await self.alice.send(self.room, "!help")
        self.hearth.start()
        await reply_to(self.alice, self.room, last, timeout=40)
        await reply_to(self.alice, self.room, first, timeout=40)
        await settle(self.alice, 2)
        for c in (first, last):
            n = len(replies_to(self.alice, self.room, c))
            assert n == 1, f"{n} replies to {c}"

    async def test_restart_reuses_device(self):
        token = hearth_token()
        # (the registration tool made one device of its own; Hearth's carry its device name)
        devices = [d for d in api("/devices", token)["devices"]
                   if d.get("display_name") == "Hearth test"]
        mine = api("/account/whoami", token).get("device_id")
        assert [d["device_id"] for d in devices] == [mine], \
            f"Hearth has {len(devices)} devices after restarts: {devices}"
        log = self.hearth.log()
        assert log.count("logged in as") == 1, "Hearth logged in more than once"
        assert "hearthpw" not in log and token not in log, "a secret reached the log"

    async def test_homeserver_restart_recovered(self):
        subprocess.run([SYN, "restart"], check=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while True:  # the member's client reconnects too
            try:
                cmd = await self.alice.send(self.room, "!help")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1)
        await reply_to(self.alice, self.room, cmd, timeout=120)
        assert self.hearth.running(), "Hearth exited while the homeserver was away"

    async def test_kicked_leaves_and_forgets(self):
        room = await self.alice.create_room("kick", invite=[BOT])
        await self.alice.wait_for_join(room, BOT, timeout=30)
        resp = await self.alice.client.room_kick(room, BOT, reason="test")
        assert not type(resp).__name__.endswith("Error"), resp
        deadline = time.monotonic() + 20
        while f"no longer in {room}" not in self.hearth.log():
            assert time.monotonic() < deadline, "Hearth did not notice the kick"
            await asyncio.sleep(0.2)
        assert self.hearth.running()

    async def test_revoked_token_relogin(self):
        token = hearth_token()
        req = urllib.request.Request(HS + "/_matrix/client/v3/logout", data=b"{}", method="POST",
                                     headers={"Authorization": "Bearer " + token,
                                              "Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=10).read()
        cmd = await self.alice.send(self.room, "!help")
        await reply_to(self.alice, self.room, cmd, timeout=60)
        assert hearth_token() != token, "the new token was not stored"
        assert self.hearth.running()

    async def test_sigterm_sends_queued_replies(self):
        """Commands answered just before SIGTERM: the replies still go out before Hearth exits
        (a bounded grace period), once each, and a restart does not answer them again. Hearth
        reaches the homeserver through a forwarder that holds each of its sends for 0.5 s, so
        replies are still queued when the signal comes."""
        assert self.hearth.stop() == 0
        port = free_port()
        slow_cfg = config_via(port, "hearth-slow")
        server = await tcp_forward(port, HS, send_delay=0.5)
        try:
            mark = self.hearth.launch(config=slow_cfg)
            await wait_log(self.hearth, "continuing from", 30, mark)
            cmds = []
            for text in ("!help", "!learn", "!checkin", "!about"):
                cmds.append(await self.alice.send(self.room, text))
            # the last command was handed to the core: its reply (and others) is queued
            await wait_log(self.hearth, f"message {cmds[-1]} in", 30, mark)
            t0 = time.monotonic()
            self.hearth.proc.send_signal(signal.SIGTERM)
            rc = await self.hearth.wait_exit(15)
            took = time.monotonic() - t0
        finally:
            server.close()
        log = self.hearth.log()[mark:]
        assert rc == 0, f"exit code {rc}"
        assert "queued messages before stopping" in log, "nothing was queued at SIGTERM"
        assert "all queued messages sent" in log, log[-3000:]
        assert took < 5, f"stopping took {took:.1f} s (the grace is 3 s)"
        await settle(self.alice, 2)
        for c in cmds:
            n = len(replies_to(self.alice, self.room, c))
            assert n == 1, f"{n} replies to {c} before the restart\n{log[-3000:]}"
        self.hearth.start()
        await settle(self.alice, 3)
        for c in cmds:
            n = len(replies_to(self.alice, self.room, c))
            assert n == 1, f"{n} replies to {c} after the restart"

    async def test_unreachable_homeserver_retried(self):
        """Nothing listens at the homeserver's address at start: Hearth keeps trying with
        backoff (it does not exit) and gets going once the homeserver is there."""
        port = free_port()
        h = other_hearth("hearth-unreachable", homeserver=f"http://127.0.0.1:{port}",
                         password="hearth2pw")
        server = None
        try:
            h.launch()
            await wait_log(h, "homeserver unreachable, retrying", 20)
            assert h.running(), "Hearth exited while the homeserver was unreachable"
            server = await tcp_forward(port, HS)
            await wait_log(h, "first sync done", 90)
            assert "ERROR" not in h.log(), h.log()[-2000:]
            assert h.stop() == 0
        finally:
            if h.running():
                h.proc.kill()
                h.proc.wait()
            if server:
                server.close()

    async def test_wrong_password_exits(self):
        """A wrong password at the first login is not transient: a clear error, exit code 1."""
        h = other_hearth("hearth-wrongpw", password="not-the-password")
        try:
            h.launch()
            rc = await h.wait_exit(30)
        finally:
            if h.running():
                h.proc.kill()
        log = h.log()
        assert rc == 1, f"exit code {rc}\n{log[-2000:]}"
        assert "refused the login of @hearth2:localhost (HTTP 403 M_FORBIDDEN)" in log, log[-2000:]
        assert "check [matrix] user_id and password" in log, log[-2000:]
        assert "not-the-password" not in log, "the password reached the log"

    async def test_revoked_token_without_password_exits(self):
        """Only an access token configured, and it is revoked while Hearth runs: a clear error
        and exit code 1 (no loop, no crash); a start with the revoked token does the same."""
        token = post("/login", {"type": "m.login.password",
                                "identifier": {"type": "m.id.user", "user": "hearth2"},
                                "password": "hearth2pw",
                                "initial_device_display_name": "Hearth token test"})["access_token"]
        h = other_hearth("hearth-token", token=token)
        want = "no longer accepts the access token (M_UNKNOWN_TOKEN) and no password is configured"
        try:
            h.start()
            post("/logout", {}, token)
            # wake its long poll: an invite reaches the revoked session's sync, then its next
            # request is refused
            room = await self.bob.create_room("wake", invite=[BOT2])
            rc = await h.wait_exit(60)
            log = h.log()
            assert rc == 1, f"exit code {rc}\n{log[-2000:]}"
            assert log.count(want) == 1, log[-2000:]
            mark = h.launch()
            rc = await h.wait_exit(30)
            log = h.log()[mark:]
            assert rc == 1, f"exit code {rc} at a start with the revoked token\n{log[-2000:]}"
            assert log.count(want) == 1, log[-2000:]
            assert token not in h.log(), "the token reached the log"
            assert room
        finally:
            if h.running():
                h.proc.kill()

    # -----------------------------------------------------------------------

    async def run(self) -> int:
        order = [
            "test_history_not_answered_on_first_start", "test_join_on_invite",
            "test_commands_answered_as_rich_notice_replies", "test_help_renders", "test_reply_in_thread",
            "test_moderator_allowed_at_50_refused_at_0", "test_own_and_bot_notices_ignored",
            "test_room_setup_welcome_status_settings",
            "test_mood_answered_in_private_chat", "test_private_chat_opened_by_member",
            "test_encrypted_room_gets_encrypted_replies", "test_restart_no_duplicate_no_loss",
            "test_restart_long_gap_fetched", "test_sigterm_sends_queued_replies",
            "test_restart_reuses_device", "test_kicked_leaves_and_forgets",
            "test_revoked_token_relogin", "test_homeserver_restart_recovered",
            "test_unreachable_homeserver_retried", "test_wrong_password_exits",
            "test_revoked_token_without_password_exits",
        ]
        return await run_ordered(self, order, "group room", first_without_hearth=1)


async def run_ordered(suite, order, room_what: str, start=None, first_without_hearth: int = 0,
                      figures: bool = False) -> int:
    """Runs suite's test_* methods in the given order against one Hearth and prints
    `N passed, M failed`. The first two tests may run before suite.room exists; the first
    first_without_hearth tests may run before Hearth does. start() runs after the members log in.
    Members (alice, bob, carol, and alice2 when set) are closed, Hearth is stopped, and a
    sanitizer report in its log counts as a failure."""
    passed = failed = 0
    tests = [n for n in dir(suite) if n.startswith("test_")]
    assert sorted(order) == sorted(tests), set(tests) ^ set(order)
    try:
        for m in (suite.alice, suite.bob, suite.carol):
            await m.login()
        if start:
            start()
        for i, name in enumerate(order):
            if i >= first_without_hearth and not suite.hearth.running():
                print(f"FAIL {name} (Hearth is not running)")
                failed += 1
                continue
            if i >= 2 and suite.room is None:
                print(f"FAIL {name} (no {room_what})")
                failed += 1
                continue
            t0 = time.monotonic()
            try:
                await getattr(suite, name)()
                print(f"PASS {name} ({time.monotonic() - t0:.1f} s)", flush=True)
                passed += 1
            except Exception:
                traceback.print_exc()
                print(f"FAIL {name}", flush=True)
                failed += 1
    except Exception:
        traceback.print_exc()
        failed += 1
    finally:
        try:
            rc = suite.hearth.stop()
            if rc != 0:
                print(f"FAIL hearth exited with {rc} at the end")
                failed += 1
        except Exception:
            traceback.print_exc()
            failed += 1
        for m in (suite.alice, suite.bob, suite.carol, getattr(suite, "alice2", None)):
            if m:
                await m.close()
        log = suite.hearth.log() if os.path.exists(suite.hearth.log_path) else ""
        if figures:
            for line in log.splitlines():
                if "own time" in line:
                    print("figure:", line.split("  ", 1)[-1])
        if "ERROR: AddressSanitizer" in log or "runtime error:" in log or \
                "LeakSanitizer" in log:
            print("FAIL sanitizer report in the hearth log")
            failed += 1
        if failed:
            print("---- hearth log (tail) ----")
            print(log[-6000:])
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(Suite().run()))
