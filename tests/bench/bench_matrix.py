#!/usr/bin/python3
"""Matrix benchmark: prints figures, asserts nothing. Run by `tests/matrix/run.sh --bench`.

- floor: the homeserver's own round trip between two nio clients (alice sends, bob answers as
  soon as he sees it, alice sees the answer), measured in the same run;
- Hearth's reply latency over 200 commands (send of the command to the reply seen), p50/p99;
- Hearth's own time per command (its /sync response read to its reply handed to curl), from
  the line it logs at shutdown;
- Hearth's peak RSS (VmHWM) with 50 joined rooms.
"""

import asyncio
import os
import re
import statistics
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "matrix"))
from member import Member  # noqa: E402
from test_hearth import BOT, HS, TMP, Hearth  # noqa: E402

COMMANDS = int(os.environ.get("BENCH_COMMANDS", "200"))
ROOMS = int(os.environ.get("BENCH_ROOMS", "50"))
FLOOR = int(os.environ.get("BENCH_FLOOR", "50"))


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


def rollup(pid, key):
    """A figure from /proc/PID/smaps_rollup (kB), e.g. Pss_Anon, Pss_File."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


async def sample_anon(pid, peak):
    """Keeps peak["anon"] at the highest RssAnon seen (every 20 ms): /proc has no peak of its own
    for the part of the memory that is Hearth's (heap, stacks, libraries' written pages)."""
    while True:
        try:
            peak["anon"] = max(peak["anon"], vm(pid, "RssAnon"))
        except OSError:
            return
        await asyncio.sleep(0.02)


def vm(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


async def main() -> int:
    alice = Member(HS, "alice", "alicepw", os.path.join(TMP, "b-alice"))
    bob = Member(HS, "bob", "bobpw", os.path.join(TMP, "b-bob"))
    hearth = Hearth()
    await alice.login()
    await bob.login()
    try:
        # the floor: two people, one round trip
        room = await alice.create_room("floor", invite=[bob.user_id])
        await bob.join(room)
        await alice.wait_for_join(room, bob.user_id)
        floor = []
        for i in range(FLOOR):
            t0 = time.monotonic()
            sent = await alice.send(room, f"ping {i}")
            await bob.wait_for_message(room, sender=alice.user_id,
                                       predicate=lambda m, s=sent: m.event_id == s)
            back = await bob.send(room, f"pong {i}", reply_to=sent)
            await alice.wait_for_message(room, sender=bob.user_id,
                                         predicate=lambda m, b=back: m.event_id == b)
            floor.append((time.monotonic() - t0) * 1000)

        hearth.start()
        idle_anon, idle_file = vm(hearth.proc.pid, "RssAnon"), vm(hearth.proc.pid, "RssFile")
        peak = {"anon": 0}
        sampler = asyncio.ensure_future(sample_anon(hearth.proc.pid, peak))
        rooms = []
        t0 = time.monotonic()
        for i in range(ROOMS):
            rooms.append(await alice.create_room(f"bench-{i}", invite=[BOT]))
        for r in rooms:
            await alice.wait_for_join(r, BOT, timeout=60)
        join_s = time.monotonic() - t0
        rss_rooms = vm(hearth.proc.pid, "VmRSS")

        lat = []
        main_room = rooms[0]
        for i in range(COMMANDS):
            text = ("!help", "!checkin", "!about", "!topics")[i % 4]
            t0 = time.monotonic()
            cmd = await alice.send(main_room, text)
            await alice.wait_for_message(main_room, sender=BOT, timeout=30,
                                         predicate=lambda m, c=cmd: m.in_reply_to == c)
            lat.append((time.monotonic() - t0) * 1000)
        hwm = vm(hearth.proc.pid, "VmHWM")
        rss = vm(hearth.proc.pid, "VmRSS")
        anon = vm(hearth.proc.pid, "RssAnon")
        filed = vm(hearth.proc.pid, "RssFile")
        pss_anon, pss_file = rollup(hearth.proc.pid, "Pss_Anon"), rollup(hearth.proc.pid, "Pss_File")
        sampler.cancel()
        log_mark = len(hearth.log())
        hearth.stop()
        own = re.search(r"handled (\d+) commands, own time p50 (\d+) us p99 (\d+) us",
                        hearth.log()[log_mark:])
    finally:
        if hearth.running():
            hearth.stop()
        await alice.close()
        await bob.close()

    print(f"floor (two nio clients, one round trip, n={FLOOR}): "
          f"p50 {statistics.median(floor):.1f} ms  p99 {pct(floor, 99):.1f} ms")
    print(f"hearth reply latency (n={COMMANDS}): p50 {statistics.median(lat):.1f} ms  "
          f"p99 {pct(lat, 99):.1f} ms  (floor-adjusted p50 {statistics.median(lat) - statistics.median(floor):+.1f} ms)")
    if own:
        print(f"hearth own time per command (n={own.group(1)}): p50 {own.group(2)} us  "
              f"p99 {own.group(3)} us  (aim: p99 < 1000 us)")
    else:
        print("hearth own time: no figure in the log")
    print(f"hearth memory with {ROOMS} joined rooms (kB): peak VmHWM {hwm} (aim: < 8192), "
          f"RSS after joins {rss_rooms}, after the commands {rss}; {ROOMS} joins took {join_s:.1f} s")
    print(f"  Hearth's own (RssAnon: heap, stacks, libraries' written pages): at start {idle_anon}, "
          f"peak sampled {peak['anon']}, after the commands {anon}")
    print(f"  mapped libraries and files (RssFile, shared with other processes): at start "
          f"{idle_file}, after the commands {filed}; proportional share (Pss_File) {pss_file}, "
          f"Pss_Anon {pss_anon}")
    print("benchmark done (figures only, nothing asserted)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
