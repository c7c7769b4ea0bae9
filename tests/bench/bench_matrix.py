#!/usr/bin/python3
"""Matrix benchmark: prints the figures of issue 15 next to their goals, asserts nothing.
Run by `tests/matrix/run.sh --bench` against the real Synapse; every figure comes from one run.

- floor: the homeserver's own round trip between two nio clients (alice sends, bob answers as
  soon as he sees it, alice sees the answer); the two-hop floor of a command and its reply;
- plain room (50 rooms joined): reply latency p50 against the floor (BENCH_PAIRS pairs, default
  half of BENCH_COMMANDS: one command to Hearth, then one floor round trip, in turn, so both
  medians see the same moments of the homeserver's load; the floor measured once at the start
  drifts by 2x between rounds on a shared machine; BENCH_PAIRS=0: the commands of the CPU pass
  against the start floor; in the pairs bob answers with the text of one of Hearth's replies,
  an m.notice with its HTML: the homeserver's cost of a message grows with its size, which a
  short "pong" would leave out), CPU per command (Hearth's
  utime+stime over the commands, from /proc/PID/task/*/schedstat, divided by their number),
  own time per command (its /sync response read to its reply handed to curl, from the line it
  logs at shutdown) beside its CPU time over the same span (the same line), memory (VmHWM,
  RssAnon, RssFile); per run also the user/system split (clock ticks), the time Hearth waited
  runnable on a run queue (schedstat's second field) and its involuntary context switches, per
  command: a wall-time tail with a flat CPU-time tail and long run-queue waits is scheduling;
- Megolm room: the same for encrypted commands;
- 1,000 rooms (BENCH_BIG_ROOMS, 0 skips): Hearth joins them, is restarted, and the time from its
  start to its first answered command, its CPU per idle minute, CPU per command in a busy room
  and its memory are measured.
Environment: BENCH_COMMANDS (200), BENCH_ROOMS (50), BENCH_FLOOR (50), BENCH_BIG_ROOMS (1000),
BENCH_IDLE_S (60), BENCH_TEXT ("!learn": the day's reading), BENCH_PERF=FILE: a `perf record` of
Hearth (user-space CPU samples) during the plain commands, for the profile, and FILE.megolm
during the Megolm commands. HTTP requests per command (its /sync responses and its PUTs) are
counted from the homeserver's access log ($HEARTH_SYNAPSE_ROOT/homeserver.log) when it is there.
BENCH_BINARIES="name=path name2=path2" (default: this build as "hearth") and BENCH_ROUNDS (1):
each round measures every binary in turn on the same homeserver, data folder and rooms, so a
before/after comparison sees the same load and noise; figures are printed as they come.
BENCH_BIG_ROUNDS (BENCH_ROUNDS): rounds of the 1,000-room figures.
- floor bot (BENCH_FLOOR_BOT=0 skips): in each round after the binaries, tests/bench/floor_bot.c
  (build/bench/floor_bot, or BENCH_FLOOR_BOT_PATH), a minimal bot on libcurl + jansson + SQLite
  only, logged in as @hearth2 in a room of its own, answers the same member's same commands at
  the same pacing with a reply of the size of Hearth's (measured from one of its replies), with
  and without its store (--no-store): the per-command CPU floor of the mandated libraries, with
  the same user/system and run-queue line. Hearth's figures are measured exactly as without it.
  BENCH_CALLGRIND=DIR (with the floor bot): in each round, Hearth (the last binary) and the
  floor bot also run 50 commands under callgrind (instrumentation on only for them) and
  BENCH_COMMANDS under `perf record -e cpu-clock` (user + kernel), files in DIR.
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
from benchkit import (cpu_ns, goal, mem_line, memory, pct, say, schedstat,  # noqa: E402
                      stat_fields, timed_commands, vm)

COMMANDS = int(os.environ.get("BENCH_COMMANDS", "200"))
PAIRS = int(os.environ.get("BENCH_PAIRS", str(max(10, COMMANDS // 2))))
ROOMS = max(1, int(os.environ.get("BENCH_ROOMS", "50")))  # the commands need one room
FLOOR = int(os.environ.get("BENCH_FLOOR", "50"))
BIG = int(os.environ.get("BENCH_BIG_ROOMS", "1000"))
IDLE_S = float(os.environ.get("BENCH_IDLE_S", "60"))
TEXT = os.environ.get("BENCH_TEXT", "!learn")
PERF = os.environ.get("BENCH_PERF", "")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))
BIG_ROUNDS = int(os.environ.get("BENCH_BIG_ROUNDS", str(ROUNDS)))
BINARIES = [tuple(b.split("=", 1)) for b in os.environ.get("BENCH_BINARIES", "").split()] or \
    [("hearth", os.environ["HEARTH"])]


def ticks(pid):
    """utime+stime in clock ticks (for the record next to schedstat)."""
    fields = stat_fields(pid)
    return int(fields[11]) + int(fields[12])


def sched(pid):
    """(user ticks, system ticks, ns waited on a run queue, involuntary context switches): what
    tells Hearth's own work from the time it sat runnable behind other processes."""
    fields = stat_fields(pid)
    return (int(fields[11]), int(fields[12]), schedstat(pid, 1),
            vm(pid, "nonvoluntary_ctxt_switches"))


