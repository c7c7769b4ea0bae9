#!/usr/bin/python3
"""Matrix, complete (issue 16): the real hearth, a real Synapse, real nio members.

- Long replies are split, not cut: a `!mood history` whose rendering is over one notice's size
  arrives as several notices, in order, each with its HTML and under the size.

Run by tests/matrix/run.sh (HEARTH_MATRIX_SUITES=complete). Environment as for test_hearth.py.
Prints 'N passed, M failed' last.
"""

import asyncio
import concurrent.futures
import json
import os
import urllib.parse
import urllib.request
import uuid
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from member import Member  # noqa: E402
import sqlite3  # noqa: E402
from test_hearth import BOT, HS, TMP, api, hearth_token, run_ordered, reply_to, settle  # noqa: E402
from test_sync_position import all_answered_once, fresh_hearth, history_replies  # noqa: E402

CATCH_UP_MINUTES = 2
GAP_MESSAGES = 450
NOTICE_MAX = 16000  # MX_NOTICE_MAX in bot/net/matrix/split.h: body plus formatted_body


def raw_send(m: Member, room: str, text: str) -> str:
    """One m.text through the client-server API (thread-safe, for sending many at once)."""
    url = (f"{HS}/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/send/m.room.message/"
           f"c{uuid.uuid4().hex}")
    body = json.dumps({"msgtype": "m.text", "body": text}).encode()
    req = urllib.request.Request(url, data=body, method="PUT", headers={
        "Authorization": "Bearer " + m.client.access_token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.load(resp)["event_id"]


class Suite:
    def __init__(self):
        self.hearth = fresh_hearth("complete")
        self.data = self.hearth.data
        with open(self.hearth.config, "a") as f:
            f.write(f"catch_up_minutes = {CATCH_UP_MINUTES}\n")
        self.alice = Member(HS, "alice", "alicepw", os.path.join(TMP, "c-alice"))
        self.bob = Member(HS, "bob", "bobpw", os.path.join(TMP, "c-bob"))
        self.carol = Member(HS, "carol", "carolpw", os.path.join(TMP, "c-carol"))
        self.room = None
        self.dm = None

    async def test_group_room(self):
        room = await self.alice.create_room("complete", invite=[BOT, self.bob.user_id, self.carol.user_id],
                                            power_levels={"bob": 50, "carol": 0})
        await self.bob.join(room)
        await self.carol.join(room)
        await self.alice.wait_for_join(room, BOT, timeout=30)
        dm = await self.alice.create_room(None, invite=[BOT], is_direct=True)
        await self.alice.wait_for_join(dm, BOT, timeout=30)
        self.room, self.dm = room, dm

    async def test_long_reply_split_not_cut(self):
        """Ten entries with notes of 480 characters, each half '<' (HTML makes it four bytes)
        and half an emoji (four bytes): `!mood history` renders to about 33 kB, more than one
        notice holds. It comes as several notices, in order, the first the reply, each with
        its HTML and under the size, and every note is there, whole."""
        a, dm = self.alice, self.dm
        r = await reply_to(a, dm, await a.send(dm, "!mood optin"))
        r = await reply_to(a, dm, await a.send(dm, "!mood optin confirm"))
        assert "ready" in r.body, r.body
        notes = [f"n{k}x " + "\U0001F600<" * 238 for k in range(10)]
        for note in notes:
            await reply_to(a, dm, await a.send(dm, "!mood 6 " + note))
        cmd = await a.send(dm, "!mood history")
        first = await reply_to(a, dm, cmd, timeout=30)

        def parts():
            out, on = [], False
            for m in a.messages(dm):
                if m.event_id == first.event_id:
                    on = True
                if on and m.sender == BOT:
                    out.append(m)
            return out

        deadline = time.monotonic() + 30
        while "Latest entries" not in "".join(p.body for p in parts()) or \
                not all(f"n{k}x" in "".join(p.body for p in parts()) for k in range(10)):
            assert time.monotonic() < deadline, [p.body[:80] for p in parts()]
            await settle(a, 1)
        await settle(a, 2)
        ps = parts()
        assert len(ps) >= 2, f"one notice of {len(ps[0].body)} bytes: not split"
        body = "\n".join(p.body for p in ps)
        assert body.index("Your mood, last") < body.index("Latest entries"), "out of order"
        order = [body.index(f"n{k}x") for k in range(9, -1, -1)]  # newest first
        assert order == sorted(order), "entries out of order"
        for note in notes:
            assert note in body, "a note was cut"
        for i, p in enumerate(ps):
            html = p.content.get("formatted_body") or ""
            assert p.msgtype == "m.notice" and p.content.get("format") == "org.matrix.custom.html", p.content
            assert len(p.body.encode()) + len(html.encode()) <= NOTICE_MAX, (i, len(p.body), len(html))
            assert html.count("<pre>") == html.count("</pre>") and "```" not in html, html[:300]
            assert (p.in_reply_to == cmd) == (i == 0), (i, p.in_reply_to)
        assert len([m for m in a.messages(dm) if m.in_reply_to == cmd]) == 1

    async def test_no_message_left_behind(self):
        """Hearth is down. Three commands are sent, then more than catch_up_minutes pass, then
        450 messages (every tenth a command): the sync returns the latest 100 (limited), the
        gap takes more than one /messages page. Every command of the 450 is answered exactly
        once; the three old ones never, and the log names them by id only."""
        a, b, room = self.alice, self.bob, self.room
        assert self.hearth.stop() == 0
        old = [await a.send(room, f"!about old {i}") for i in range(3)]
        await asyncio.sleep(CATCH_UP_MINUTES * 60 + 5)
        t0 = time.monotonic()
        jobs = [(a if i % 10 == 0 else b, ("!help" if i % 20 else "!about") if i % 10 == 0
                 else f"chatter {i}") for i in range(GAP_MESSAGES)]  # bounded: 450 sends
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda j: raw_send(j[0], room, j[1]), jobs))
        cmds = [ids[i] for i in range(GAP_MESSAGES) if i % 10 == 0]
        sent_in = time.monotonic() - t0
        assert sent_in < CATCH_UP_MINUTES * 60 / 2, f"sending took {sent_in:.0f} s: inconclusive"
        mark = len(self.hearth.log())
        self.hearth.start()
        waited = await all_answered_once(a, room, cmds, 180, "gap")
        print(f"  {len(cmds)} commands in a gap of {GAP_MESSAGES} answered in {waited:.1f} s "
              f"(sent in {sent_in:.1f} s)", flush=True)
        counts = history_replies(a, room)
        assert not [c for c in old if counts.get(c)], "a command older than catch_up_minutes was answered"
        log = self.hearth.log()[mark:]
        for c in old:
            assert c in log and "minutes old" in log, f"{c} not logged as skipped"
        assert "old 0" not in log and "chatter" not in log, "a message body reached the log"

    def store_bytes(self) -> bytes:
        out = b""
        for name in ("hearth.db", "hearth.db-wal", "hearth.db-journal"):
            path = os.path.join(self.data, name)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    out += f.read()
        return out

    async def test_token_sealed_at_rest(self):
        """The store holds the token sealed only: no byte of hearth.db (or its WAL) is the
        token. A token kept in clear (as an older Hearth did) is reused, sealed at once, and
        its clear copy overwritten."""
        token = hearth_token(self.data)  # asserts it is sealed, opens it with e2e.key
        assert api("/account/whoami", token)["user_id"] == BOT
        assert token.encode() not in self.store_bytes(), "the token is in clear in the store"
        assert self.hearth.stop() == 0
        assert token.encode() not in self.store_bytes(), "the token is in clear in the store"
        db = sqlite3.connect(os.path.join(self.data, "hearth.db"))
        db.execute("UPDATE kv SET value = ? WHERE ns = 'matrix' AND key = 'access_token'", (token,))
        db.commit()
        db.close()
        assert token.encode() in self.store_bytes()  # the old form, as an older Hearth left it
        mark = len(self.hearth.log())
        self.hearth.start()
        r = await reply_to(self.alice, self.room, await self.alice.send(self.room, "!about"))
        assert r.body
        log = self.hearth.log()[mark:]
        assert "sealing it" in log and "logged in as" not in log, log[-2000:]
        assert hearth_token(self.data) == token, "not the same session"
        assert self.hearth.stop() == 0
        assert token.encode() not in self.store_bytes(), "the clear token stayed in the store"
        assert token not in self.hearth.log(), "the token reached the log"
        self.hearth.start()

    async def test_withheld_key_told_once(self):
        """Alice's client blocks Hearth's device in an encrypted room (no room key for it) and
        sends it m.room_key.withheld (m.blacklisted) from her device, as clients do: Hearth
        cannot read her `!help` and tells her privately, once, why."""
        a = self.alice
        room = await a.create_room("sealed-withheld", invite=[BOT], encrypted=True)
        await a.wait_for_join(room, BOT, timeout=30)
        await a.sync_once()
        if a.client.should_query_keys:
            await a.client.keys_query()
        devs = list(a.client.device_store.active_user_devices(BOT))
        assert devs, "Hearth's device is not known to alice"
        for d in devs:
            a.client.blacklist_device(d)

        def withheld(sid: str):
            content = {"algorithm": "m.megolm.v1.aes-sha2", "room_id": room, "session_id": sid,
                       "sender_key": a.client.olm.account.identity_keys["curve25519"],
                       "code": "m.blacklisted", "reason": "reason-text-7q"}
            body = {"messages": {BOT: {d.id: content for d in devs}}}
            url = f"{HS}/_matrix/client/v3/sendToDevice/m.room_key.withheld/w{uuid.uuid4().hex}"
            req = urllib.request.Request(url, data=json.dumps(body).encode(), method="PUT", headers={
                "Authorization": "Bearer " + a.client.access_token,
                "Content-Type": "application/json"})
            urllib.request.urlopen(req, timeout=30).read()

        def notes():
            out = []
            for r in list(a.client.rooms):
                out += [m for m in a.messages(r) if m.sender == BOT and "couldn't read a message" in m.body]
            return out

        before = len(notes())
        cmd = await a.send(room, "!help")
        sid = a.client.olm.outbound_group_sessions[room].id
        withheld(sid)
        deadline = time.monotonic() + 40
        while len(notes()) == before:
            assert time.monotonic() < deadline, "no note about the withheld key"
            for r in a.invites:  # a private chat Hearth may open
                if r not in a.client.rooms:
                    await a.join(r)
            await settle(a, 1)
        note = notes()[-1]
        assert "blocked my device" in note.body and note.msgtype == "m.notice", note.body
        assert not [m for m in a.messages(room) if m.sender == BOT and m.in_reply_to == cmd]
        await a.send(room, "!about")  # the same session, withheld again: no second note
        withheld(sid)
        await settle(a, 6)
        assert len(notes()) == before + 1, "told twice"
        assert "m.blacklisted" in self.hearth.log() and "reason-text-7q" not in self.hearth.log()
        for d in devs:  # Hearth's device trusted again for the tests after this one
            a.client.unblacklist_device(d)

    def bot_sessions(self, m: Member, room: str) -> dict:
        """{event id: Megolm session id} of Hearth's encrypted events, from the room's history."""
        url = (f"{HS}/_matrix/client/v3/rooms/{urllib.parse.quote(room)}/messages?dir=b&limit=100")
        req = urllib.request.Request(url, headers={"Authorization": "Bearer " + m.client.access_token})
        with urllib.request.urlopen(req, timeout=30) as resp:
            page = json.load(resp)
        return {ev["event_id"]: ev["content"].get("session_id") for ev in page.get("chunk", [])
                if ev.get("sender") == BOT and ev.get("type") == "m.room.encrypted"}

    async def test_time_based_rotation(self):
        a = self.bob  # (alice's app blocked Hearth's device in the test before)
        room = await a.create_room("rotating", encrypted=True)
        await a._api("PUT", f"/rooms/{urllib.parse.quote(room)}/state/m.room.encryption/",
                     {"algorithm": "m.megolm.v1.aes-sha2", "rotation_period_ms": 4000})
        await a.invite(room, BOT)
        await a.wait_for_join(room, BOT, timeout=30)
        r1 = await reply_to(a, room, await a.send(room, "!about"))
        r2 = await reply_to(a, room, await a.send(room, "!about"))
        await asyncio.sleep(5)
        r3 = await reply_to(a, room, await a.send(room, "!about"))
        s = self.bot_sessions(a, room)
        assert s.get(r1.event_id) and s.get(r3.event_id), s
        assert s[r1.event_id] == s[r2.event_id], "rotated between two quick replies"
        assert s[r1.event_id] != s[r3.event_id], "not rotated after rotation_period_ms"

    async def run(self) -> int:
        order = ["test_group_room", "test_long_reply_split_not_cut", "test_token_sealed_at_rest",
                 "test_withheld_key_told_once", "test_time_based_rotation",
                 "test_no_message_left_behind"]
        return await run_ordered(self, order, "group room", start=self.hearth.start)


if __name__ == "__main__":
    sys.exit(asyncio.run(Suite().run()))
