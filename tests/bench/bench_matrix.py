#!/usr/bin/python3
"""Matrix benchmark: prints the figures of issue 15 next to their goals, asserts nothing.
Run by `tests/matrix/run.sh --bench` against the real Synapse; every figure comes from one run.

- floor: the homeserver's own round trip between two nio clients (alice sends, bob answers as
  soon as he sees it, alice sees the answer); the two-hop floor of a command and its reply;
- plain room (50 rooms joined): reply latency p50 against the floor, CPU per command (Hearth's
  utime+stime over the commands, from /proc/PID/task/*/schedstat, divided by their number),
  own time per command (its /sync response read to its reply handed to curl, from the line it
  logs at shutdown), memory (VmHWM, RssAnon, RssFile);
- Megolm room: the same for encrypted commands;
- 1,000 rooms (BENCH_BIG_ROOMS, 0 skips): Hearth joins them, is restarted, and the time from its
  start to its first answered command, its CPU per idle minute, CPU per command in a busy room
  and its memory are measured.
Environment: BENCH_COMMANDS (200), BENCH_ROOMS (50), BENCH_FLOOR (50), BENCH_BIG_ROOMS (1000),
BENCH_IDLE_S (60), BENCH_TEXT ("!learn": the day's reading), BENCH_PERF=FILE: a `perf record` of Hearth
(user-space CPU samples) during the plain commands, for the profile.
"""

import asyncio
import os
import re
import signal
import statistics
import subprocess
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
BIG = int(os.environ.get("BENCH_BIG_ROOMS", "1000"))
IDLE_S = float(os.environ.get("BENCH_IDLE_S", "60"))
TEXT = os.environ.get("BENCH_TEXT", "!learn")
PERF = os.environ.get("BENCH_PERF", "")


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