def sched_line(s0, s1, n):
    hz = os.sysconf("SC_CLK_TCK")
    return (f"user {(s1[0] - s0[0]) * 1000.0 / hz / n:.2f} ms, system "
            f"{(s1[1] - s0[1]) * 1000.0 / hz / n:.2f} ms (clock ticks); waited runnable on a "
            f"run queue {(s1[2] - s0[2]) / 1e6 / n:.3f} ms; involuntary switches "
            f"{(s1[3] - s0[3]) / n:.3f} per command")




async def run_commands(member, room, n, text):
    return await timed_commands(member, room, n, text, BOT)


HS_LOG = os.path.join(os.environ.get("HEARTH_SYNAPSE_ROOT", "/nonexistent"), "homeserver.log")


def log_mark():
    try:
        return os.path.getsize(HS_LOG)
    except OSError:
        return None


def requests_since(mark, user=BOT):
    """user's (Hearth's) finished /sync and PUT requests in the homeserver's access log since
    mark."""
    if mark is None:
        return None
    syncs = puts = 0
    with open(HS_LOG, "rb") as f:
        f.seek(mark)
        for line in f:
            if b"{" + user.encode() + b"}" not in line or b"Processed request" not in line:
                continue
            if b'"GET /_matrix/client/v3/sync' in line:
                syncs += 1
            elif b'"PUT /_matrix/client/v3/rooms/' in line:
                puts += 1
    return syncs, puts


def req_line(req, n):
    if not req:
        return "requests: no homeserver log"
    return (f"requests per command: /sync {req[0] / n:.2f}, PUT {req[1] / n:.2f} "
            f"(goal 2 in all: {goal((req[0] + req[1]) / n, 2.05)})")


async def floor_trip(alice, bob, room, i, reply=None):
    """One floor round trip: alice sends, bob answers as soon as he sees it, alice sees it (ms).
    reply: (plain, HTML) bob answers with, as an m.notice (Hearth's own reply's text), else a
    short "pong"."""
    t0 = time.monotonic()
    sent = await alice.send(room, TEXT if reply else f"ping {i}")
    await bob.wait_for_message(room, sender=alice.user_id,
                               predicate=lambda m, s=sent: m.event_id == s)
    if reply:
        back = await bob.send(room, reply[0], reply_to=sent, notice=True, html=reply[1])
    else:
        back = await bob.send(room, f"pong {i}", reply_to=sent)
    await alice.wait_for_message(room, sender=bob.user_id,
                                 predicate=lambda m, b=back: m.event_id == b)
    return (time.monotonic() - t0) * 1000


async def hearth_reply(alice, room):
    """(plain, HTML) of one of Hearth's replies to TEXT in room."""
    m = await alice.wait_for_message(room, sender=BOT, timeout=5,
                                     predicate=lambda m: m.msgtype == "m.notice" and
                                     m.in_reply_to is not None)
    return m.body, m.content.get("formatted_body")


