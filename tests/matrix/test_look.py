#!/usr/bin/python3
"""Issue 11 on Matrix: the mood chart as an encrypted m.image, and check-ins answered with one tap.

Run by tests/matrix/run.sh (suite "look"): a Hearth of its own (data folder TMP/look-data, so
its mood log can be counted) and the members dave, erin and frank (accounts lookdave, lookerin, lookfrank) in an encrypted group room
(erin a moderator who can redact). Prints 'N passed, M failed' last.
"""

import asyncio
import os
import signal
import sqlite3
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from member import Member  # noqa: E402
from nio.crypto import decrypt_attachment  # noqa: E402
from test_hearth import BOT, HS, TMP, config_with_data, Hearth, reply_to, run_ordered, settle  # noqa: E402

SCALE = ["😞", "🙁", "😐", "🙂", "😄"]
DATA = os.path.join(TMP, "look-data")


def look_config() -> str:
    return config_with_data("hearth-look", DATA)


def entries(member: str) -> int:
    """Rows in Hearth's mood log for member (read beside the running Hearth)."""
    db = sqlite3.connect(f"file:{os.path.join(DATA, 'hearth.db')}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM mood_entry WHERE member = ?", (member,)).fetchone()[0]
    finally:
        db.close()


def pending_checkins() -> int:
    """Scheduled check-ins Hearth recorded whose PUT has not been answered (its store)."""
    db = sqlite3.connect(f"file:{os.path.join(DATA, 'hearth.db')}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT count(*) FROM mx_checkin_pending").fetchone()[0]
    finally:
        db.close()


def event_dict(ev) -> dict:
    src = dict(getattr(ev, "source", None) or {})
    return src


def reactions(m: Member, room: str, target: str, sender: str = None):
    """The keys of the m.reaction events (decrypted ones too) annotating target."""
    m._retry_decryption(room)
    out = []
    for ev in m.timelines.get(room, []):
        src = event_dict(ev)
        if src.get("type") != "m.reaction":
            continue
        rel = (src.get("content") or {}).get("m.relates_to") or {}
        if rel.get("event_id") == target and (sender is None or src.get("sender") == sender):
            out.append(rel.get("key"))
    return out


