#!/usr/bin/python3
"""Key hygiene (issue 16 point 6): the real hearth, a real Synapse, real nio members (keyann,
keybob, keycarol: accounts of this suite alone, since the suites share one homeserver).

- A device whose keys carry a bad self-signature gets no room key from Hearth (Hearth never
  even claims its one-time keys) and is sent m.room_key.withheld (m.unverified) for the
  session instead; a good device of the same member decrypts the reply.
- Megolm rotation: in a room whose m.room.encryption says rotation_period_ms = 6000, a reply
  after the period comes under a new session (read from the nio member's decrypted events);
  with rotation_period_msgs = 3, Hearth's session changes after every third message.
- m.dummy repair: Hearth loses its Olm sessions with a member's device (they are deleted from
  its store while it is stopped), so the room key the member's client sends next cannot be
  read. Hearth notices, starts one new Olm session with that device (m.dummy, once however
  many unreadable messages came) and the member's next room key travels over it: the next
  command is answered and the answer decrypts.

Run by tests/matrix/run.sh (HEARTH_MATRIX_SUITES=keys). Environment as for test_hearth.py.
Prints 'N passed, M failed' last.
"""

import asyncio
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg"))
import olm  # noqa: E402  (python3-olm, as nio uses)
from member import Member  # noqa: E402
import hearth_store  # noqa: E402
from test_hearth import BOT, HS, TMP, reply_to, settle, run_ordered  # noqa: E402
from test_sync_position import fresh_hearth  # noqa: E402