async def paired(alice, state, room, n):
    """n pairs: a command to Hearth in room, then a floor round trip in which bob answers with
    the text of Hearth's reply (the homeserver's cost of a message grows with its size: a short
    "pong" would leave that out of the floor); (Hearth's latencies, the floor's)."""
    bob, froom = state["floor_pair"]
    if "reply" not in state:
        state["reply"] = await hearth_reply(alice, state["rooms"][0])
    lat, fl = [], []
    for i in range(n):
        lat += await run_commands(alice, room, 1, TEXT)
        fl.append(await floor_trip(alice, bob, froom, i, state["reply"]))
    return lat, fl


def latency_line(tag, what, lat, cpu_lat, fl, pair_fl):
    """The reply latency goal: against the interleaved floor when there is one."""
    p50 = statistics.median(lat if pair_fl else cpu_lat)
    f50 = statistics.median(pair_fl) if pair_fl else fl
    how = (f"n={len(lat)}, each beside a floor round trip answered with Hearth's reply text: "
           f"floor p50 {f50:.1f} ms; the start floor, answered with a short pong: {fl:.1f} ms"
           if pair_fl else f"n={len(cpu_lat)}, against the floor measured at the start")
    say(f"[{tag}] {what} reply latency ({how}): p50 {p50:.1f} ms = {p50 / f50:.3f}x the floor "
        f"(goal <= 1.05x: {goal(p50 / f50, 1.05)})  p99 {pct(lat if pair_fl else cpu_lat, 99):.1f} ms"
        + (f"; during the CPU pass p50 {statistics.median(cpu_lat):.1f} ms" if pair_fl else ""))


async def measured(hearth, member, room, n, text):
    """n commands; returns (latencies ms, CPU ms per command, ticks per command, requests)."""
    pid = hearth.proc.pid
    mark = log_mark()
    c0, k0, s0 = cpu_ns(pid), ticks(pid), sched(pid)
    lat = await run_commands(member, room, n, text)
    c1, k1, s1 = cpu_ns(pid), ticks(pid), sched(pid)
    await asyncio.sleep(0.5)  # the log line of the last reply's PUT
    say(f"  (this run: {sched_line(s0, s1, n)})")
    return (lat, (c1 - c0) / 1e6 / n, (k1 - k0) * 1000.0 / os.sysconf("SC_CLK_TCK") / n,
            requests_since(mark))


def start_perf(pid, perf_file):
    return subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock:u", "-F", "4000",
                             "--call-graph", "dwarf,16384", "-p", str(pid), "-o", perf_file],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_perf(perf):
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=120)




def hearth_for(binary, name="hearth"):
    """A Hearth of the given binary (test_hearth's class reads the module's HEARTH)."""
    import test_hearth
    test_hearth.HEARTH = binary
    return Hearth(name=name)


