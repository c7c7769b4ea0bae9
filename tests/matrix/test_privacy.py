#!/usr/bin/python3
"""Hearth's Matrix privacy suite: what is "private" is decided by who is in the room, never by
what an inviter says (is_direct, m.direct); every event mentions no one; a Hearth at
log_level = debug writes no message body to its log.

Run by tests/matrix/run.sh after test_hearth.py and test_e2ee.py (suite "privacy"): its own Hearth
(own data folder, log TMP/hearth-privacy.log, log_level = debug) and its own members dave, erin
and frank, who have no private chat with Hearth yet. Prints 'N passed, M failed' last.
"""

import asyncio
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from member import Member  # noqa: E402
from test_hearth import (BOT, HS, TMP, Hearth, config_via, free_port,  # noqa: E402
                         replies_to, reply_to, run_ordered, settle, tcp_forward, wait_log)

POINTER = ("replied to you privately", "couldn't reach you privately")
CONSENT = "mood log"          # in the consent text (title and body) and every mood answer
NOTES = ("quillwort-saffron-7731", "marrowfat-obsidian-4410")   # mood notes: never in the log


def privacy_config(port: int) -> str:
    """The suite's config with log_level = debug, a data folder of its own, and the homeserver
    reached through the forwarder on port."""
    data = os.path.join(TMP, "privacy-data")
    os.makedirs(data, exist_ok=True)
    return config_via(port, "hearth-privacy", data_dir=data)


def bot_messages(m: Member, room: str):
    return [x for x in m.messages(room) if x.sender == BOT]


def room_greeting(x) -> bool:
    """Hearth's introduction when it joins a group room, or a member's welcome: said in the room
    on purpose, never a reply (issue 10)."""
    return not x.in_reply_to and (x.body.startswith("Hello, I'm Hearth") or x.body.startswith("Welcome"))


def private_content(msgs):
    """Hearth's messages that are more than the pointer (or a greeting) a group room may see."""
    return [x for x in msgs if not any(p in x.body for p in POINTER) and not room_greeting(x)]