def vm(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def cpu_ns(pid):
    """Hearth's CPU time so far (all its threads, user and system), in ns: the first field of
    schedstat is the time spent on a CPU, far finer than utime+stime's clock ticks."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def ticks(pid):
    """utime+stime in clock ticks (for the record next to schedstat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def memory(pid):
    return {k: vm(pid, k) for k in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}


def mem_line(m):
    return (f"VmHWM {m['VmHWM'] / 1024:.1f} MiB, RssAnon {m['RssAnon'] / 1024:.1f} MiB, "
            f"RssFile {m['RssFile'] / 1024:.1f} MiB")


async def run_commands(member, room, n, text):
    lat = []
    for _ in range(n):
        t0 = time.monotonic()
        cmd = await member.send(room, text)
        await member.wait_for_message(room, sender=BOT, timeout=30,
                                      predicate=lambda m, c=cmd: m.in_reply_to == c)
        lat.append((time.monotonic() - t0) * 1000)
    return lat


async def measured(hearth, member, room, n, text):
    """n commands; returns (latencies ms, CPU ms per command, ticks per command)."""
    pid = hearth.proc.pid
    c0, k0 = cpu_ns(pid), ticks(pid)
    lat = await run_commands(member, room, n, text)
    c1, k1 = cpu_ns(pid), ticks(pid)
    return lat, (c1 - c0) / 1e6 / n, (k1 - k0) * 1000.0 / os.sysconf("SC_CLK_TCK") / n


def goal(value, limit):
    return "meets" if value <= limit else "MISSES"


async def big_rooms(out):
    """Hearth in BIG rooms: carol creates them (raw API: her client does not sync them) and
    invites Hearth, in chunks it joins at once (it declines invites over 64 in flight)."""
    carol = Member(HS, "carol", "carolpw", os.path.join(TMP, "b-carol"))
    alice = Member(HS, "alice", "alicepw", os.path.join(TMP, "b-alice"))
    hearth = Hearth(name="hearth-bench-big")
    await carol.login()
    await alice.login()
    try:
        hearth.start()
        t0 = time.monotonic()
        rooms = []
        chunk = 50
        for start in range(0, BIG, chunk):
            made = []
            for i in range(start, min(BIG, start + chunk)):
                r = await carol._api("POST", "/createRoom",
                                     {"name": f"big-{i}", "preset": "private_chat",
                                      "invite": [BOT]})
                made.append(r["room_id"])
            rooms += made
            # the chunk's joins are in before the next chunk's invites go out
            deadline = time.monotonic() + 120
            for r in made:
                while time.monotonic() < deadline:
                    j = await carol._api("GET", f"/rooms/{r}/joined_members")
                    if BOT in j.get("joined", {}):
                        break
                    await asyncio.sleep(0.2)
        join_s = time.monotonic() - t0
        # the busy room: alice and Hearth
        busy = await alice.create_room("big-busy", invite=[BOT])
        await alice.wait_for_join(busy, BOT, timeout=60)
        hearth.stop()

        # restart: start to the first answered command
        t_start = time.monotonic()
        hearth.launch()
        cmd = await alice.send(busy, TEXT)
        await alice.wait_for_message(busy, sender=BOT, timeout=120,
                                     predicate=lambda m, c=cmd: m.in_reply_to == c)
        first_s = time.monotonic() - t_start
        pid = hearth.proc.pid
        await asyncio.sleep(2)
        c0 = cpu_ns(pid)
        await asyncio.sleep(IDLE_S)
        idle_ms = (cpu_ns(pid) - c0) / 1e6 * 60.0 / IDLE_S
        lat, cpu, _ = await measured(hearth, alice, busy, COMMANDS // 2, TEXT)
        mem = memory(pid)
        hearth.stop()
        out.update(join_s=join_s, first_s=first_s, idle_ms=idle_ms, cpu=cpu, mem=mem,
                   n=len(rooms), lat=lat)
    finally:
        if hearth.running():
            hearth.stop()
        await carol.close()
        await alice.close()


async def main() -> int:
    alice = Member(HS, "alice", "alicepw", os.path.join(TMP, "b-alice"))
    bob = Member(HS, "bob", "bobpw", os.path.join(TMP, "b-bob"))
    hearth = Hearth()
    perf = None
    await alice.login()
    await bob.login()
    try:
        # the floor: two people, one round trip (command and reply are two hops too)
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
        pid = hearth.proc.pid
        idle = memory(pid)
        rooms = []
        t0 = time.monotonic()
        for i in range(ROOMS):
            rooms.append(await alice.create_room(f"bench-{i}", invite=[BOT]))
        for r in rooms:
            await alice.wait_for_join(r, BOT, timeout=60)
        join_s = time.monotonic() - t0
        main_room = rooms[0]
        await run_commands(alice, main_room, 5, TEXT)  # warm: member list, caches
        if PERF:
            perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock:u", "-F", "4000",
                                     "-g", "-p", str(pid), "-o", PERF],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            await asyncio.sleep(1)
        lat, cpu, cpu_ticks = await measured(hearth, alice, main_room, COMMANDS, TEXT)
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=60)
        mem = memory(pid)

        # Megolm: alice and Hearth in an encrypted room
        enc = await alice.create_room("bench-e2ee", invite=[BOT], encrypted=True)
        await alice.wait_for_join(enc, BOT, timeout=60)
        await run_commands(alice, enc, 3, TEXT)  # sessions both ways
        elat, ecpu, _ = await measured(hearth, alice, enc, COMMANDS, TEXT)
        emem = memory(pid)
        log_mark = len(hearth.log())
        hearth.stop()
        log = hearth.log()[log_mark:]
        own = re.search(r"handled (\d+) commands, own time p50 (\d+) us p99 (\d+) us "
                        r"\((\d+) timed", log)
        eown = re.search(r"encrypted replies: own time \S+ \S+ \S+ \S+ \S+ p50 (\d+) us "
                         r"p99 (\d+) us max (\d+) us, CPU time p50 (\d+) us p99 (\d+) us "
                         r"\((\d+) timed\)", log)
    finally:
        if perf and perf.poll() is None:
            perf.kill()
        if hearth.running():
            hearth.stop()
        await alice.close()
        await bob.close()

    big = {}
    if BIG:
        await big_rooms(big)

    fl = statistics.median(floor)
    p50, ep50 = statistics.median(lat), statistics.median(elat)
    print(f"floor (two nio clients, one round trip, n={FLOOR}): p50 {fl:.1f} ms  "
          f"p99 {pct(floor, 99):.1f} ms")
    print(f"plain reply latency (n={COMMANDS}, '{TEXT}'): p50 {p50:.1f} ms = {p50 / fl:.3f}x "
          f"the floor (goal <= 1.05x: {goal(p50 / fl, 1.05)})  p99 {pct(lat, 99):.1f} ms")
    print(f"plain CPU per command: {cpu:.3f} ms (goal <= 0.30 ms: {goal(cpu, 0.30)}; "
          f"utime+stime ticks: {cpu_ticks:.2f} ms)")
    if own:
        print(f"plain own time per command (n={own.group(4)}): p50 {own.group(2)} us  "
              f"p99 {own.group(3)} us (goal p99 <= 1000 us: {goal(int(own.group(3)), 1000)})")
    else:
        print("plain own time: no figure in the log")
    print(f"Megolm reply latency (n={COMMANDS}): p50 {ep50:.1f} ms = {ep50 / fl:.3f}x the floor "
          f"(goal <= 1.05x: {goal(ep50 / fl, 1.05)})  p99 {pct(elat, 99):.1f} ms")
    print(f"Megolm CPU per command: {ecpu:.3f} ms (goal <= 0.50 ms: {goal(ecpu, 0.50)})")
    if eown:
        print(f"Megolm own time per reply (n={eown.group(6)}): p50 {eown.group(1)} us  "
              f"p99 {eown.group(2)} us (goal p99 <= 2000 us: {goal(int(eown.group(2)), 2000)})")
    else:
        print("Megolm own time: no figure in the log")
    print(f"memory at start: {mem_line(idle)}")
    print(f"memory with {ROOMS} rooms after the plain commands: {mem_line(mem)} "
          f"(goal RssAnon <= 4 MiB: {goal(mem['RssAnon'], 4096)}); {ROOMS} joins took "
          f"{join_s:.1f} s")
    print(f"memory after the Megolm commands: {mem_line(emem)}")
    if big:
        print(f"{big['n']} rooms: joined in {big['join_s']:.1f} s; start to first answer "
              f"{big['first_s']:.1f} s (goal <= 10 s: {goal(big['first_s'], 10)})")
        print(f"{big['n']} rooms: CPU per idle minute {big['idle_ms']:.1f} ms")
        print(f"{big['n']} rooms: CPU per command in a busy room {big['cpu']:.3f} ms "
              f"(goal: the 1-room figure, {cpu:.3f} ms: "
              f"{goal(big['cpu'], cpu * 1.1)} within 10%); reply p50 "
              f"{statistics.median(big['lat']):.1f} ms")
        print(f"{big['n']} rooms: {mem_line(big['mem'])} (goal VmHWM <= 24 MiB: "
              f"{goal(big['mem']['VmHWM'], 24 * 1024)})")
    print("benchmark done (figures only, nothing asserted)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