async def one_binary(tag, binary, alice, rooms_wanted, fl, perf_file):
    """Plain and Megolm figures of one binary (rooms are created on the first call)."""
    hearth = hearth_for(binary)
    perf = None
    hearth.start()
    pid = hearth.proc.pid
    idle = memory(pid)
    try:
        if not rooms_wanted.get("rooms"):
            t0 = time.monotonic()
            rooms = [await alice.create_room(f"bench-{i}", invite=[BOT]) for i in range(ROOMS)]
            for r in rooms:
                await alice.wait_for_join(r, BOT, timeout=60)
            rooms_wanted["rooms"] = rooms
            say(f"{ROOMS} joins took {time.monotonic() - t0:.1f} s")
        main_room = rooms_wanted["rooms"][0]
        await run_commands(alice, main_room, 5, TEXT)  # warm: member list, caches
        if perf_file:
            perf = start_perf(pid, perf_file)
            await asyncio.sleep(1)
        lat, cpu, cpu_ticks, req = await measured(hearth, alice, main_room, COMMANDS, TEXT)
        stop_perf(perf)
        perf = None
        mem = memory(pid)
        plat, pfl = await paired(alice, rooms_wanted, main_room, PAIRS) if PAIRS else ([], [])
        if not rooms_wanted.get("enc"):
            enc = await alice.create_room("bench-e2ee", invite=[BOT], encrypted=True)
            await alice.wait_for_join(enc, BOT, timeout=60)
            rooms_wanted["enc"] = enc
        enc = rooms_wanted["enc"]
        await run_commands(alice, enc, 3, TEXT)  # sessions both ways
        if perf_file:
            perf = start_perf(pid, perf_file + ".megolm")
            await asyncio.sleep(1)
        elat, ecpu, _, ereq = await measured(hearth, alice, enc, COMMANDS, TEXT)
        stop_perf(perf)
        perf = None
        emem = memory(pid)
        eplat, epfl = await paired(alice, rooms_wanted, enc, PAIRS) if PAIRS else ([], [])
        log_mark = len(hearth.log())
    finally:
        if perf and perf.poll() is None:
            perf.kill()
        if hearth.running():
            hearth.stop()
    log = hearth.log()[log_mark:]
    own = re.search(r"handled (\d+) commands, own time p50 (\d+) us p99 (\d+) us "
                    r"\((\d+) timed[^)]*\), CPU time p50 (\d+) us p99 (\d+) us", log)
    eown = re.search(r"encrypted replies: own time \S+ \S+ \S+ \S+ \S+ p50 (\d+) us "
                     r"p99 (\d+) us max (\d+) us, CPU time p50 (\d+) us p99 (\d+) us "
                     r"\((\d+) timed\)", log)
    latency_line(tag, f"plain '{TEXT}'", plat, lat, fl, pfl)
    say(f"[{tag}] plain CPU per command: {cpu:.3f} ms (goal <= 0.30 ms: {goal(cpu, 0.30)}; "
        f"utime+stime ticks: {cpu_ticks:.2f} ms)")
    say(f"[{tag}] plain {req_line(req, COMMANDS)}")
    if own:
        say(f"[{tag}] plain own time per command (n={own.group(4)}): p50 {own.group(2)} us  "
            f"p99 {own.group(3)} us (goal p99 <= 1000 us: {goal(int(own.group(3)), 1000)}); "
            f"its CPU time (same span, this thread on a CPU): p50 {own.group(5)} us  "
            f"p99 {own.group(6)} us")
    else:
        say(f"[{tag}] plain own time: no figure in the log")
    latency_line(tag, "Megolm", eplat, elat, fl, epfl)
    say(f"[{tag}] Megolm CPU per command: {ecpu:.3f} ms (goal <= 0.50 ms: {goal(ecpu, 0.50)})")
    say(f"[{tag}] Megolm {req_line(ereq, COMMANDS)}")
    if eown:
        say(f"[{tag}] Megolm own time per reply (n={eown.group(6)}): p50 {eown.group(1)} us  "
            f"p99 {eown.group(2)} us (goal p99 <= 2000 us: {goal(int(eown.group(2)), 2000)}); "
            f"its CPU time: p50 {eown.group(4)} us  p99 {eown.group(5)} us")
    else:
        say(f"[{tag}] Megolm own time: no figure in the log")
    say(f"[{tag}] memory at start: {mem_line(idle)}")
    say(f"[{tag}] memory with {ROOMS} rooms after the plain commands: {mem_line(mem)} "
        f"(goal RssAnon <= 4 MiB: {goal(mem['RssAnon'], 4096)})")
    say(f"[{tag}] memory after the Megolm commands: {mem_line(emem)}")
    return cpu


FLOOR_BOT = os.environ.get("BENCH_FLOOR_BOT", "1") != "0"
FLOOR_USER = "@hearth2:localhost"


def floor_bot_path():
    return os.environ.get("BENCH_FLOOR_BOT_PATH") or \
        os.path.join(os.path.dirname(os.path.abspath(BINARIES[-1][1])), "bench", "floor_bot")


async def hearth_reply_size(alice, room):
    """(plain, HTML) lengths of one of Hearth's replies to TEXT in room, for the floor bot's."""
    plain, html = await hearth_reply(alice, room)
    return len(plain.encode()), len((html or "").encode())


