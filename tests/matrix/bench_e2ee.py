#!/usr/bin/python3
"""End-to-end encryption benchmark: prints figures, asserts nothing. Run by
`tests/matrix/run.sh --bench` (after bench_matrix.py, on the same homeserver and data folder).

- Hearth's own time per encrypted reply (decrypt, handle, encrypt, send issued), p50/p99, from
  the line it logs at shutdown, over BENCH_E2EE_COMMANDS commands in an encrypted room; the
  reply latency a member sees for the same commands;
- the time Hearth takes to set up a new room's keys for BENCH_E2EE_DEVICES member devices
  (keys/query, one-time key claims, Olm sessions, the room key sent over Olm to each device),
  from the line Hearth logs when the first message is ready; then the same after a member left
  (rotation: a new session for the remaining devices, Olm sessions already there). The
  in-process figure for 50 devices is bench_e2e in tests/bench/.
"""

import asyncio
import os
import re
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from member import Member  # noqa: E402
from test_hearth import BOT, HS, TMP, Hearth, reply_to  # noqa: E402

COMMANDS = int(os.environ.get("BENCH_E2EE_COMMANDS", "200"))
DEVICES = int(os.environ.get("BENCH_E2EE_DEVICES", "20"))
USERS = [("alice", "alicepw"), ("bob", "bobpw"), ("carol", "carolpw")]


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


def key_setups(log: str, room: str):
    return [float(m) for m in re.findall(re.escape(room) + r": keys ready after ([0-9.]+) ms", log)]


async def main() -> int:
    hearth = Hearth()
    hearth.log_path = os.path.join(TMP, "hearth-bench-e2ee.log")
    members = []
    for i in range(DEVICES):
        name, pw = USERS[i % len(USERS)]
        members.append(Member(HS, name, pw, os.path.join(TMP, f"be2e-{name}-{i}"),
                              device_name=f"bench-{i}"))
    t0 = time.monotonic()
    for m in members:
        await m.login()
    print(f"e2ee bench: {DEVICES} member devices of {len(USERS)} people logged in "
          f"({time.monotonic() - t0:.1f} s)", flush=True)
    alice = members[0]
    firsts = {}  # one device per person does the room's membership
    for m in members:
        firsts.setdefault(m.user_id, m)
    try:
        hearth.start(wait_for="continuing from|first sync done")
        # 1. own time per encrypted reply, over a two-person encrypted room
        room = await alice.create_room("bench e2ee", invite=[BOT], encrypted=True)
        await alice.wait_for_join(room, BOT, timeout=30)
        lat = []
        for i in range(COMMANDS):
            t = time.monotonic()
            cmd = await alice.send(room, "!about" if i % 2 else "!checkin")
            await reply_to(alice, room, cmd, timeout=60)
            lat.append((time.monotonic() - t) * 1000)
        print(f"encrypted reply latency as a member sees it ({COMMANDS} commands): "
              f"p50 {pct(lat, 50):.1f} ms p99 {pct(lat, 99):.1f} ms", flush=True)

        # 2. a new room's keys for many devices
        others = [m.user_id for m in firsts.values() if m is not alice]
        big = await alice.create_room("bench e2ee devices", invite=[BOT] + others, encrypted=True)
        for m in firsts.values():
            if m is not alice:
                await m.join(big)
        for u in [BOT] + others:
            await alice.wait_for_join(big, u, timeout=30)
        for m in members:
            await m.sync_once()
        t = time.monotonic()
        cmd = await alice.send(big, "!about")
        first = await reply_to(alice, big, cmd, timeout=60)
        seen = (time.monotonic() - t) * 1000
        readers = 0
        for m in members[1:]:
            try:
                await m.wait_for_message(big, sender=BOT, timeout=20,
                                         predicate=lambda x: x.event_id == first.event_id)
                readers += 1
            except Exception:
                pass
        setup = key_setups(hearth.log(), big)
        print(f"new room key for {DEVICES} member devices (+ Hearth's): Hearth's setup "
              f"{setup[-1] if setup else float('nan'):.1f} ms (query, claim, Olm, share); the "
              f"first reply seen after {seen:.1f} ms; {readers + 1} of {DEVICES} devices read it",
              flush=True)

        # 3. rotation after a member left: new session to the remaining devices
        leaver = firsts[f"@{USERS[-1][0]}:localhost"]
        await leaver.leave(big)
        gone = sum(1 for m in members if m.user_id == leaver.user_id)
        cmd = await alice.send(big, "!about")
        await reply_to(alice, big, cmd, timeout=60)
        setup2 = key_setups(hearth.log(), big)
        print(f"rotation after a member left: new session for {DEVICES - gone} devices in "
              f"{setup2[-1] if len(setup2) > len(setup) else float('nan'):.1f} ms", flush=True)
    finally:
        hearth.stop()
        for m in members:
            await m.close()
    for line in hearth.log().splitlines():
        if "own time" in line:
            print("hearth:", line.split("  ", 1)[-1])
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