def canonical(obj: dict) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def raw(method: str, path: str, token: str = None, body: dict = None) -> dict:
    req = urllib.request.Request(HS + "/_matrix/client/v3" + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": "Bearer " + token} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as err:
        raise AssertionError(f"{method} {path}: {err.code} {err.read()[:300]!r}")


class BadDevice:
    """A second device of a member, driven through the raw API: its device keys carry a
    corrupted self-signature; its one-time keys are validly signed (so only the signature
    check keeps Hearth from starting an Olm session with it)."""

    def __init__(self, user: str, password: str):
        self.device_id = "KEYBAD" + uuid.uuid4().hex[:6].upper()
        login = raw("POST", "/login", body={"type": "m.login.password", "identifier": {
            "type": "m.id.user", "user": user}, "password": password,
            "device_id": self.device_id, "initial_device_display_name": "badly signed"})
        self.user_id, self.token = login["user_id"], login["access_token"]
        self.acct = olm.Account()
        keys = self.acct.identity_keys
        self.curve = keys["curve25519"]
        dk = {"user_id": self.user_id, "device_id": self.device_id,
              "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
              "keys": {f"curve25519:{self.device_id}": keys["curve25519"],
                       f"ed25519:{self.device_id}": keys["ed25519"]}}
        good = self.acct.sign(canonical(dk))
        sig = bytearray(base64.b64decode(good + "=" * (-len(good) % 4)))
        sig[7] ^= 0x20  # one bit off: a corrupted signature
        dk["signatures"] = {self.user_id: {
            f"ed25519:{self.device_id}": base64.b64encode(bytes(sig)).decode().rstrip("=")}}
        self.acct.generate_one_time_keys(5)
        otks = {}
        for kid, key in self.acct.one_time_keys["curve25519"].items():
            obj = {"key": key}
            obj["signatures"] = {self.user_id: {f"ed25519:{self.device_id}":
                                                self.acct.sign(canonical(obj))}}
            otks[f"signed_curve25519:{kid}"] = obj
        self.acct.mark_keys_as_published()
        up = raw("POST", "/keys/upload", self.token, {"device_keys": dk, "one_time_keys": otks})
        assert up["one_time_key_counts"].get("signed_curve25519") == 5, up
        self.since = None
        self.to_device = []

    def otk_count(self) -> int:
        return raw("POST", "/keys/upload", self.token, {})["one_time_key_counts"].get(
            "signed_curve25519", 0)

    def sync(self) -> None:
        q = {"timeout": "0", "filter": json.dumps({"room": {"rooms": []}})}
        if self.since:
            q["since"] = self.since
        resp = raw("GET", "/sync?" + urllib.parse.urlencode(q), self.token)
        self.since = resp["next_batch"]
        self.to_device += resp.get("to_device", {}).get("events", [])


class Suite:
    def __init__(self):
        self.hearth = fresh_hearth("keys")
        self.data = self.hearth.data
        self.alice = Member(HS, "keyann", "keyannpw", os.path.join(TMP, "k-ann"))
        self.bob = Member(HS, "keybob", "keybobpw", os.path.join(TMP, "k-bob"))
        self.carol = Member(HS, "keycarol", "keycarolpw", os.path.join(TMP, "k-carol"))
        self.room = None

    def hearth_device(self) -> str:
        row = hearth_store.query_one(self.data, "SELECT device_id FROM e2e_account")
        assert row, "Hearth has no device yet"
        return row[0]

    async def hearth_curve(self, m: Member) -> str:
        """The Curve25519 key of this suite's Hearth device, as m's client knows it (@hearth
        has devices of other suites' Hearths too)."""
        dev = self.hearth_device()

        def known():
            return m.client.device_store[BOT].get(dev)
        if not known():
            m.client.olm.users_for_key_query.add(BOT)
            await m.client.keys_query()
        d = await m.wait_until(known, 20, what="Hearth's device")
        return d.curve25519

    async def test_group_room(self):
        a = self.alice
        room = await a.create_room("keys", invite=[BOT, self.bob.user_id], encrypted=True)
        await self.bob.join(room)
        await a.wait_for_join(room, BOT, timeout=30)
        await a.wait_for_join(room, self.bob.user_id, timeout=30)
        r = await reply_to(a, room, await a.send(room, "!about"))
        assert r.encrypted, "the reply in an encrypted room was not encrypted"
        self.room = room

    async def test_bad_signature_refused_and_told(self):
        """keycarol has two devices: her nio client and one whose device keys carry a corrupted
        self-signature. In an encrypted room with Hearth, the good device reads Hearth's reply;
        the bad one gets no room key (its one-time keys are untouched: Hearth never started an
        Olm session with it) and gets m.room_key.withheld, code m.unverified, for the reply's
        session, from Hearth."""
        c = self.carol
        bad = BadDevice("keycarol", "keycarolpw")
        room = await c.create_room("keys-badsig", invite=[BOT], encrypted=True)
        await c.wait_for_join(room, BOT, timeout=30)
        cmd = await c.send(room, "!about")
        r = await reply_to(c, room, cmd)
        assert r.encrypted and r.body, "the good device could not read the reply"
        sid = r.event.session_id
        assert sid, "no session id on the decrypted reply"
        curve = await self.hearth_curve(c)

        def withheld():
            return [ev for ev in bad.to_device if ev.get("type") == "m.room_key.withheld"
                    and ev.get("sender") == BOT and ev["content"].get("session_id") == sid]
        deadline = time.monotonic() + 30
        while not withheld():
            assert time.monotonic() < deadline, \
                f"no m.room_key.withheld for {sid}: {[e.get('type') for e in bad.to_device]}"
            await asyncio.sleep(1)
            bad.sync()
        w = withheld()
        assert len(w) == 1, w
        content = w[0]["content"]
        assert content["code"] == "m.unverified", content
        assert content["room_id"] == room and content["sender_key"] == curve, content
        assert content["algorithm"] == "m.megolm.v1.aes-sha2", content
        assert content.get("reason"), content
        # a second reply in the same session: no key, and no second notice
        r2 = await reply_to(c, room, await c.send(room, "!about"))
        assert r2.event.session_id == sid
        await asyncio.sleep(2)
        bad.sync()
        assert len(withheld()) == 1, "told twice for one session"
        assert not [ev for ev in bad.to_device if ev.get("type") == "m.room.encrypted"
                    and ev.get("sender") == BOT], "Hearth sent the badly signed device a room key"
        assert bad.otk_count() == 5, "Hearth claimed a one-time key of the badly signed device"
        assert bad.device_id in self.hearth.log(), "the refusal is not in the log"

    async def rotation_room(self, name: str, content: dict) -> str:
        b = self.bob
        room = await b.create_room(name, encrypted=True)
        await b._api("PUT", f"/rooms/{urllib.parse.quote(room)}/state/m.room.encryption/",
                     dict({"algorithm": "m.megolm.v1.aes-sha2"}, **content))
        await b.invite(room, BOT)
        await b.wait_for_join(room, BOT, timeout=30)
        return room

    def bot_sessions(self, m: Member, room: str) -> list:
        """[(event id, session id)] of every event Hearth sent in room, in order (the session id
        from the nio member's decrypted event)."""
        m._retry_decryption(room)
        out = []
        for ev in m.timelines.get(room, []):
            if ev.sender == BOT and getattr(ev, "session_id", None):
                assert getattr(ev, "decrypted", False), f"{ev.event_id} did not decrypt"
                out.append((ev.event_id, ev.session_id))
        return out

    async def test_rotation_by_time(self):
        """rotation_period_ms = 6000: two quick replies share a session; a reply after the
        period comes under a new one."""
        b = self.bob
        room = await self.rotation_room("keys-rot-ms", {"rotation_period_ms": 6000})
        t0 = time.monotonic()
        r1 = await reply_to(b, room, await b.send(room, "!about"))
        r2 = await reply_to(b, room, await b.send(room, "!about"))
        quick = time.monotonic() - t0 < 5
        await asyncio.sleep(7)
        r3 = await reply_to(b, room, await b.send(room, "!about"))
        s = dict(self.bot_sessions(b, room))
        assert r1.encrypted and r3.encrypted
        assert s[r1.event_id] == r1.event.session_id and s[r3.event_id] == r3.event.session_id
        if quick:
            assert s[r1.event_id] == s[r2.event_id], "rotated between two quick replies"
        assert s[r2.event_id] != s[r3.event_id], "not rotated after rotation_period_ms"

    async def test_rotation_by_count(self):
        """rotation_period_msgs = 3: every run of Hearth's messages under one session is three
        long (the last may be shorter), over seven replies."""
        b = self.bob
        room = await self.rotation_room("keys-rot-msgs", {"rotation_period_msgs": 3})
        replies = [await reply_to(b, room, await b.send(room, "!about")) for _ in range(7)]
        await settle(b, 1)
        seq = self.bot_sessions(b, room)
        ids = [e for e, _ in seq]
        for r in replies:
            assert r.event_id in ids and r.encrypted, r.event_id
        runs = []
        for _, sid in seq:
            if runs and runs[-1][0] == sid:
                runs[-1][1] += 1
            else:
                runs.append([sid, 1])
        assert len({sid for sid, _ in runs}) == len(runs), "a session came back after rotating"
        assert len(runs) >= 3 and all(n == 3 for _, n in runs[:-1]) and runs[-1][1] <= 3, \
            f"runs of one session: {[n for _, n in runs]}"

    async def test_wedged_session_repaired(self):
        """Hearth loses its Olm sessions with keyann's device. Her client's next two room keys
        (two commands, each under a new Megolm session) travel over the old session: Hearth
        cannot read them, starts one new Olm session with her device and sends m.dummy over
        it (one: the repair is rate-limited per device). Her client now holds a new session
        from Hearth; her next room key travels over it and her next command is answered, the
        answer decrypting."""
        a, room = self.alice, self.room
        curve = await self.hearth_curve(a)
        before = {s.id for s in a.client.olm.session_store[curve]}
        assert before, "keyann has no Olm session with Hearth"
        assert self.hearth.stop() == 0
        hearth_store.execute(self.data, "DELETE FROM e2e_olm_session")
        mark = len(self.hearth.log())
        self.hearth.start()
        wedged = []
        for text in ("!about", "!help"):
            a.client.olm.outbound_group_sessions.pop(room, None)  # a new room key goes out
            wedged.append(await a.send(room, text))

        def new_sessions():
            return [s for s in a.client.olm.session_store[curve] if s.id not in before]
        await a.wait_until(new_sessions, 60, what="new Olm session from Hearth")
        await settle(a, 4)
        assert len(new_sessions()) == 1, f"{len(new_sessions())} new sessions: not rate-limited"
        log = self.hearth.log()[mark:]
        assert log.count("is wedged; starting a new one") == 1, log[-3000:]
        a.client.olm.outbound_group_sessions.pop(room, None)
        cmd = await a.send(room, "!about")
        r = await reply_to(a, room, cmd, timeout=40)
        assert r.encrypted and "Hearth" in r.body, r.body

    async def run(self) -> int:
        order = ["test_group_room", "test_bad_signature_refused_and_told", "test_rotation_by_time",
                 "test_rotation_by_count", "test_wedged_session_repaired"]
        return await run_ordered(self, order, "group room", start=self.hearth.start)


if __name__ == "__main__":
    sys.exit(asyncio.run(Suite().run()))