def floor_reply_args(state):
    """--reply-bytes for a reply of the size of Hearth's (state["floor_reply"])."""
    plain, html = state["floor_reply"]
    return ["--reply-bytes", str(max(1, (plain + html) // 2 - 25))]


def floor_bot_start(args, db, wrap=()):
    """The floor bot on a fresh store db (wrap: a command it runs under, e.g. valgrind)."""
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(db + suffix)
        except FileNotFoundError:
            pass
    logf = open(os.path.join(TMP, "floor_bot.log"), "a")
    proc = subprocess.Popen(list(wrap) + [floor_bot_path(), "--db", db, "--text", TEXT] + args +
                            [HS, "hearth2", "hearth2pw"], stdout=subprocess.PIPE, stderr=logf,
                            stdin=subprocess.DEVNULL, text=True)
    logf.close()
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        proc.wait()
        raise RuntimeError("the floor bot did not start (see floor_bot.log)")
    return proc


def floor_bot_stop(proc):
    """Stops it; a failed exit (an ASan build's report, say) is printed with its log's tail."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.returncode not in (0, -signal.SIGKILL):
        with open(os.path.join(TMP, "floor_bot.log"), errors="replace") as f:
            tail = f.read()[-3000:]
        say(f"floor bot exited with {proc.returncode}; its log ends:\n{tail}")


async def floor_commands(member, room, n, sender=FLOOR_USER):
    return await timed_commands(member, room, n, TEXT, sender, timeout=60)


async def floor_round(rnd, alice, state, fl):
    """The floor bot with and without its store, beside the binaries of round rnd."""
    if not os.access(floor_bot_path(), os.X_OK):
        say(f"floor bot: none at {floor_bot_path()} (build it: cmake --build build --target "
            f"floor_bot; or set BENCH_FLOOR_BOT_PATH; BENCH_FLOOR_BOT=0 skips it): skipped")
        return
    if not state.get("floor_room"):  # its room: it joins on the invite (no --room)
        proc = floor_bot_start([], os.path.join(TMP, "floor-join.db"))
        try:
            room = await alice.create_room("bench-floor", invite=[FLOOR_USER])
            await alice.wait_for_join(room, FLOOR_USER, timeout=60)
        finally:
            floor_bot_stop(proc)
        state["floor_room"] = room
        state["floor_reply"] = await hearth_reply_size(alice, state["rooms"][0])
        say(f"floor bot's reply: plain {state['floor_reply'][0]} bytes, HTML "
            f"{state['floor_reply'][1]} (Hearth's '{TEXT}' reply)")
    room = state["floor_room"]
    reply = floor_reply_args(state)
    for tag, args, what in ((f"floor bot #{rnd + 1}", [], "libcurl + jansson + SQLite"),
                            (f"floor bot --no-store #{rnd + 1}", ["--no-store"],
                             "libcurl + jansson, no store")):
        proc = floor_bot_start(["--room", room] + reply + args,
                               os.path.join(TMP, f"floor-{rnd}.db"))
        try:
            pid = proc.pid
            await floor_commands(alice, room, 5)  # warm, as Hearth's run
            mark = log_mark()
            c0, k0, s0 = cpu_ns(pid), ticks(pid), sched(pid)
            lat = await floor_commands(alice, room, COMMANDS)
            c1, k1, s1 = cpu_ns(pid), ticks(pid), sched(pid)
            mem = memory(pid)
            await asyncio.sleep(0.5)
        finally:
            floor_bot_stop(proc)
        cpu = (c1 - c0) / 1e6 / COMMANDS
        req = requests_since(mark, FLOOR_USER)
        p50 = statistics.median(lat)
        say(f"  (this run: {sched_line(s0, s1, COMMANDS)})")
        say(f"[{tag}] plain reply latency (n={COMMANDS}): p50 {p50:.1f} ms = {p50 / fl:.3f}x "
            f"the floor  p99 {pct(lat, 99):.1f} ms")
        say(f"[{tag}] plain CPU per command: {cpu:.3f} ms ({what}, nothing else; goal for "
            f"Hearth <= 0.30 ms; utime+stime ticks: "
            f"{(k1 - k0) * 1000.0 / os.sysconf('SC_CLK_TCK') / COMMANDS:.2f} ms)")
        if req:
            say(f"[{tag}] requests per command: /sync {req[0] / COMMANDS:.2f}, "
                f"PUT {req[1] / COMMANDS:.2f}")
        say(f"[{tag}] memory: {mem_line(mem)}")


PROFILE_DIR = os.environ.get("BENCH_CALLGRIND", "")
PROFILE_N = 50


async def profiled_commands(alice, room, sender, pid, out):
    """Warm, then PROFILE_N commands with callgrind's instrumentation on (pid runs under
    valgrind), then a plain run of the same under `perf record -e cpu-clock` (user + kernel)."""
    await floor_commands(alice, room, 10, sender)
    subprocess.run(["callgrind_control", "-i", "on", str(pid)], check=True,
                   stdout=subprocess.DEVNULL)
    await floor_commands(alice, room, PROFILE_N, sender)
    subprocess.run(["callgrind_control", "-i", "off", str(pid)], check=True,
                   stdout=subprocess.DEVNULL)
    say(f"  callgrind: {out} ({PROFILE_N} commands)")


async def perf_commands(alice, room, sender, pid, out):
    await floor_commands(alice, room, 10, sender)
    perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-g",
                             "-p", str(pid), "-o", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await asyncio.sleep(1)
    await floor_commands(alice, room, COMMANDS, sender)
    stop_perf(perf)
    say(f"  perf: {out} ({COMMANDS} commands)")


async def profile_round(rnd, alice, state):
    """BENCH_CALLGRIND=DIR: Hearth and the floor bot under callgrind (instruction counts per
    phase) and under perf (user + kernel), the same commands in their own rooms."""
    os.makedirs(PROFILE_DIR, exist_ok=True)
    binary = BINARIES[-1][1]
    vg = os.path.join(TMP, "vg-hearth.sh")
    cg = os.path.join(PROFILE_DIR, f"hearth.{rnd}.callgrind")
    with open(vg, "w") as f:
        f.write(f"#!/bin/sh\nexec valgrind -q --tool=callgrind --instr-atstart=no "
                f"--callgrind-out-file={cg} {binary} \"$@\"\n")
    os.chmod(vg, 0o755)
    hearth = hearth_for(vg)
    try:
        mark = hearth.launch()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and "first sync done" not in hearth.log()[mark:] and \
                "continuing from" not in hearth.log()[mark:]:
            await asyncio.sleep(1)
        await profiled_commands(alice, state["rooms"][0], BOT, hearth.proc.pid, cg)
    finally:
        hearth.proc.send_signal(signal.SIGTERM)  # valgrind writes its profile: give it time
        try:
            hearth.proc.wait(timeout=120)
        finally:
            hearth.stop()
    hearth = hearth_for(binary)
    hearth.start()
    try:
        await perf_commands(alice, state["rooms"][0], BOT, hearth.proc.pid,
                            os.path.join(PROFILE_DIR, f"hearth.{rnd}.perf"))
    finally:
        hearth.stop()
    room = state["floor_room"]
    reply = floor_reply_args(state)
    db = os.path.join(TMP, "floor-prof.db")
    cg = os.path.join(PROFILE_DIR, f"floor.{rnd}.callgrind")
    try:
        proc = floor_bot_start(["--room", room] + reply, db,
                               wrap=["valgrind", "-q", "--tool=callgrind", "--instr-atstart=no",
                                     f"--callgrind-out-file={cg}"])
    except RuntimeError as e:
        say(f"  callgrind of the floor bot: {e}")
        proc = None
    if proc:
        try:
            await profiled_commands(alice, room, FLOOR_USER, proc.pid, cg)
        finally:
            floor_bot_stop(proc)
    proc = floor_bot_start(["--room", room] + reply, db)
    try:
        await perf_commands(alice, room, FLOOR_USER, proc.pid,
                            os.path.join(PROFILE_DIR, f"floor.{rnd}.perf"))
    finally:
        floor_bot_stop(proc)


async def make_big_rooms(carol):
    """carol creates BIG rooms (raw API: her client does not sync them) and invites Hearth, in
    chunks it joins at once (it declines invites over 64 in flight); 8 creations at a time."""
    hearth = hearth_for(BINARIES[-1][1], name="hearth-bench-big")
    hearth.start()
    t0 = time.monotonic()
    made_all = []

    async def make(i):
        r = await carol._api("POST", "/createRoom", {"name": f"big-{i}", "preset": "private_chat",
                                                    "invite": [BOT]})
        return r["room_id"]

    async def joined(r, deadline):
        while time.monotonic() < deadline:
            j = await carol._api("GET", f"/rooms/{r}/joined_members")
            if BOT in j.get("joined", {}):
                return
            await asyncio.sleep(0.5)

    try:
        for start in range(0, BIG, 48):
            ids = list(range(start, min(BIG, start + 48)))
            made = []
            for k in range(0, len(ids), 8):
                made += await asyncio.gather(*(make(i) for i in ids[k:k + 8]))
            deadline = time.monotonic() + 180
            for k in range(0, len(made), 8):
                await asyncio.gather(*(joined(r, deadline) for r in made[k:k + 8]))
            made_all += made
            if (start // 48) % 5 == 0:
                say(f"  {len(made_all)} rooms made and joined ({time.monotonic() - t0:.0f} s)")
    finally:
        hearth.stop()
    return made_all, time.monotonic() - t0


async def one_big(tag, binary, alice, busy, n, cpu1):
    hearth = hearth_for(binary, name="hearth-bench-big")
    try:
        t_start = time.monotonic()
        hearth.launch()
        cmd = await alice.send(busy, TEXT)
        await alice.wait_for_message(busy, sender=BOT, timeout=180,
                                     predicate=lambda m, c=cmd: m.in_reply_to == c)
        first_s = time.monotonic() - t_start
        pid = hearth.proc.pid
        await asyncio.sleep(3)
        c0 = cpu_ns(pid)
        await asyncio.sleep(IDLE_S)
        idle_ms = (cpu_ns(pid) - c0) / 1e6 * 60.0 / IDLE_S
        await run_commands(alice, busy, 3, TEXT)
        lat, cpu, _, _ = await measured(hearth, alice, busy, COMMANDS // 2, TEXT)
        mem = memory(pid)
    finally:
        if hearth.running():
            hearth.stop()
    say(f"[{tag}] {n} rooms: start to first answer {first_s:.1f} s (goal <= 10 s: "
        f"{goal(first_s, 10)}); CPU per idle minute {idle_ms:.1f} ms (over {IDLE_S:.0f} s)")
    say(f"[{tag}] {n} rooms: CPU per command in a busy room {cpu:.3f} ms (goal: the 1-room "
        f"figure {cpu1:.3f} ms, {goal(cpu, cpu1 * 1.1)} within 10%); reply p50 "
        f"{statistics.median(lat):.1f} ms")
    say(f"[{tag}] {n} rooms: {mem_line(mem)} (goal VmHWM <= 24 MiB: "
        f"{goal(mem['VmHWM'], 24 * 1024)})")


async def main() -> int:
    alice = Member(HS, "alice", "alicepw", os.path.join(TMP, "b-alice"))
    bob = Member(HS, "bob", "bobpw", os.path.join(TMP, "b-bob"))
    carol = Member(HS, "carol", "carolpw", os.path.join(TMP, "b-carol"))
    await alice.login()
    await bob.login()
    await carol.login()
    cpu1 = {}
    try:
        # the floor: two people, one round trip (command and reply are two hops too)
        room = await alice.create_room("floor", invite=[bob.user_id])
        await bob.join(room)
        await alice.wait_for_join(room, bob.user_id)
        floor = [await floor_trip(alice, bob, room, i) for i in range(max(1, FLOOR))]
        fl = statistics.median(floor)
        say(f"floor (two nio clients, one round trip, n={len(floor)}): p50 {fl:.1f} ms  "
            f"p99 {pct(floor, 99):.1f} ms")
        rooms = {"floor_pair": (bob, room)}
        for rnd in range(ROUNDS):
            for name, binary in BINARIES:
                cpu1.setdefault(name, []).append(
                    await one_binary(f"{name} #{rnd + 1}", binary, alice, rooms, fl, ""))
            if FLOOR_BOT:
                await floor_round(rnd, alice, rooms, fl)
                if PROFILE_DIR and rooms.get("floor_room"):
                    await profile_round(rnd, alice, rooms)
        if PERF:  # one more round under perf (its figures are slowed by the profiler)
            for name, binary in BINARIES:
                await one_binary(f"{name} profiled", binary, alice, rooms, fl, f"{PERF}.{name}")
        if BIG:
            made, secs = await make_big_rooms(carol)
            say(f"{len(made)} rooms made and joined in {secs:.0f} s")
            busy = rooms["rooms"][0]
            for rnd in range(BIG_ROUNDS):
                for name, binary in BINARIES:
                    await one_big(f"{name} #{rnd + 1}", binary, alice, busy, len(made) + ROOMS,
                                  statistics.median(cpu1[name]))
    finally:
        await alice.close()
        await bob.close()
        await carol.close()
    say("benchmark done (figures only, nothing asserted)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
