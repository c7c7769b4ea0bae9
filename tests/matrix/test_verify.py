#!/usr/bin/python3
"""Verify Hearth from a member's client (issue 16, point 1): the real hearth, a real Synapse,
real nio members with nio's own SAS verification (nio/crypto/sas.py).

- A moderator (verimod, who made the room) starts a verification of Hearth's device the way
  nio does (start without a request); nio checks Hearth's commitment when Hearth's key comes,
  the moderator confirms the emoji, and nio ends with Hearth's device verified.
- The same moderator verifies again with the request/ready flow Element uses (a
  m.key.verification.request to-device, Hearth's ready, then nio's start): verified again, and
  Hearth ends with m.key.verification.done.
- A member who moderates nothing (vermember) starts one: Hearth cancels it with m.user and a
  reason, and nio never marks the device verified.
- The in-room flow Element starts from a person's profile (nio 0.20 lacks it, so the member's
  side is python-olm's Sas driven by hand): a m.key.verification.request message to Hearth in an
  encrypted private chat, Hearth's answers there (encrypted, referring to the request), its
  commitment and MACs checked, done from Hearth; also when the request comes before Hearth has
  joined (as Element sends it). A non-moderator's request is cancelled there, although the
  private chat they made gives them power level 100 in it (only group rooms count).

Run by tests/matrix/run.sh (HEARTH_MATRIX_SUITES=verify). Environment as for test_hearth.py.
Prints 'N passed, M failed' last.
"""

import asyncio
import json
import os
import re
import sys
import time
import uuid

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from member import Member  # noqa: E402
from test_hearth import BOT, HS, TMP, reply_to, run_ordered  # noqa: E402
from test_sync_position import fresh_hearth  # noqa: E402

import nio.events.to_device as nio_td  # noqa: E402
from nio.crypto.sas import Sas  # noqa: E402
from nio.event_builders.direct_messages import ToDeviceMessage  # noqa: E402
import olm  # noqa: E402

# nio drops to-device types it has no class for (ready, done): record every one it is given.
RAW = []
_parse = nio_td.ToDeviceEvent.parse_event.__func__


def _record(cls, event_dict):
    RAW.append(event_dict)
    return _parse(cls, event_dict)


nio_td.ToDeviceEvent.parse_event = classmethod(_record)


def raw(txn: str, type_: str):
    return [e for e in RAW if e.get("type") == type_ and
            (e.get("content") or {}).get("transaction_id") == txn]


