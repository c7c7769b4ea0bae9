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

Run by tests/matrix/run.sh (HEARTH_MATRIX_SUITES=verify). Environment as for test_hearth.py.
Prints 'N passed, M failed' last.
"""

import asyncio
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
        assert "vermember:localhost asked to verify Hearth but moderates no room" in self.hearth.log()

    async def run(self) -> int:
        order = ["test_group_room", "test_moderator_verifies_hearth", "test_request_flow",
                 "test_non_moderator_cancelled"]
        return await run_ordered(self, order, "group room", start=self.hearth.start)


if __name__ == "__main__":
    sys.exit(asyncio.run(Suite().run()))
