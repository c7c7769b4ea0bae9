#!/usr/bin/python3
"""Self-test of the Matrix harness (no Hearth): two members talk through a real
Synapse, in a plain room and in an encrypted one.

Needs a running server with users alice/alicepw and bob/bobpw
(tests/matrix/run-smoke.sh does all of that). Prints 'N passed, N failed'.
"""

import asyncio
import os
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from member import Member  # noqa: E402

HS = os.environ.get("HEARTH_MATRIX_URL", "http://127.0.0.1:18008")


async def talk(alice: Member, bob: Member, encrypted: bool) -> None:
    room = await alice.create_room("smoke-" + ("e2ee" if encrypted else "plain"),
                                   invite=[bob.user_id], encrypted=encrypted)
    invited = await bob.wait_for_invite(timeout=10, inviter=alice.user_id)
    assert invited == room, f"bob was invited to {invited}, expected {room}"
    await bob.join(room)
    # alice must see bob's join before sending, or the room key skips his device.
    await alice.wait_for_join(room, bob.user_id, timeout=10)
    assert bob.user_id in alice.members(room), alice.members(room)
    text = f"hello bob ({'encrypted' if encrypted else 'plain'})"
    t0 = time.monotonic()
    sent = await alice.send(room, text)
    msg = await bob.wait_for_message(room, sender=alice.user_id, timeout=10,
                                     predicate=lambda m: m.event_id == sent)
    ms = (time.monotonic() - t0) * 1000
    assert msg.body == text, f"bob read {msg.body!r}"
    assert msg.encrypted == encrypted, f"encrypted={msg.encrypted}, expected {encrypted}"
    # and a reply, found by its place in alice's timeline after her message
    back = await bob.send(room, "hi alice", reply_to=sent)
    reply = await alice.wait_for_message(room, sender=bob.user_id, after_event_id=sent, timeout=10)
    assert reply.event_id == back and reply.body == "hi alice" and reply.in_reply_to == sent
    print(f"    {'encrypted' if encrypted else 'plain'}: delivered in {ms:.0f} ms")


async def main() -> int:
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="hearth-smoke-") as tmp:
        alice = Member(HS, "alice", "alicepw", os.path.join(tmp, "alice"))
        bob = Member(HS, "bob", "bobpw", os.path.join(tmp, "bob"))
        try:
            await alice.login()
            await bob.login()
            for name, enc in (("plain_room", False), ("encrypted_room", True)):
                try:
                    await talk(alice, bob, enc)
                    print(f"PASS {name}")
                    passed += 1
                except Exception:
                    traceback.print_exc()
                    print(f"FAIL {name}")
                    failed += 1
        finally:
            await alice.close()
            await bob.close()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed == 2 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