class Suite:
    def __init__(self):
        self.hearth = fresh_hearth("verify")
        self.alice = Member(HS, "verimod", "verimodpw", os.path.join(TMP, "v-verimod"))
        self.bob = Member(HS, "vermember", "vermemberpw", os.path.join(TMP, "v-vermember"))
        self.carol = Member(HS, "verthird", "verthirdpw", os.path.join(TMP, "v-verthird"))
        self.room = None

    def hearth_device(self) -> str:
        found = re.findall(r"encryption ready on device (\S+)", self.hearth.log())
        assert found, "Hearth did not say which device it is"
        return found[-1]

    async def bot_device(self, m: Member):
        """Hearth's current device as m's client knows it (keys queried)."""
        dev_id = self.hearth_device()

        def known():
            return m.client.device_store.active_user_devices(BOT) and \
                any(d.id == dev_id for d in m.client.device_store.active_user_devices(BOT))
        if not known():
            m.client.users_for_key_query.add(BOT)
            await m.client.keys_query()
        await m.wait_until(known, 30, what="Hearth's device keys")
        return [d for d in m.client.device_store.active_user_devices(BOT) if d.id == dev_id][0]

    async def test_group_room(self):
        a, b = self.alice, self.bob
        room = await a.create_room("verify", invite=[BOT, b.user_id], encrypted=True,
                                   power_levels={"vermember": 0})
        await b.join(room)
        await a.wait_for_join(room, BOT, timeout=30)
        await a.wait_for_join(room, b.user_id, timeout=30)
        r = await reply_to(a, room, await a.send(room, "!about"))
        assert r.encrypted
        self.room = room

    async def finish_sas(self, m: Member, txn: str, dev) -> Sas:
        """Confirms the emoji once Hearth's key came, then waits for nio to verify Hearth."""
        deadline = time.monotonic() + 40
        confirmed = False
        while True:
            sas = m.client.key_verifications.get(txn)
            assert sas is not None, "the verification was dropped: " + str(raw(txn, "m.key.verification.cancel"))
            assert not sas.canceled, f"cancelled: {sas.cancel_code} {sas.cancel_reason}"
            if not confirmed and sas.other_key_set:
                # the person compares the emoji their app shows; Hearth shows none
                assert len(sas.get_emoji()) == 7
                # Hearth logs the same numbers (for whoever runs it to read out)
                nums = " ".join(str(n) for n in sas.get_decimals())
                await m.wait_until(lambda: f"the numbers are {nums}" in self.hearth.log(), 10,
                                   what=f"the numbers {nums} in Hearth's log")
                await m.client.confirm_short_auth_string(txn)
                confirmed = True
            if confirmed and m.client.olm.is_device_verified(dev):
                return sas
            assert time.monotonic() < deadline, f"not verified; state {sas.state}"
            await m.sync_once(timeout_ms=500)

    async def test_moderator_verifies_hearth(self):
        a = self.alice
        dev = await self.bot_device(a)
        assert not a.client.olm.is_device_verified(dev)
        resp = await a.client.start_key_verification(dev)
        assert type(resp).__name__ == "ToDeviceResponse", resp
        txn = [t for t, s in a.client.key_verifications.items()
               if s.other_olm_device.id == dev.id and not s.canceled][-1]
        sas = await self.finish_sas(a, txn, dev)
        # nio checked Hearth's commitment when Hearth's key came (it started), and its MAC
        assert sas.chosen_key_agreement == "curve25519-hkdf-sha256"
        assert dev.id in sas.verified_devices
        await a.wait_until(lambda: "verified Hearth's device" in self.hearth.log(), 20,
                           what="Hearth's log line")

    async def test_request_flow(self):
        a = self.alice
        dev = await self.bot_device(a)
        a.client.unverify_device(dev)
        assert not a.client.olm.is_device_verified(dev)
        txn = "req-" + uuid.uuid4().hex
        req = ToDeviceMessage("m.key.verification.request", BOT, dev.id, {
            "from_device": a.device_id, "methods": ["m.sas.v1"],
            "timestamp": int(time.time() * 1000), "transaction_id": txn})
        assert type(await a.client.to_device(req)).__name__ == "ToDeviceResponse"
        await a.wait_until(lambda: raw(txn, "m.key.verification.ready"), 30,
                           what="Hearth's ready")
        ready = raw(txn, "m.key.verification.ready")[0]
        assert ready["sender"] == BOT and ready["content"]["from_device"] == dev.id
        assert "m.sas.v1" in ready["content"]["methods"]
        sas = Sas(a.user_id, a.device_id, a.client.olm.account.identity_keys["ed25519"], dev,
                  transaction_id=txn)
        a.client.olm.key_verifications[txn] = sas
        await a.client.to_device(sas.start_verification())
        await self.finish_sas(a, txn, dev)
        await a.wait_until(lambda: raw(txn, "m.key.verification.done"), 20, what="Hearth's done")
        assert not raw(txn, "m.key.verification.cancel")

    async def test_non_moderator_cancelled(self):
        b = self.bob
        dev = await self.bot_device(b)
        await b.client.start_key_verification(dev)
        txn = [t for t, s in b.client.key_verifications.items()
               if s.other_olm_device.id == dev.id][-1]
        await b.wait_until(lambda: raw(txn, "m.key.verification.cancel"), 30,
                           what="Hearth's cancellation")
        cancel = raw(txn, "m.key.verification.cancel")[0]
        assert cancel["sender"] == BOT
        assert cancel["content"]["code"] == "m.user", cancel
        assert "moderators" in cancel["content"]["reason"], cancel
        assert not raw(txn, "m.key.verification.accept")
        assert txn not in b.client.key_verifications or b.client.key_verifications[txn].canceled
        assert not b.client.olm.is_device_verified(dev)
        assert "vermember:localhost asked to verify Hearth but moderates no group room" in self.hearth.log()

    @staticmethod
    def room_verif(m: Member, room: str, request_id: str, type_: str):
        """Hearth's m.key.verification.* events in room that refer to request_id (decrypted)."""
        out = []
        for ev in m.timelines.get(room, []):
            src = getattr(ev, "source", None) or {}
            if getattr(ev, "sender", None) != BOT or src.get("type") != type_:
                continue
            c = src.get("content") or {}
            if (c.get("m.relates_to") or {}).get("event_id") == request_id:
                out.append(c)
        return out

    async def in_room_request(self, m: Member, room: str) -> str:
        resp = await m.client.room_send(room, "m.room.message", {
            "msgtype": "m.key.verification.request", "body": "verification request",
            "from_device": m.device_id, "methods": ["m.sas.v1"], "to": BOT},
            ignore_unverified_devices=True)
        assert hasattr(resp, "event_id"), resp
        return resp.event_id

    async def test_in_room_flow(self):
        a = self.alice
        dev = await self.bot_device(a)
        dm = await a.create_room("verify-dm", invite=[BOT], encrypted=True, is_direct=True)
        await a.wait_for_join(dm, BOT, timeout=30)
        req = await self.in_room_request(a, dm)
        rel = {"rel_type": "m.reference", "event_id": req}
        await a.wait_until(lambda: self.room_verif(a, dm, req, "m.key.verification.ready"), 30,
                           what="Hearth's ready in the room")
        ready = self.room_verif(a, dm, req, "m.key.verification.ready")[0]
        assert ready["from_device"] == dev.id and "m.sas.v1" in ready["methods"], ready
        sas = olm.Sas()
        start = {"from_device": a.device_id, "method": "m.sas.v1",
                 "key_agreement_protocols": ["curve25519-hkdf-sha256"], "hashes": ["sha256"],
                 "message_authentication_codes": ["hkdf-hmac-sha256.v2", "hkdf-hmac-sha256"],
                 "short_authentication_string": ["emoji", "decimal"], "m.relates_to": rel}
        await a.client.room_send(dm, "m.key.verification.start", start,
                                 ignore_unverified_devices=True)
        await a.wait_until(lambda: self.room_verif(a, dm, req, "m.key.verification.accept"), 30,
                           what="Hearth's accept")
        accept = self.room_verif(a, dm, req, "m.key.verification.accept")[0]
        assert accept["message_authentication_code"] == "hkdf-hmac-sha256.v2", accept
        await a.client.room_send(dm, "m.key.verification.key",
                                 {"key": sas.pubkey, "m.relates_to": rel},
                                 ignore_unverified_devices=True)
        await a.wait_until(lambda: self.room_verif(a, dm, req, "m.key.verification.key"), 30,
                           what="Hearth's key")
        key = self.room_verif(a, dm, req, "m.key.verification.key")[0]["key"]
        canon = json.dumps(start, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert accept["commitment"] == olm.sha256(key + canon), "Hearth's commitment is wrong"
        sas.set_their_pubkey(key)
        info = (f"MATRIX_KEY_VERIFICATION_SAS|{a.user_id}|{a.device_id}|{sas.pubkey}|"
                f"{BOT}|{dev.id}|{key}|{req}")
        b = sas.generate_bytes(info, 5)
        nums = ((b[0] << 5 | b[1] >> 3) + 1000, ((b[1] & 7) << 10 | b[2] << 2 | b[3] >> 6) + 1000,
                ((b[3] & 63) << 7 | b[4] >> 1) + 1000)
        await a.wait_until(lambda: "the numbers are %d %d %d" % nums in self.hearth.log(), 10,
                           what="the same numbers in Hearth's log")
        # the person confirms: our MAC (device key) goes first, Hearth's comes back
        mac_info = f"MATRIX_KEY_VERIFICATION_MAC{a.user_id}{a.device_id}{BOT}{dev.id}{req}"
        kid = f"ed25519:{a.device_id}"
        fp = a.client.olm.account.identity_keys["ed25519"]
        await a.client.room_send(dm, "m.key.verification.mac", {
            "mac": {kid: sas.calculate_mac_fixed_base64(fp, mac_info + kid)},
            "keys": sas.calculate_mac_fixed_base64(kid, mac_info + "KEY_IDS"),
            "m.relates_to": rel}, ignore_unverified_devices=True)
        await a.wait_until(lambda: self.room_verif(a, dm, req, "m.key.verification.done"), 30,
                           what="Hearth's done")
        mac = self.room_verif(a, dm, req, "m.key.verification.mac")[0]
        their = f"MATRIX_KEY_VERIFICATION_MAC{BOT}{dev.id}{a.user_id}{a.device_id}{req}"
        hk = f"ed25519:{dev.id}"
        assert mac["mac"][hk] == sas.calculate_mac_fixed_base64(dev.ed25519, their + hk), mac
        ids = ",".join(sorted(mac["mac"]))
        assert mac["keys"] == sas.calculate_mac_fixed_base64(ids, their + "KEY_IDS"), mac
        assert not self.room_verif(a, dm, req, "m.key.verification.cancel")
        # the core never saw these as messages: no reply to the request
        assert not [x for x in a.messages(dm) if x.sender == BOT and x.in_reply_to == req]

    async def test_in_room_request_before_join(self):
        """As Element does: the private chat is made and the request sent at once, while
        Hearth is only invited; Hearth joins, reads the request and answers."""
        a = self.alice
        await self.bot_device(a)
        dm = await a.create_room("verify-dm-2", invite=[BOT], encrypted=True, is_direct=True)
        req = await self.in_room_request(a, dm)
        await a.wait_until(lambda: self.room_verif(a, dm, req, "m.key.verification.ready"), 60,
                           what="Hearth's ready for a request sent before it joined")

    async def test_in_room_non_moderator(self):
        b = self.bob
        await self.bot_device(b)
        dm = await b.create_room("verify-dm-b", invite=[BOT], encrypted=True, is_direct=True)
        await b.wait_for_join(dm, BOT, timeout=30)
        req = await self.in_room_request(b, dm)
        await b.wait_until(lambda: self.room_verif(b, dm, req, "m.key.verification.cancel"), 30,
                           what="Hearth's cancellation in the room")
        c = self.room_verif(b, dm, req, "m.key.verification.cancel")[0]
        assert c["code"] == "m.user" and "moderators" in c["reason"], c
        assert not self.room_verif(b, dm, req, "m.key.verification.ready")

    async def run(self) -> int:
        order = ["test_group_room", "test_moderator_verifies_hearth", "test_request_flow",
                 "test_non_moderator_cancelled", "test_in_room_flow",
                 "test_in_room_request_before_join", "test_in_room_non_moderator"]
        return await run_ordered(self, order, "group room", start=self.hearth.start)


if __name__ == "__main__":
    sys.exit(asyncio.run(Suite().run()))
