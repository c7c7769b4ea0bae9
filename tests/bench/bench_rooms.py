#!/usr/bin/python3
"""Many-rooms benchmark (issue 15 points 3 and 5): prints every figure next to its goal,
asserts nothing. Run by `tests/matrix/run.sh --bench-rooms` against the real Synapse; not part of
any default run.

Accounts: @hearth is joined to BENCH_BIG_ROOMS rooms (1,000), @hearth2 to BENCH_SMALL_ROOMS
(50), @hearthone to one room; each has one busy room shared with alice (alice and the bot, so
its replies are private replies, as in bench_matrix.py). carol creates the rooms with the bot in
`createRoom`'s invite list, BENCH_CONCURRENCY (4) at a time, and the bench joins the bot to them
with the bot's own token (the homeserver's room creation is the slow part: about 1-2 rooms/s on
a busy 2-core machine; the joins through Hearth's own invite handling are measured by
bench_matrix.py). Rooms that already exist are counted and reused: with
HEARTH_SYNAPSE_KEEP=1 run.sh keeps the homeserver between runs, so only the first run pays.

Each round, for each binary (BENCH_BINARIES="name=path ..." or this build):
- 1 room, fresh data folder: CPU per command (the 1-room figure), memory;
- 50 rooms, fresh data folder: CPU per command, RssAnon (goal <= 4 MiB);
- 1,000 rooms, FRESH data folder: time from start to the first answered command (goal <= 10 s;
  alice sends the command when Hearth logs its first sync done: one sent before is history and
  never answered), CPU per idle minute, CPU per command in the busy room
  against the 1-room figure, VmHWM / RssAnon / RssFile (goal VmHWM <= 24 MiB); with a Hearth that
  lists its rooms at a fresh start, also the time until every room's state is read and the
  memory then;
- 1,000 rooms, the same data folder kept (a restart): the same figures.
Environment: BENCH_BIG_ROOMS (1000), BENCH_SMALL_ROOMS (50), BENCH_ROUNDS (3), BENCH_COMMANDS
(50), BENCH_IDLE_S (30), BENCH_TEXT ("!learn"), BENCH_CONCURRENCY (4), BENCH_ONLY_BIG=1 (the
1,000-room figures only).
"""

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse

import aiohttp

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "matrix"))
from member import Member  # noqa: E402
import test_hearth  # noqa: E402
from test_hearth import HS, SYN, TMP, Hearth  # noqa: E402
from benchkit import cpu_ns, goal, mem_line, memory, say, timed_commands  # noqa: E402

