#!/usr/bin/python3
"""Hearth's end-to-end encryption against a real Synapse with real nio members (Olm/Megolm).

Run by tests/matrix/run.sh after test_hearth.py, on the same homeserver and the same Hearth data
folder (so Hearth starts here from its saved state: a restart). Hearth's log for this suite is
TMP/hearth-e2ee.log. Prints 'N passed, M failed' last.
"""

import asyncio
import base64
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.request
from urllib.parse import quote

import olm
from nio import MegolmEvent, RoomKeyRequest
from nio.crypto.attachments import decrypt_attachment
from nio.event_builders import ToDeviceMessage

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from member import Member  # noqa: E402
from test_hearth import (BOT, HS, SYN, TMP, Hearth, hearth_token, replies_to,  # noqa: E402
                         reply_to, run_ordered, settle)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pg"))
import hearth_store  # noqa: E402  (tests/pg: the store on either engine)

# Synapse's log config writes /homeserver.log inside its root; it grows across runs, so only
# what this suite's run added is read.
SYNAPSE_LOG = os.path.join(os.environ.get("HEARTH_SYNAPSE_ROOT", "/var/cache/hearth/sid-synapse"),
                           "homeserver.log")
DECRYPT_FAILURES = ("could not decrypt", "could not be read", "refusing a replayed",
                    "not validly signed")
BURST = int(os.environ.get("E2EE_BURST", "100"))


class E2EHearth(Hearth):
    def __init__(self):
        super().__init__()
        self.log_path = os.path.join(TMP, "hearth-e2ee.log")


def canonical(obj: dict) -> str:
    o = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def verify(obj: dict, user: str, key_id: str, ed25519: str) -> None:
    sig = obj.get("signatures", {}).get(user, {}).get(key_id)
    assert sig, f"no signature by {key_id} on {json.dumps(obj)[:300]}"
    olm.ed25519_verify(ed25519, canonical(obj), sig)  # raises OlmVerifyError


def hearth_device() -> str:
    req = urllib.request.Request(HS + "/_matrix/client/v3/account/whoami",
                                 headers={"Authorization": "Bearer " + hearth_token()})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)["device_id"]


async def upload_cross_signing(m: Member) -> olm.PkSigning:
    """New master and self-signing keys for m's user (user-interactive auth with the password
    when the server asks), and m's device signed by the new self-signing key. Returns the
    self-signing key."""
    user = m.user_id
    master = olm.PkSigning(olm.PkSigning.generate_seed())
    ssk = olm.PkSigning(olm.PkSigning.generate_seed())
    mk = {"user_id": user, "usage": ["master"],
          "keys": {f"ed25519:{master.public_key}": master.public_key}}
    sk = {"user_id": user, "usage": ["self_signing"],
          "keys": {f"ed25519:{ssk.public_key}": ssk.public_key}}
    sk["signatures"] = {user: {f"ed25519:{master.public_key}": master.sign(canonical(sk))}}
    body = {"master_key": mk, "self_signing_key": sk}
    for _ in range(2):
        resp = await m.client.send(
            "POST", "/_matrix/client/v3/keys/device_signing/upload", json.dumps(body),
            headers={"Authorization": f"Bearer {m.client.access_token}",
                     "Content-Type": "application/json"})
        data = await resp.json(content_type=None)
        if resp.status == 200:
            break
        assert resp.status == 401 and data.get("session"), f"upload refused: {resp.status} {data}"
        body["auth"] = {"type": "m.login.password", "password": m.password,
                        "session": data["session"],
                        "identifier": {"type": "m.id.user", "user": user}}
    assert resp.status == 200, f"cross-signing upload refused: {resp.status} {data}"
    q = await m._api("POST", "/keys/query", {"device_keys": {user: [m.device_id]}})
    dk = q["device_keys"][user][m.device_id]
    dk = {k: v for k, v in dk.items() if k not in ("signatures", "unsigned")}
    dk["signatures"] = {user: {f"ed25519:{ssk.public_key}": ssk.sign(canonical(dk))}}
    r = await m._api("POST", "/keys/signatures/upload", {user: {m.device_id: dk}})
    assert not r.get("failures"), r
    return ssk