class Suite:
    def __init__(self):
        self.port = free_port()
        self.delay = {"send": 0.0}
        self.server = None
        self.hearth = Hearth("hearth-privacy", privacy_config(self.port))
        # run_ordered logs in and closes the members named alice, bob and carol
        self.alice = Member(HS, "dave", "davepw", os.path.join(TMP, "dave"))
        self.bob = Member(HS, "erin", "erinpw", os.path.join(TMP, "erin"))
        self.carol = Member(HS, "frank", "frankpw", os.path.join(TMP, "frank"))
        self.room = None
        self.dave_dm = None
        self.erin_dm = None

    async def private_answer(self, m: Member, old: set, timeout: float = 40):
        """A new private chat Hearth opened for m (invite from Hearth): joined; its id."""
        dm = await m.wait_for_invite(timeout=timeout, inviter=BOT)
        assert dm not in old, f"{dm} is not a new room"
        assert m.invites[dm]["is_direct"], "Hearth's private chat invite is not is_direct"
        await m.join(dm)
        await m.wait_until(lambda: m.members(dm) == sorted([BOT, m.user_id]), 20,
                           what=f"{dm} with exactly Hearth and {m.user_id}")
        return dm

    async def two_person_chat(self, m: Member, text: str):
        """A new chat of m and Hearth alone (is_direct), Hearth joined, text sent in it: the
        room and Hearth's reply."""
        room = await m.create_room(None, invite=[BOT], is_direct=True)
        await m.wait_for_join(room, BOT, timeout=30)
        cmd = await m.send(room, text)
        return room, await reply_to(m, room, cmd)

    # -- tests, in order ----------------------------------------------------

    async def test_hearth_starts_at_debug(self):
        """Hearth starts at log_level = debug, through a forwarder that can hold its sends."""
        self.server = await tcp_forward(self.port, HS, self.delay)
        mark = self.hearth.launch()
        await wait_log(self.hearth, "first sync done", 60, mark)

    async def test_spoofed_direct_invite_into_group_room(self):
        """dave invites Hearth with is_direct into a room of three members (and lists it in his
        m.direct): the room stays a group room. The consent text goes to a new private chat,
        encrypted, that Hearth opens; the group room gets only the pointer."""
        dave, erin, frank = self.alice, self.bob, self.carol
        room = await dave.create_room("spoof", invite=[BOT, erin.user_id, frank.user_id],
                                      is_direct=True)
        assert dave.direct, "the spoofing invite did not record m.direct"
        await erin.join(room)
        await frank.join(room)
        await dave.wait_for_join(room, BOT, timeout=30)
        await dave.wait_for_join(room, frank.user_id)
        self.room = room
        old = set(dave.client.rooms)
        cmd = await dave.send(room, "!mood optin")
        r = await reply_to(dave, room, cmd)
        assert any(p in r.body for p in POINTER), f"the group room got {r.body!r}"
        dm = await self.private_answer(dave, old)
        c = await dave.wait_for_message(dm, sender=BOT, timeout=30,
                                        predicate=lambda x: CONSENT in x.body)
        assert c.encrypted, "the private chat Hearth opened is not encrypted"
        enc = await dave.client.room_get_state_event(dm, "m.room.encryption")
        assert getattr(enc, "content", {}).get("algorithm") == "m.megolm.v1.aes-sha2", enc
        await settle(dave, 2)
        leaked = private_content(bot_messages(dave, room))
        assert not leaked, f"private content in the group room: {[x.body for x in leaked]}"
        self.dave_dm = dm

    async def test_mood_reply_never_in_spoofed_room(self):
        """A mood entry said in the spoofed room: the answer goes to the private chat."""
        dave = self.alice
        cmd = await dave.send(self.dave_dm, "!mood optin confirm")
        await reply_to(dave, self.dave_dm, cmd)
        cmd = await dave.send(self.room, f"!mood 4 {NOTES[0]}")
        r = await reply_to(dave, self.room, cmd)
        assert any(p in r.body for p in POINTER), f"the group room got {r.body!r}"
        await dave.wait_for_message(self.dave_dm, sender=BOT, timeout=30,
                                    predicate=lambda x: "4/10" in x.body)
        await settle(dave, 2)
        leaked = private_content(bot_messages(dave, self.room))
        assert not leaked, f"private content in the group room: {[x.body for x in leaked]}"

    async def test_replies_mention_nobody(self):
        """Every reply carries an empty m.mentions (Hearth pings no one, not the room)."""
        dave = self.alice
        cmd = await dave.send(self.room, "!help")
        r = await reply_to(dave, self.room, cmd)
        assert r.content.get("m.mentions") == {}, f"m.mentions of a reply: {r.content}"
        for x in bot_messages(dave, self.room):
            if room_greeting(x) and x.body.startswith("Welcome"):
                # a welcome mentions the one member who joined, never the room or anyone else
                ids = (x.content.get("m.mentions") or {}).get("user_ids")
                assert set(x.content.get("m.mentions")) == {"user_ids"} and len(ids) == 1 and \
                    ids[0] in (self.bob.user_id, self.carol.user_id), f"welcome: {x.content}"
                continue
            assert x.content.get("m.mentions") == {}, f"m.mentions missing: {x.content}"
        for x in bot_messages(dave, self.dave_dm):
            assert x.content.get("m.mentions") == {}, f"m.mentions missing in the DM: {x.content}"

    async def test_private_chat_stops_being_private_when_someone_joins(self):
        """erin's two-person chat with Hearth is private; once frank joins, Hearth's private
        answers no longer go there but to a new private chat."""
        erin, frank = self.bob, self.carol
        room, r = await self.two_person_chat(erin, "!mood optin")
        assert CONSENT in r.body, f"the real private chat did not get the consent: {r.body!r}"
        await erin.invite(room, frank.user_id)
        await frank.join(room)
        await erin.wait_for_join(room, frank.user_id)
        old = set(erin.client.rooms)
        cmd = await erin.send(room, "!mood optin")
        r = await reply_to(erin, room, cmd)
        assert any(p in r.body for p in POINTER), f"after frank joined the room got {r.body!r}"
        dm = await self.private_answer(erin, old)
        await erin.wait_for_message(dm, sender=BOT, timeout=30,
                                    predicate=lambda x: CONSENT in x.body)
        await settle(erin, 2)
        after = [x for x in bot_messages(erin, room) if x.server_ts >= r.server_ts]
        leaked = private_content(after)
        assert not leaked, f"private content after the join: {[x.body for x in leaked]}"
        # the private chat keeps working
        cmd = await erin.send(dm, "!mood optin confirm")
        await reply_to(erin, dm, cmd)
        cmd = await erin.send(dm, f"!mood 6 {NOTES[1]}")
        r = await reply_to(erin, dm, cmd)
        assert NOTES[1] not in r.body
        self.erin_dm = dm

    async def test_queued_private_replies_rechecked_before_sending(self):
        """Private replies queued for a two-person chat while a third person joins it: each is
        checked again right before it goes out, so those still queued go to erin's private chat.
        Hearth's sends are held 3 s each on the way, so replies queue up behind the first."""
        erin, frank = self.bob, self.carol
        room, r = await self.two_person_chat(erin, "!mood history")
        assert not any(p in r.body for p in POINTER), f"a private chat got the pointer: {r.body!r}"
        marks = bot_messages(erin, self.erin_dm)
        self.delay["send"] = 3.0
        try:
            cmds = [await erin.send(room, "!mood history") for _ in range(3)]
            await erin.invite(room, frank.user_id)
            await frank.join(room)
            await asyncio.sleep(10)  # the first reply (in flight at the join) and the reroutes
        finally:
            self.delay["send"] = 0.0
        await erin.wait_until(
            lambda: len(bot_messages(erin, self.erin_dm)) >= len(marks) + 2, 30,
            what="the queued replies in erin's private chat")
        await settle(erin, 2)
        for c in cmds[1:]:
            got = replies_to(erin, room, c)
            assert not got, f"a queued private reply went out after frank joined: {got[0].body!r}"
        late = [x for x in bot_messages(erin, room) if x.server_ts > r.server_ts
                and not any(p in x.body for p in POINTER) and not room_greeting(x)]
        assert len(late) <= 1, f"{len(late)} private replies in the room after frank was invited"

    async def test_invited_third_person_makes_room_not_private(self):
        """dave's own two-person chat is private until he invites frank (who does not join):
        an invited member can join and read, so private answers go to dave's private chat."""
        dave, frank = self.alice, self.carol
        room, r = await self.two_person_chat(dave, "!mood history")
        assert not any(p in r.body for p in POINTER), f"a private chat got the pointer: {r.body!r}"
        await dave.invite(room, frank.user_id)
        await dave.sync_once()
        last = bot_messages(dave, self.dave_dm)[-1].event_id
        cmd = await dave.send(room, "!mood history")
        r = await reply_to(dave, room, cmd)
        assert any(p in r.body for p in POINTER), f"with frank invited the room got {r.body!r}"
        # into the private chat he already has, not a new one
        await dave.wait_for_message(self.dave_dm, sender=BOT, timeout=30, after_event_id=last)
        await settle(dave, 1)
        fresh = [x for x in dave.invites if x not in dave._invites_taken and x != room]
        assert not fresh, f"a new private chat was opened although one exists: {fresh}"

    async def test_private_chat_found_again_after_restart(self):
        """After a restart, before dave's private chat has news, a private answer goes to that
        chat (found through Hearth's m.direct, then checked from its member list), not to a new
        one; and the group room's power levels are known again (read with its members)."""
        dave = self.alice
        assert self.hearth.stop() == 0
        mark = self.hearth.launch()
        await wait_log(self.hearth, "continuing from", 30, mark)
        # the room's state is read again: dave created it, he is still its moderator
        cmd = await dave.send(self.room, "!mod help")
        r = await reply_to(dave, self.room, cmd)
        assert "only this room's moderators" not in r.body, "the creator lost his role"
        last = bot_messages(dave, self.dave_dm)[-1].event_id
        cmd = await dave.send(self.room, "!mood history")
        r = await reply_to(dave, self.room, cmd)
        assert any(p in r.body for p in POINTER), f"the group room got {r.body!r}"
        await dave.wait_for_message(self.dave_dm, sender=BOT, timeout=30, after_event_id=last)
        await settle(dave, 1)
        fresh = [x for x in dave.invites if x not in dave._invites_taken]
        assert not fresh, f"a new private chat was opened after the restart: {fresh}"

    async def test_debug_log_has_no_message_bodies(self):
        """Hearth ran at log_level = debug through the suite: its log has debug lines but not
        one of the mood notes members sent."""
        log = self.hearth.log()
        assert " debug matrix: message " in log, "Hearth did not log at debug"
        for note in NOTES:
            assert note not in log, f"a mood note reached the debug log: {note}"
        assert "Before you start a mood log" not in log, "a reply text reached the log"

    async def run(self) -> int:
        order = [
            "test_hearth_starts_at_debug", "test_spoofed_direct_invite_into_group_room", "test_mood_reply_never_in_spoofed_room",
            "test_replies_mention_nobody",
            "test_private_chat_stops_being_private_when_someone_joins",
            "test_queued_private_replies_rechecked_before_sending",
            "test_invited_third_person_makes_room_not_private",
            "test_private_chat_found_again_after_restart",
            "test_debug_log_has_no_message_bodies",
        ]
        try:
            return await run_ordered(self, order, "spoofed room", first_without_hearth=1)
        finally:
            if self.server:
                self.server.close()


if __name__ == "__main__":
    t0 = time.monotonic()
    sys.exit(asyncio.run(Suite().run()))