BIG = int(os.environ.get("BENCH_BIG_ROOMS", "1000"))
SMALL = int(os.environ.get("BENCH_SMALL_ROOMS", "50"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
COMMANDS = int(os.environ.get("BENCH_COMMANDS", "50"))
IDLE_S = float(os.environ.get("BENCH_IDLE_S", "30"))
TEXT = os.environ.get("BENCH_TEXT", "!learn")
CONC = int(os.environ.get("BENCH_CONCURRENCY", "4"))
ONLY_BIG = os.environ.get("BENCH_ONLY_BIG", "") == "1"  # the 1,000-room figures only
BINARIES = [tuple(b.split("=", 1)) for b in os.environ.get("BENCH_BINARIES", "").split()] or \
    [("hearth", os.environ["HEARTH"])]
BOTS = {"big": ("hearth", "hearthpw", BIG), "small": ("hearth2", "hearth2pw", SMALL),
        "one": ("hearthone", "hearthonepw", 0)}


class Api:
    """Raw client-server API calls with one account's token (no sync of its own)."""

    def __init__(self, session, token):
        self.s, self.token = session, token

    @staticmethod
    async def login(session, user, password):
        body = {"type": "m.login.password", "identifier": {"type": "m.id.user", "user": user},
                "password": password, "initial_device_display_name": "bench_rooms"}
        async with session.post(HS + "/_matrix/client/v3/login", json=body) as r:
            j = await r.json()
            if r.status != 200:
                raise RuntimeError(f"login {user}: {r.status} {j}")
        return Api(session, j["access_token"])

    async def call(self, method, path, body=None, tries=5):
        for attempt in range(tries):
            async with self.s.request(method, HS + "/_matrix/client/v3" + path, json=body,
                                      headers={"Authorization": "Bearer " + self.token}) as r:
                j = await r.json(content_type=None)
                if r.status == 429 or r.status >= 500:
                    await asyncio.sleep(0.5 * (attempt + 1))
                    continue
                if r.status >= 400:
                    raise RuntimeError(f"{method} {path}: {r.status} {j}")
                return j
        raise RuntimeError(f"{method} {path}: gave up")


async def ensure_rooms(carol, bot_api, bot_uid, want):
    """The bot joined to at least `want` rooms of carol's; returns how long making them took."""
    have = len((await bot_api.call("GET", "/joined_rooms"))["joined_rooms"])
    missing = max(0, want - have)
    if not missing:
        return have, 0.0
    t0 = time.monotonic()
    sem = asyncio.Semaphore(CONC)
    done = 0

    async def one(i):
        nonlocal done
        async with sem:
            r = await carol.call("POST", "/createRoom", {"preset": "private_chat",
                                                         "invite": [bot_uid]})
            await bot_api.call("POST", f"/join/{urllib.parse.quote(r['room_id'])}", {})
            done += 1
            if done % 100 == 0:
                say(f"  {bot_uid}: {have + done} rooms ({time.monotonic() - t0:.0f} s)")

    await asyncio.gather(*(one(i) for i in range(missing)))
    return have + missing, time.monotonic() - t0


def hearth_config(kind, fresh):
    """A config and data folder of the bot `kind`; a fresh one is emptied first."""
    user = BOTS[kind][0]
    data = os.path.join(TMP, f"rooms-{kind}-data")
    if fresh and os.path.exists(data):
        shutil.rmtree(data)
    os.makedirs(data, exist_ok=True)
    cfg = os.path.join(TMP, f"rooms-{kind}.ini")
    with open(cfg, "w") as f:
        f.write(f"[bot]\ndata_dir = {data}\nlog_level = info\n\n[matrix]\nhomeserver = {HS}\n"
                f"user_id = @{user}:localhost\ndevice_name = Hearth bench {kind}\n"
                f"allowed_inviters = *:localhost\n")
    os.chmod(cfg, 0o600)
    env = {k: v for k, v in os.environ.items()
           if k not in ("HEARTH_MATRIX_PASSWORD", "HEARTH_MATRIX_ACCESS_TOKEN")}
    env["HEARTH_MATRIX_PASSWORD"] = BOTS[kind][1]
    # a binary copied out of its checkout (BENCH_BINARIES) finds the content through this
    env.setdefault("HEARTH_CONTENT_DIR", os.path.join(HERE, "..", "..", "content"))
    return cfg, env


async def first_answer(hearth, mark, alice, room, bot_uid, t_start, timeout=600):
    """Seconds from t_start to the answer of a command alice sends as soon as Hearth logs that
    it answers (its first sync walked): a command sent before is history and never answered,
    and commands sent every fraction of a second would queue replies behind each other."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not hearth.running():
            raise RuntimeError(f"{bot_uid}'s Hearth ended:\n{hearth.log()[-2000:]}")
        text = hearth.log()[mark:]
        if "first sync done" in text or "continuing from" in text:
            break
        await asyncio.sleep(0.1)
    else:
        return None
    cmd = await alice.send(room, TEXT)
    try:
        await alice.wait_for_message(room, sender=bot_uid, timeout=max(1, deadline - time.monotonic()),
                                     predicate=lambda m: m.in_reply_to == cmd)
    except Exception:  # noqa: BLE001
        return None
    return time.monotonic() - t_start


async def commands(alice, room, bot_uid, n):
    return await timed_commands(alice, room, n, TEXT, bot_uid, timeout=120)


async def run_one(tag, binary, kind, alice, busy, fresh, cpu1=None, idle=False):
    """One Hearth of `binary` as bot `kind`: first answer, idle CPU, CPU per command, memory."""
    bot_uid = f"@{BOTS[kind][0]}:localhost"
    cfg, env = hearth_config(kind, fresh)
    test_hearth.HEARTH = binary
    hearth = Hearth(name=f"rooms-{kind}", config=cfg, env=env)
    n_rooms = BOTS[kind][2] + 1
    try:
        t_start = time.monotonic()
        mark = hearth.launch()
        first_s = await first_answer(hearth, mark, alice, busy, bot_uid, t_start)
        pid = hearth.proc.pid
        if first_s is None:
            mem = memory(pid)
            say(f"[{tag}] {n_rooms} rooms, {'fresh data folder' if fresh else 'data folder kept'}: "
                f"NO answer within 600 s of start (goal <= 10 s: MISSES); {mem_line(mem)}")
            return cpu1
        mem_first = memory(pid)
        idle_ms = None
        if idle:
            await asyncio.sleep(3)
            c0 = cpu_ns(pid)
            await asyncio.sleep(IDLE_S)
            idle_ms = (cpu_ns(pid) - c0) / 1e6 * 60.0 / IDLE_S
        await commands(alice, busy, bot_uid, 3)  # warm
        c0 = cpu_ns(pid)
        lat = await commands(alice, busy, bot_uid, COMMANDS)
        cpu = (cpu_ns(pid) - c0) / 1e6 / COMMANDS
        mem = memory(pid)
        # a fresh start that lists its rooms (this branch on): every room's state read, and
        # the memory then (the peak may come while the fetches run)
        all_read_s = mem_all = None
        if fresh and "reading their state" in hearth.log()[mark:]:
            deadline = time.monotonic() + 600
            while "read the state of the" not in hearth.log()[mark:] and \
                    time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            if "read the state of the" in hearth.log()[mark:]:
                all_read_s = time.monotonic() - t_start
                mem_all = memory(pid)
    finally:
        if hearth.running():
            hearth.stop()
    folder = "fresh data folder" if fresh else "data folder kept"
    say(f"[{tag}] {n_rooms} rooms, {folder}: start to first answer {first_s:.1f} s"
        + (f" (goal <= 10 s: {goal(first_s, 10)})" if kind == "big" else ""))
    if idle_ms is not None:
        say(f"[{tag}] {n_rooms} rooms, {folder}: CPU per idle minute {idle_ms:.1f} ms "
            f"(over {IDLE_S:.0f} s)")
    line = (f"[{tag}] {n_rooms} rooms, {folder}: CPU per command {cpu:.3f} ms "
            f"(n={COMMANDS}, reply p50 {statistics.median(lat):.0f} ms)")
    if cpu1:
        line += f" (goal: the 1-room figure {cpu1:.3f} ms: {goal(cpu, cpu1 * 1.1)} within 10%)"
    say(line)
    say(f"[{tag}] {n_rooms} rooms, {folder}: memory at the first answer: {mem_line(mem_first)}")
    goal_txt = ""
    if kind == "big":
        goal_txt = (f" (goal VmHWM <= 24 MiB: {goal(mem['VmHWM'], 24 * 1024)}; RSS now "
                    f"{mem['VmRSS'] / 1024:.1f} MiB)")
    elif kind == "small":
        goal_txt = f" (goal RssAnon <= 4 MiB: {goal(mem['RssAnon'], 4096)})"
    say(f"[{tag}] {n_rooms} rooms, {folder}: memory after the commands: {mem_line(mem)}{goal_txt}")
    if all_read_s is not None:
        say(f"[{tag}] {n_rooms} rooms, {folder}: every room's state read {all_read_s:.1f} s after "
            f"the start; memory then: {mem_line(mem_all)}"
            + (f" (goal VmHWM <= 24 MiB: {goal(mem_all['VmHWM'], 24 * 1024)})" if kind == "big" else ""))
    return cpu


async def main() -> int:
    subprocess.run([SYN, "register", "hearthone", "hearthonepw"], check=True,
                   stdout=subprocess.DEVNULL)
    alice = Member(HS, "alice", "alicepw", os.path.join(TMP, "r-alice"))
    await alice.login()
    try:
        async with aiohttp.ClientSession() as s:
            carol = await Api.login(s, "carol", "carolpw")
            busy = {}
            for kind, (user, pw, n) in BOTS.items():
                bot = await Api.login(s, user, pw)
                uid = f"@{user}:localhost"
                # the busy room first (alice's), then carol's rooms up to n in all
                mine = (await bot.call("GET", "/joined_rooms"))["joined_rooms"]
                room = None
                for r in alice.client.rooms:
                    if r in mine:
                        room = r
                if not room:
                    room = await alice.create_room(f"busy-{kind}", invite=[uid])
                    await bot.call("POST", f"/join/{urllib.parse.quote(room)}", {})
                    await alice.wait_for_join(room, uid, timeout=60)
                busy[kind] = room
                total, secs = await ensure_rooms(carol, bot, uid, n + 1)
                say(f"{uid}: {total} rooms joined (made in {secs:.0f} s)")
                await bot.call("POST", "/logout", {})
        for rnd in range(ROUNDS):
            for name, binary in BINARIES:
                tag = f"{name} #{rnd + 1}"
                cpu1 = None
                if not ONLY_BIG:
                    cpu1 = await run_one(tag, binary, "one", alice, busy["one"], True)
                    await run_one(tag, binary, "small", alice, busy["small"], True, cpu1)
                await run_one(tag, binary, "big", alice, busy["big"], True, cpu1, idle=True)
                await run_one(tag, binary, "big", alice, busy["big"], False, cpu1, idle=True)
    finally:
        await alice.close()
    say("benchmark done (figures only, nothing asserted)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