async def raw_event(m: Member, room: str, event_id: str) -> dict:
    """The event as the homeserver stores it (what went over the wire)."""
    return await m._api("GET", f"/rooms/{quote(room)}/event/{quote(event_id)}")


class Suite:
    def __init__(self):
        self.hearth = E2EHearth()
        # Devices of their own: test_hearth.py's revoked-token check logs Hearth out, which
        # deletes its device until Hearth logs in again on the same id and republishes its keys
        # (checked in test_device_cross_signed). nio 0.20 marks a deleted device and never
        # takes it back when it reappears with the same keys, so the earlier devices would keep
        # Hearth out of their room keys (a nio limitation; Element's SDK takes it back).
        self.alice = Member(HS, "alice", "alicepw", os.path.join(TMP, "e2ee-alice"))
        self.bob = Member(HS, "bob", "bobpw", os.path.join(TMP, "e2ee-bob"))
        self.carol = Member(HS, "carol", "carolpw", os.path.join(TMP, "e2ee-carol"))
        self.alice2 = None
        self.syn_mark = os.path.getsize(SYNAPSE_LOG) if os.path.exists(SYNAPSE_LOG) else 0
        self.room = None
        self.dm = None

    async def _ask(self, m: Member, room: str, text: str, timeout: float = 30):
        cmd = await m.send(room, text)
        return cmd, await reply_to(m, room, cmd, timeout=timeout)

    # -- tests, in order -----------------------------------------------------

    async def test_device_cross_signed(self):
        """Hearth's master and self-signing keys are on the server, the self-signing key is
        signed by the master key, and Hearth's device is signed by the self-signing key (after
        test_hearth.py's logout deleted the device: Hearth published its keys and signed it
        again)."""
        # Hearth publishes and signs its device shortly after it starts: ask until it has (20 s).
        deadline = time.monotonic() + 20
        while True:
            try:
                q = await self.alice._api("POST", "/keys/query", {"device_keys": {BOT: []}})
                master = q.get("master_keys", {}).get(BOT)
                ssk = q.get("self_signing_keys", {}).get(BOT)
                assert master and ssk, f"no cross-signing keys for {BOT}: {list(q)}"
                assert master.get("usage") == ["master"] and ssk.get("usage") == ["self_signing"]
                mpub = next(iter(master["keys"].values()))
                spub = next(iter(ssk["keys"].values()))
                verify(ssk, BOT, f"ed25519:{mpub}", mpub)
                dev = hearth_device()
                dk = q.get("device_keys", {}).get(BOT, {}).get(dev)
                assert dk, f"device {dev} has no published keys"
                verify(dk, BOT, f"ed25519:{dev}", dk["keys"][f"ed25519:{dev}"])
                verify(dk, BOT, f"ed25519:{spub}", spub)
                return
            except (AssertionError, olm.OlmVerifyError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def test_encrypted_room_help_round_trip(self):
        room = await self.alice.create_room("e2ee circle", encrypted=True,
                                            invite=[BOT, self.bob.user_id, self.carol.user_id])
        await self.bob.join(room)
        await self.carol.join(room)
        for u in (BOT, self.bob.user_id, self.carol.user_id):
            await self.alice.wait_for_join(room, u, timeout=30)
        self.room = room
        cmd, r = await self._ask(self.alice, room, "!help")
        assert r.encrypted and r.msgtype == "m.notice" and r.body.strip(), r
        wire = await raw_event(self.alice, room, r.event_id)
        assert wire["type"] == "m.room.encrypted", f"on the wire: {wire['type']}"
        assert wire["content"].get("algorithm") == "m.megolm.v1.aes-sha2", wire["content"]
        assert "body" not in wire["content"], "plaintext next to the ciphertext"
        # another member reads it too
        rb = await self.bob.wait_for_message(room, sender=BOT, timeout=30,
                                             predicate=lambda x: x.in_reply_to == cmd)
        assert rb.body == r.body

    async def test_encrypted_private_chat_mood(self):
        cmd, r = await self._ask(self.alice, self.room, "!mood optin")
        dm = await self.alice.wait_for_invite(timeout=30, inviter=BOT)
        await self.alice.join(dm)
        enc = await self.alice._api("GET", f"/rooms/{quote(dm)}/state/m.room.encryption/")
        assert enc.get("algorithm") == "m.megolm.v1.aes-sha2", enc
        consent = await self.alice.wait_for_message(dm, sender=BOT, timeout=30)
        assert consent.encrypted, "the consent text came in plaintext"
        self.dm = dm
        _, r = await self._ask(self.alice, dm, "!mood optin confirm")
        assert r.encrypted and "mood log is ready" in r.body, r.body
        _, r = await self._ask(self.alice, dm, "!mood 7 a calm evening")
        assert r.encrypted, r
        _, r = await self._ask(self.alice, dm, "!mood history")
        assert r.encrypted and "empty so far" not in r.body and "don't have" not in r.body, r.body
        # The export arrives as two encrypted files: the media store holds only ciphertext, and
        # the key in the (Megolm-encrypted) event opens it.
        _, r = await self._ask(self.alice, dm, "!mood 6 export marker zebra #calm")
        cmd = await self.alice.send(dm, "!mood export")
        deadline = time.monotonic() + 40
        files = []
        while len(files) < 2:
            assert time.monotonic() < deadline, f"export files did not arrive: {files}"
            await self.alice.sync_once(timeout_ms=1000)
            seen = False
            files = []
            for m in self.alice.messages(dm):
                if m.event_id == cmd:
                    seen = True
                elif seen and m.sender == BOT and m.msgtype == "m.file":
                    files.append(m)
        names = sorted(m.content.get("filename") or m.body for m in files)
        assert names[0].endswith(".csv") and names[1].endswith(".json"), names
        for m in files:
            assert m.encrypted, "an export file event came in plaintext"
            assert "url" not in m.content, "the export was uploaded unencrypted (content.url)"
            f = m.content["file"]
            server, media = f["url"][len("mxc://"):].split("/", 1)
            req = urllib.request.Request(
                f"{HS}/_matrix/client/v1/media/download/{server}/{media}",
                headers={"Authorization": "Bearer " + self.alice.client.access_token})
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
            assert b"zebra" not in raw, "the media store holds the export in plaintext"
            plain = decrypt_attachment(raw, f["key"]["k"], f["hashes"]["sha256"], f["iv"])
            assert b"export marker zebra" in plain, plain[:200]
        for m in self.alice.messages(dm):
            if m.sender == BOT:
                assert m.encrypted, f"plaintext in the private chat: {m.body[:80]}"
        assert not self.alice.undecryptable(dm), "undecryptable events in the private chat"

    async def test_second_device_gets_the_session(self):
        """A second device of alice, logged in later, reads Hearth's next reply."""
        self.alice2 = Member(HS, "alice", "alicepw", os.path.join(TMP, "alice-dev2"),
                             device_name="hearth-test-2")
        await self.alice2.login(reuse_session=False)
        assert self.alice2.device_id != self.alice.device_id
        await self.alice2.sync_once()
        cmd, r = await self._ask(self.alice, self.room, "!about")
        r2 = await self.alice2.wait_for_message(self.room, sender=BOT, timeout=30,
                                                predicate=lambda x: x.in_reply_to == cmd)
        assert r2.encrypted and r2.body == r.body

    async def test_leaver_gets_no_new_session(self):
        _, r1 = await self._ask(self.alice, self.room, "!checkin")
        w1 = await raw_event(self.alice, self.room, r1.event_id)
        # carol, still a member, can read it
        await self.carol.wait_for_message(self.room, sender=BOT, timeout=30,
                                          predicate=lambda x: x.event_id == r1.event_id)
        await self.carol.leave(self.room)
        _, r2 = await self._ask(self.alice, self.room, "!checkin")
        w2 = await raw_event(self.alice, self.room, r2.event_id)
        s1, s2 = w1["content"]["session_id"], w2["content"]["session_id"]
        assert s1 != s2, "the outbound session was not rotated when carol left"
        ev = MegolmEvent.from_dict(w2)
        try:
            self.carol.client.decrypt_event(ev)
        except Exception:
            pass
        else:
            raise AssertionError("carol, who left, can decrypt the message after she left")

    async def test_late_key_requested_then_answered(self):
        """A command whose room key has not reached Hearth: Hearth asks for the key
        (m.room_key_request to the sender) and answers once the key arrives."""
        a = self.alice.client
        a.olm.create_outbound_group_session(self.dm)
        gs = a.olm.outbound_group_sessions[self.dm]
        key0 = gs.session_key           # the key at message index 0, kept back for now
        gs.mark_as_shared()             # so nio sends without sharing it
        cmd = await self.alice.send(self.dm, "!about")
        deadline = time.monotonic() + 30
        asked = False
        while not asked:
            assert time.monotonic() < deadline, "Hearth did not ask alice for the missing key"
            resp = await self.alice.sync_once(timeout_ms=1000)
            asked = any(isinstance(ev, RoomKeyRequest) and ev.sender == BOT and
                        ev.session_id == gs.id for ev in resp.to_device_events)
        assert not replies_to(self.alice, self.dm, cmd), "answered without the key?"
        # now the key arrives, over Olm, from alice's device
        dev = next(d for d in a.device_store.active_user_devices(BOT))
        olm_session = a.olm.session_store.get(dev.curve25519)
        assert olm_session, "alice has no Olm session with Hearth's device"
        content = {"algorithm": "m.megolm.v1.aes-sha2", "room_id": self.dm,
                   "session_id": gs.id, "session_key": key0}
        msg = a.olm._olm_encrypt(olm_session, dev, "m.room_key", content)
        resp = await a.to_device(ToDeviceMessage("m.room.encrypted", BOT, dev.id, msg))
        assert not type(resp).__name__.endswith("Error"), resp
        r = await reply_to(self.alice, self.dm, cmd, timeout=40)
        assert r.encrypted
        assert "arrived: reading it now" in self.hearth.log()

    async def test_restart_still_answers_room_and_private_chat(self):
        assert self.hearth.stop() == 0
        while_down = await self.alice.send(self.room, "!help")
        self.hearth.start(wait_for="continuing from")
        await reply_to(self.alice, self.room, while_down, timeout=40)
        _, r = await self._ask(self.alice, self.room, "!about")
        assert r.encrypted
        _, r = await self._ask(self.alice, self.dm, "!mood history")
        assert r.encrypted and "empty so far" not in r.body, r.body
        await settle(self.alice, 1)
        for room in (self.room, self.dm):
            assert not self.alice.undecryptable(room), f"undecryptable events in {room}"
        self._no_decrypt_failures()

    async def test_burst_all_decryptable(self):
        cmds = []
        for i in range(BURST):
            cmds.append(await self.alice.send(self.room, "!checkin" if i % 2 else "!about"))
            if i % 10 == 9:  # one sync may hold 200 events: keep each member's timeline whole
                await self.alice.sync_once()
                await self.bob.sync_once()
        want = set(cmds)

        def answered(m):
            return {x.in_reply_to for x in m.messages(self.room) if x.sender == BOT} & want

        try:
            await self.alice.wait_until(lambda: answered(self.alice) == want, timeout=120,
                                        what=f"{BURST} replies")
        except Exception:
            raise AssertionError(f"alice read {len(answered(self.alice))} of {BURST} replies; "
                                 f"{len(self.alice.undecryptable(self.room))} undecryptable")
        await settle(self.bob, 2)
        for m in (self.alice, self.bob):
            bad = m.undecryptable(self.room)
            assert not bad, f"{m.user_id}: {len(bad)} undecryptable events"
        for c in cmds[:5] + cmds[-5:]:
            assert len(replies_to(self.alice, self.room, c)) == 1
        assert answered(self.bob) == want, f"bob read {len(answered(self.bob))} of {BURST} replies"
        self._no_decrypt_failures()

    async def test_keys_created_once_no_conflicts(self):
        first = os.path.join(TMP, "hearth.log")  # test_hearth.py's run, when it ran first
        logs = (open(first, errors="replace").read() if os.path.exists(first) else "") + \
            self.hearth.log()
        assert logs.count("created the encryption account") == 1, "the Olm account was re-created"
        assert "already exists" not in logs, "Hearth's log reports a key conflict"
        assert "/keys/upload failed" not in logs, "a key upload was refused"
        assert os.path.exists(SYNAPSE_LOG), f"no Synapse log at {SYNAPSE_LOG}"
        with open(SYNAPSE_LOG, errors="replace") as f:
            f.seek(self.syn_mark)
            syn = f.read()
        assert "keys/upload" in syn, "the Synapse log does not show this run (wrong file?)"
        assert "already exists" not in syn, "Synapse reports a key that already exists"
        token = hearth_token()
        assert "hearthpw" not in logs and token not in logs, "a secret reached the log"
        key = open(os.path.join(TMP, "data", "e2e.key"), "rb").read()
        assert os.stat(os.path.join(TMP, "data", "e2e.key")).st_mode & 0o077 == 0
        assert base64.b64encode(key).decode().rstrip("=") not in logs and key.hex() not in logs

    async def test_cross_signing_replaced_with_password_auth(self):
        """New cross-signing keys replace the old ones only with user-interactive auth: Hearth
        answers the homeserver's 401 with its password and the device is signed again."""
        old = (await self.alice._api("POST", "/keys/query", {"device_keys": {BOT: []}}))
        old_master = next(iter(old["master_keys"][BOT]["keys"].values()))
        assert self.hearth.stop() == 0
        # as if the cross-signing keys were reset
        hearth_store.execute(os.path.join(TMP, "data"), "DELETE FROM e2e_xsign")
        mark = len(self.hearth.log())
        self.hearth.start(wait_for="continuing from")
        deadline = time.monotonic() + 30
        while "this device is now cross-signed" not in self.hearth.log()[mark:]:
            assert time.monotonic() < deadline, "Hearth did not cross-sign its device again"
            await asyncio.sleep(0.2)
        q = await self.alice._api("POST", "/keys/query", {"device_keys": {BOT: []}})
        mpub = next(iter(q["master_keys"][BOT]["keys"].values()))
        spub = next(iter(q["self_signing_keys"][BOT]["keys"].values()))
        assert mpub != old_master, "the master key was not replaced"
        verify(q["self_signing_keys"][BOT], BOT, f"ed25519:{mpub}", mpub)
        verify(q["device_keys"][BOT][hearth_device()], BOT, f"ed25519:{spub}", spub)
        assert "hearthpw" not in self.hearth.log(), "the password reached the log"
        _, r = await self._ask(self.alice, self.room, "!about")
        assert r.encrypted

    async def _readable(self, m: Member, room: str, event_id: str, settle_s: float = 3) -> bool:
        """Whether m can read event_id (waits a little for its room key)."""
        deadline = time.monotonic() + settle_s
        while True:
            await m.sync_once(timeout_ms=500)
            if any(x.event_id == event_id for x in m.messages(room)):
                return True
            if time.monotonic() > deadline:
                return False

    async def test_private_chat_keys_only_for_vouched_devices(self):
        """dana has cross-signing keys and signed her first device only: Hearth's replies in
        her private chat reach that device, not her unsigned second one. When her second
        device resets her cross-signing, Hearth tells her in the private chat, still shares
        only with the first device, refuses a confirmation from the new one and, after she
        confirms with !trust from the first, shares with the device the new keys signed."""
        subprocess.run([SYN, "register", "dana", "danapw"], check=True,
                       stdout=subprocess.DEVNULL)
        dana = Member(HS, "dana", "danapw", os.path.join(TMP, "e2ee-dana1"))
        await dana.login(reuse_session=False)
        await upload_cross_signing(dana)
        dana2 = Member(HS, "dana", "danapw", os.path.join(TMP, "e2ee-dana2"),
                       device_name="dana-second")
        await dana2.login(reuse_session=False)
        dm = await dana.create_room(invite=[BOT], encrypted=True, is_direct=True)
        await dana.wait_for_join(dm, BOT, timeout=30)
        await dana2.sync_once()
        _, r = await self._ask(dana, dm, "!about")
        assert r.encrypted
        assert not await self._readable(dana2, dm, r.event_id), \
            "the unsigned second device got the private chat's key"
        assert "pinned the cross-signing identity of @dana:localhost" in self.hearth.log()

        # the second device resets dana's cross-signing and signs itself only
        mark = len(self.hearth.log())
        await upload_cross_signing(dana2)
        notice = await dana.wait_for_message(
            dm, sender=BOT, timeout=40, predicate=lambda x: "security keys have changed" in x.body)
        assert notice.encrypted
        assert "cross-signing identity of @dana:localhost changed" in self.hearth.log()[mark:]
        assert not await self._readable(dana2, dm, notice.event_id), \
            "the new device read the notice before dana confirmed"
        # a confirmation from the new device is not taken
        cmd, r = await self._ask(dana, dm, "!about")
        assert not await self._readable(dana2, dm, r.event_id)
        cmd = await dana2.send(dm, "!trust")
        r = await reply_to(dana, dm, cmd, timeout=30)
        assert "devices you used with me before" in r.body, r.body
        # dana confirms from her first device: the transport answers, the core never sees it
        cmd = await dana.send(dm, "!trust")
        deadline = time.monotonic() + 40
        while True:
            await dana2.sync_once(timeout_ms=1000)
            got = [x for x in dana2.messages(dm) if x.sender == BOT and x.in_reply_to == cmd]
            if got:
                break
            assert time.monotonic() < deadline, "no readable answer to !trust on the new device"
        assert "Thank you" in got[0].body, got[0].body
        cmd, r = await self._ask(dana2, dm, "!about")
        assert r.encrypted
        assert "confirmed their new cross-signing identity" in self.hearth.log()
        await dana.close()
        await dana2.close()

    def _no_decrypt_failures(self):
        log = self.hearth.log()
        for phrase in DECRYPT_FAILURES:
            assert phrase not in log, f"Hearth's log: {phrase!r}"

    # -----------------------------------------------------------------------

    async def run(self) -> int:
        order = [
            "test_device_cross_signed", "test_encrypted_room_help_round_trip",
            "test_encrypted_private_chat_mood", "test_second_device_gets_the_session",
            "test_leaver_gets_no_new_session", "test_late_key_requested_then_answered",
            "test_restart_still_answers_room_and_private_chat",
            "test_burst_all_decryptable", "test_keys_created_once_no_conflicts",
            "test_cross_signing_replaced_with_password_auth",
            "test_private_chat_keys_only_for_vouched_devices",
        ]
        return await run_ordered(
            self, order, "encrypted room", figures=True,
            start=lambda: self.hearth.start(wait_for="continuing from|first sync done"))


if __name__ == "__main__":
    sys.exit(asyncio.run(Suite().run()))