class Suite:
    def __init__(self):
        self.hearth = Hearth("hearth-look", look_config())
        # Their own accounts: the privacy suite's dave/erin/frank already have private chats with
        # Hearth on this homeserver, and this suite waits for Hearth to open new ones.
        self.alice = Member(HS, "lookdave", "davepw", os.path.join(TMP, "look-dave"))
        self.bob = Member(HS, "lookerin", "erinpw", os.path.join(TMP, "look-erin"))
        self.carol = Member(HS, "lookfrank", "frankpw", os.path.join(TMP, "look-frank"))
        self.room = None
        self.dm = {}
        self.prompt = None

    async def react(self, m: Member, room: str, target: str, key: str) -> str:
        resp = await m.client.room_send(room, "m.reaction", {"m.relates_to": {
            "rel_type": "m.annotation", "event_id": target, "key": key}},
            ignore_unverified_devices=True)
        assert hasattr(resp, "event_id"), f"reaction not sent: {resp}"
        return resp.event_id

    async def private_chat(self, m: Member, timeout: float = 40) -> str:
        if m.user_id in self.dm:
            return self.dm[m.user_id]
        dm = await m.wait_for_invite(timeout=timeout, inviter=BOT)
        await m.join(dm)
        self.dm[m.user_id] = dm
        return dm

    async def private_says(self, m: Member, text: str, after: int = 0, timeout: float = 40):
        dm = await self.private_chat(m)
        found = await m.wait_until(
            lambda: [x for x in m.messages(dm)[after:] if x.sender == BOT and text in x.body],
            timeout, what=f"a private message with {text!r}")
        return found[0]

    async def checkin(self, m: Member) -> str:
        """!checkin in the room; Hearth's answer, once its five reactions are under it."""
        cmd = await m.send(self.room, "!checkin")
        prompt = (await reply_to(m, self.room, cmd)).event_id
        await m.wait_until(lambda: sorted(reactions(m, self.room, prompt, BOT)) == sorted(SCALE), 30,
                           what="Hearth's five reactions under its check-in")
        return prompt

    # -- tests, in order ----------------------------------------------------

    async def test_hearth_starts(self):
        self.hearth.start()

    async def test_encrypted_group_room(self):
        dave, erin, frank = self.alice, self.bob, self.carol
        room = await dave.create_room("look", invite=[BOT, erin.user_id, frank.user_id], encrypted=True,
                                      power_levels={"lookerin": 100})
        await erin.join(room)
        await frank.join(room)
        await dave.wait_for_join(room, BOT, timeout=30)
        await dave.wait_for_join(room, frank.user_id)
        self.room = room

    async def test_checkin_gets_the_scale(self):
        """!checkin in the encrypted room: Hearth adds exactly its five reactions under it."""
        dave = self.alice
        # dave opts in (the consent text goes to a private chat Hearth opens)
        await dave.send(self.room, "!mood optin")
        dm = await self.private_chat(dave)
        await self.private_says(dave, "mood log")
        await dave.send(dm, "!mood optin confirm")
        await self.private_says(dave, "only you can see it")
        self.prompt = await self.checkin(dave)
        assert len(reactions(dave, self.room, self.prompt, BOT)) == 5

    async def test_opted_in_tap_logs_one_entry(self):
        dave = self.alice
        n = len(dave.messages(self.dm[dave.user_id]))
        await self.react(dave, self.room, self.prompt, "🙂")
        await self.private_says(dave, "8 in your mood log", after=n)
        assert entries(dave.user_id) == 1
        # a second tap (a flood) on the same check-in logs nothing more and says nothing more
        n = len(dave.messages(self.dm[dave.user_id]))
        for key in ("😄", "😞", "🙂\ufe0f"):
            await self.react(dave, self.room, self.prompt, key)
        await settle(dave, 4)
        assert entries(dave.user_id) == 1
        assert not [x for x in dave.messages(self.dm[dave.user_id])[n:] if x.sender == BOT]

    async def test_other_targets_and_emoji_do_nothing(self):
        """A scale emoji on another message, and another emoji on the check-in: nothing."""
        dave, frank = self.alice, self.carol
        other = await frank.send(self.room, "hello all")
        prompt2 = await self.checkin(frank)  # a fresh check-in dave has not answered
        await self.react(dave, self.room, other, "🙂")
        await self.react(dave, self.room, prompt2, "👍")
        await settle(dave, 4)
        assert entries(dave.user_id) == 1
        self.prompt2 = prompt2

    async def test_someone_elses_redaction_keeps_the_entry(self):
        """erin (a moderator) redacts dave's tap on prompt2: the entry stays."""
        dave, erin = self.alice, self.bob
        n = len(dave.messages(self.dm[dave.user_id]))
        tap = await self.react(dave, self.room, self.prompt2, "🙁")
        await self.private_says(dave, "4 in your mood log", after=n)
        assert entries(dave.user_id) == 2
        await erin.client.room_redact(self.room, tap, reason="moderation")
        await settle(dave, 4)
        assert entries(dave.user_id) == 2, "another's redaction removed dave's entry"

    async def test_own_redaction_within_ten_minutes_removes_it(self):
        dave = self.alice
        prompt3 = await self.checkin(dave)
        n = len(dave.messages(self.dm[dave.user_id]))
        tap = await self.react(dave, self.room, prompt3, "😐")
        await self.private_says(dave, "6 in your mood log", after=n)
        assert entries(dave.user_id) == 3
        n = len(dave.messages(self.dm[dave.user_id]))
        await dave.client.room_redact(self.room, tap)
        await self.private_says(dave, "took the 6 out", after=n)
        assert entries(dave.user_id) == 2

    async def test_redaction_after_a_restart_removes_it(self):
        """Issue 11: which reaction logged which entry is kept in the store, so the member's
        redaction after Hearth restarted still takes the entry out."""
        dave = self.alice
        prompt = await self.checkin(dave)
        n = len(dave.messages(self.dm[dave.user_id]))
        tap = await self.react(dave, self.room, prompt, "🙂")
        await self.private_says(dave, "8 in your mood log", after=n)
        before = entries(dave.user_id)
        self.hearth.stop()
        self.hearth.start()
        n = len(dave.messages(self.dm[dave.user_id]))
        await dave.client.room_redact(self.room, tap)
        await self.private_says(dave, "took the 8 out", after=n)
        assert entries(dave.user_id) == before - 1

    async def test_tap_after_a_restart_logs_it(self):
        """Issue 11: the check-ins that take taps are kept in the store, so a tap on a check-in
        posted before Hearth restarted still logs the entry (and a tap on another message after
        the restart still does nothing)."""
        dave, frank = self.alice, self.carol
        prompt = await self.checkin(dave)
        other = await frank.send(self.room, "still here")
        before = entries(dave.user_id)
        self.hearth.stop()
        self.hearth.start()
        n = len(dave.messages(self.dm[dave.user_id]))
        await self.react(dave, self.room, other, "😞")
        await self.react(dave, self.room, prompt, "🙂")
        await self.private_says(dave, "8 in your mood log", after=n)
        await settle(dave, 4)
        assert entries(dave.user_id) == before + 1, "the tap after a restart was not logged once"

    async def test_not_opted_in_stores_nothing_one_hint(self):
        erin, frank = self.bob, self.carol
        await self.react(frank, self.room, self.prompt, "😞")
        await self.private_says(frank, "!mood optin")
        n = len(frank.messages(self.dm[frank.user_id]))
        await self.react(frank, self.room, self.prompt2, "😄")
        await settle(frank, 4)
        assert entries(frank.user_id) == 0
        assert not [x for x in frank.messages(self.dm[frank.user_id])[n:] if x.sender == BOT], \
            "a second hint"
        db = sqlite3.connect(f"file:{os.path.join(DATA, 'hearth.db')}?mode=ro", uri=True)
        try:
            for table in ("mood_entry", "mood_consent"):
                n = db.execute(f"SELECT count(*) FROM {table} WHERE member = ?", (frank.user_id,)).fetchone()[0]
                assert n == 0, f"{table} holds frank"
        finally:
            db.close()

    async def test_chart_is_an_encrypted_image(self):
        """!mood chart in dave's encrypted private chat: an m.image with its info and a text body,
        the file encrypted before upload (the media store holds no PNG)."""
        dave = self.alice
        dm = self.dm[dave.user_id]
        n = len(dave.messages(dm))
        await dave.send(dm, "!mood chart")
        img = await dave.wait_until(
            lambda: [x for x in dave.messages(dm)[n:] if x.sender == BOT and x.msgtype == "m.image"],
            40, what="the chart")
        img = img[0]
        c = img.content
        info = c.get("info") or {}
        assert info.get("mimetype") == "image/png" and info.get("w") == 900 and info.get("h") == 480, info
        assert "Mood chart" in c.get("body", "") and "2 entries" in c.get("body", ""), c.get("body")
        assert "url" not in c and "file" in c, "the chart went up unencrypted"
        f = c["file"]
        server, media = f["url"][len("mxc://"):].split("/", 1)
        cipher = None
        for path in (f"/_matrix/client/v1/media/download/{server}/{media}",
                     f"/_matrix/media/v3/download/{server}/{media}"):
            req = urllib.request.Request(HS + path, headers={
                "Authorization": "Bearer " + dave.client.access_token})
            try:
                with urllib.request.urlopen(req, timeout=20) as resp:
                    cipher = resp.read()
                break
            except urllib.error.HTTPError:
                continue
        assert cipher, "could not download the chart"
        assert cipher[:8] != b"\x89PNG\r\n\x1a\n", "the media store holds the plain PNG"
        plain = decrypt_attachment(cipher, f["key"]["k"], f["hashes"]["sha256"], f["iv"])
        assert plain[:8] == b"\x89PNG\r\n\x1a\n" and len(plain) == info.get("size"), len(plain)
        await self.private_says(dave, "That's your mood", after=n)

    async def test_scheduled_checkin_in_a_plain_room(self):
        """A scheduled check-in (next minute but one) in an unencrypted room gets the scale too, and
        dave's tap there logs an entry: plain reactions take the same path."""
        dave, erin = self.alice, self.bob
        room = await dave.create_room("look-plain", invite=[BOT, erin.user_id])
        await erin.join(room)
        await dave.wait_for_join(room, BOT, timeout=30)
        t = time.gmtime(time.time() + 75)
        cmd = await dave.send(room, f'!mod checkin add "{t.tm_min} {t.tm_hour} * * *" UTC')
        r = await reply_to(dave, room, cmd)
        assert "Nothing was added" not in r.body, r.body
        posted = await dave.wait_until(
            lambda: [x for x in dave.messages(room) if x.sender == BOT and not x.in_reply_to
                     and sorted(reactions(dave, room, x.event_id, BOT)) == sorted(SCALE)],
            150, what="a scheduled check-in with its scale")
        before = entries(dave.user_id)
        n = len(dave.messages(self.dm[dave.user_id]))
        await self.react(dave, room, posted[0].event_id, "😄")
        await self.private_says(dave, "10 in your mood log", after=n)
        assert entries(dave.user_id) == before + 1
        cmd = await dave.send(room, "!mod pause")
        await reply_to(dave, room, cmd)

    async def test_scheduled_checkin_cut_off_by_sigkill(self):
        """Issue 11: a scheduled check-in whose PUT has left when Hearth is SIGKILLed (the
        homeserver is frozen with SIGSTOP so the PUT cannot be answered, then woken after the
        kill) is, after the restart, in the room exactly once, with Hearth's five reactions. The
        room is quiet for the Hearth that posts it (restarted after the schedule was set). No
        test hook: the real scheduler, the real timing; the pending row in Hearth's store tells
        the test that the prompt was recorded and sent."""
        dave, erin = self.alice, self.bob
        room = await dave.create_room("look-cut", invite=[BOT, erin.user_id])
        await erin.join(room)
        await dave.wait_for_join(room, BOT, timeout=30)
        slot = (int(time.time()) // 60 + 2) * 60           # a minute boundary 60-120 s ahead
        t = time.gmtime(slot)
        cmd = await dave.send(room, f'!mod checkin add "{t.tm_min} {t.tm_hour} * * *" UTC')
        r = await reply_to(dave, room, cmd)
        assert "Nothing was added" not in r.body, r.body
        await settle(dave, 2)
        # Hearth's messages so far (its introduction, welcomes, replies): not check-ins
        known = {x.event_id for x in dave.messages(room) if x.sender == BOT}

        def checkins():
            return [x for x in dave.messages(room) if x.sender == BOT and not x.in_reply_to
                    and x.event_id not in known]

        # a clean restart first: to the new process the room is quiet (no sync mentions it), as
        # a room is after any restart until something happens in it; the check-in still goes out
        self.hearth.stop()
        self.hearth.start()
        root = os.environ.get("HEARTH_SYNAPSE_ROOT", "/var/cache/hearth/sid-synapse")
        with open(os.path.join(root, "hs", "synapse.pid")) as f:
            synapse = int(f.read().strip())
        await asyncio.sleep(max(0.0, slot - 3 - time.time()))
        os.killpg(synapse, signal.SIGSTOP)                  # the homeserver frozen: no answer
        try:
            pending = 0
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not pending:
                pending = pending_checkins()
                await asyncio.sleep(0.2)
            assert pending == 1, f"no pending scheduled check-in in Hearth's store ({pending})"
            await asyncio.sleep(1.5)                       # its PUT is written to the socket
            self.hearth.proc.kill()
            self.hearth.proc.wait()
            self.hearth.proc = None
        finally:
            os.killpg(synapse, signal.SIGCONT)
        # what the homeserver made of the cut-off PUT, before Hearth is back (a figure)
        await settle(dave, 5)
        before = checkins()
        print(f"  figure: check-ins in the room before the restart: {len(before)}", flush=True)
        mark = len(self.hearth.log())
        self.hearth.start()
        posted = await dave.wait_until(
            lambda: [x for x in checkins() if sorted(reactions(dave, room, x.event_id, BOT)) == sorted(SCALE)],
            60, what="the cut-off check-in with its scale after the restart")
        await settle(dave, 5)
        prompts = checkins()
        assert len(prompts) == 1, f"{len(prompts)} check-ins in the room: {[x.body for x in prompts]}"
        assert prompts[0].event_id == posted[0].event_id
        if before:
            assert before[0].event_id == prompts[0].event_id, "the restart posted a second check-in"
        mine = reactions(dave, room, prompts[0].event_id, BOT)
        assert sorted(mine) == sorted(SCALE), f"Hearth's reactions: {mine}"
        assert "that a restart cut off" in self.hearth.log()[mark:], "not sent again after the start"
        assert pending_checkins() == 0, "the pending row stayed"
        cmd = await dave.send(room, "!mod pause")
        await reply_to(dave, room, cmd)

    async def test_crisis_alert_into_a_quiet_room_after_a_restart(self):
        """A moderators' crisis alert after a clean restart: the moderators' room (encrypted, erin
        and frank) is quiet for the new process (nothing happened in it since), and it was
        refused there as "not in room" before the fix (the alert was lost). dave writes crisis
        words in a group room whose [room matrix ID] section names the moderators' room: he gets
        the private crisis answer, and the moderators' room gets the alert, naming the group room
        but holding neither his words nor his name."""
        dave, erin, frank = self.alice, self.bob, self.carol
        mods = await erin.create_room("look-mods", invite=[BOT, frank.user_id], encrypted=True)
        await frank.join(mods)
        await erin.wait_for_join(mods, BOT, timeout=30)
        group = await dave.create_room("look-crisis", invite=[BOT, erin.user_id])
        await erin.join(group)
        await dave.wait_for_join(group, BOT, timeout=30)
        await settle(erin, 3)
        known = {x.event_id for x in erin.messages(mods) if x.sender == BOT}
        cfg = os.path.join(TMP, "hearth-look-alert.ini")
        with open(look_config()) as f:
            text = f.read()
        with open(cfg, "w") as f:
            f.write(text + f"\n[room matrix {group}]\ncrisis_alert_room = {mods}\n")
        os.chmod(cfg, 0o600)
        # a clean restart: to the new process the moderators' room is quiet (no sync mentions it)
        self.hearth.stop()
        mark = len(self.hearth.log())
        self.hearth.start(config=cfg)
        n = len(dave.messages(self.dm[dave.user_id])) if dave.user_id in self.dm else 0
        await dave.send(group, "some nights I feel like I want to kill myself")  # labelled: yes
        await self.private_says(dave, "It sounds like you may be carrying something really painful",
                                after=n)
        alerts = await erin.wait_until(
            lambda: [x for x in erin.messages(mods) if x.sender == BOT and x.event_id not in known],
            40, what="the moderators' alert in their room")
        body = alerts[0].body
        assert "may need support" in body and group in body, body
        for word in ("kill", "nights", "lookdave", "dave"):
            assert word not in body.replace(group, "").lower(), f"{word!r} in the alert: {body}"
        assert f"not in room {mods}" not in self.hearth.log()[mark:], "the alert was refused"

    async def run(self) -> int:
        order = [
            "test_hearth_starts", "test_encrypted_group_room", "test_checkin_gets_the_scale",
            "test_opted_in_tap_logs_one_entry", "test_other_targets_and_emoji_do_nothing",
            "test_someone_elses_redaction_keeps_the_entry",
            "test_own_redaction_within_ten_minutes_removes_it",
            "test_not_opted_in_stores_nothing_one_hint", "test_chart_is_an_encrypted_image",
            # (these two restart Hearth)
            "test_redaction_after_a_restart_removes_it", "test_tap_after_a_restart_logs_it",
            "test_scheduled_checkin_in_a_plain_room", "test_scheduled_checkin_cut_off_by_sigkill",
            "test_crisis_alert_into_a_quiet_room_after_a_restart",
        ]
        return await run_ordered(self, order, "group room", first_without_hearth=1)


if __name__ == "__main__":
    t0 = time.monotonic()
    sys.exit(asyncio.run(Suite().run()))
