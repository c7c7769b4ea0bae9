#!/usr/bin/python3
"""Two Hearths on one PostgreSQL store, one active (issue 13, point 4): the real hearth, a real
Synapse, real nio members.

Both processes use the same config, data folder (key files) and store; the [matrix] lease picks
the active one. HEARTH_FAILOVER_LOAD commands (default 200) at 4 per second alternate between a
plain and an encrypted room while the active Hearth is SIGKILLed HEARTH_FAILOVER_KILLS times
(default 4; the killed one is started again as the new standby). Every command must be answered
exactly once and every reply in the encrypted room must decrypt for the nio member; the
takeover times (SIGKILL to "took over" in the standby's log) are printed. Then one
SIGSTOP/SIGCONT round (a machine cut off past the lease's TTL, then back): the standby takes
over, the woken process writes nothing with its stale lease (it logs "lost the lease" and
restarts as a standby), no reply is sent twice and the saved sync position never goes back.

Runs only with the store in PostgreSQL (tests/pg/hearth-on-pg.sh; tests/run-all.sh's "Matrix
again, the store in PostgreSQL" step); on SQLite one Hearth holds the store and it is skipped.
Prints 'N passed, M failed' last.
"""

import asyncio
import os
import re
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from member import Member  # noqa: E402
from nio import MegolmEvent, RoomMessage, RoomMessagesResponse  # noqa: E402
from test_hearth import BOT, CONFIG, HS, TMP, Hearth, run_ordered, wait_log  # noqa: E402
from test_sync_position import history_replies, send_retrying  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pg"))
import hearth_store  # noqa: E402

LOAD = int(os.environ.get("HEARTH_FAILOVER_LOAD", "200"))
KILLS = int(os.environ.get("HEARTH_FAILOVER_KILLS", "4"))
RATE = 4.0  # commands per second
TEXTS = ("!help", "!learn", "!checkin", "!about")
TOOK_OVER = "took over [matrix]"
STANDBY = "[matrix] is active in another Hearth"
TAKEOVER_MAX_S = 15


class Pair:
    """Two Hearths with one config and one data folder (so one store and one set of keys)."""

    def __init__(self):
        self.data = os.path.join(TMP, "failover-data")
        shutil.rmtree(self.data, ignore_errors=True)
        cfg = os.path.join(TMP, "failover.ini")
        with open(CONFIG) as f:
            text = f.read()
        with open(cfg, "w") as f:
            f.write(text.replace(f"data_dir = {os.path.join(TMP, 'data')}", f"data_dir = {self.data}"))
        os.chmod(cfg, 0o600)
        self.h = [Hearth("failover-a", cfg), Hearth("failover-b", cfg)]

    def holder_pid(self):
        row = hearth_store.query_one(self.data, "SELECT holder, expires_at FROM lease WHERE section = 'matrix'")
        if not row or not row[0]:
            return None
        return int(str(row[0]).split(":")[-2])

    def active(self) -> Hearth:
        pid = self.holder_pid()
        for h in self.h:
            if h.proc is not None and h.proc.pid == pid:
                return h
        raise AssertionError(f"the lease holder (pid {pid}) is none of the two Hearths")

    def other(self, h: Hearth) -> Hearth:
        return self.h[1] if h is self.h[0] else self.h[0]

    def since(self):
        row = hearth_store.query_one(self.data, "SELECT value FROM kv WHERE ns='matrix' AND key='since'")
        return row[0] if row else None


def stream_pos(token) -> int:
    """The first stream position of a Synapse sync token (s123_4_5... -> 123)."""
    m = re.match(r"s(\d+)", token or "")
    return int(m.group(1)) if m else -1


async def wait_in_log(h: Hearth, text: str, timeout: float, mark: int) -> float:
    """Seconds until text appears in h's log after mark."""
    t0 = time.monotonic()
    while text not in h.log()[mark:]:
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"'{text}' not in the log of {h.log_path} within {timeout} s:\n"
                                 + h.log()[mark:][-3000:])
        await asyncio.sleep(0.05)
    return time.monotonic() - t0


class Suite:
    def __init__(self):
        self.pair = Pair()
        self.hearth = self.pair.h[0]  # run_ordered stops this one; the other is stopped in run()
        self.alice = Member(HS, "alice", "alicepw", os.path.join(TMP, "alice"))
        self.bob = Member(HS, "bob", "bobpw", os.path.join(TMP, "bob"))
        self.carol = Member(HS, "carol", "carolpw", os.path.join(TMP, "carol"))
        self.room = None
        self.eroom = None
        self.takeovers = []

    async def encrypted_history(self):
        """({command: number of Hearth's replies}, Hearth's events the member cannot decrypt) over
        the encrypted room's whole history (/messages: a member's sync after a long pause is
        gappy), decrypted by the member's nio client."""
        await self.alice.sync_once()
        client = self.alice.client
        counts, bad = {}, []
        token = client.next_batch
        while token:
            resp = await client.room_messages(self.eroom, start=token, limit=500)
            if not isinstance(resp, RoomMessagesResponse):
                raise AssertionError(f"/messages failed: {resp}")
            for ev in resp.chunk:
                if getattr(ev, "sender", None) != BOT:
                    continue
                if isinstance(ev, MegolmEvent):
                    try:
                        ev = client.decrypt_event(ev)
                    except Exception:  # noqa: BLE001
                        bad.append(ev)
                        continue
                if not isinstance(ev, RoomMessage):
                    continue
                assert getattr(ev, "decrypted", False), "a reply in the encrypted room came in plaintext"
                rel = (ev.source.get("content", {}) or {}).get("m.relates_to") or {}
                to = (rel.get("m.in_reply_to") or {}).get("event_id")
                if to:
                    counts[to] = counts.get(to, 0) + 1
            if not resp.chunk or resp.end == token:
                break
            token = resp.end
        return counts, bad

    async def encrypted_replies(self, cmds, timeout: float, what: str) -> None:
        """Every command in the encrypted room has exactly one reply, and it decrypts."""
        t0 = time.monotonic()
        while True:
            counts, bad = await self.encrypted_history()
            missing = [c for c in cmds if counts.get(c, 0) == 0]
            if not missing:
                break
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"{what}: {len(missing)} of {len(cmds)} encrypted commands "
                                     f"without a readable reply after {timeout} s; "
                                     f"{len(bad)} of Hearth's events undecryptable")
            await asyncio.sleep(2)
        await asyncio.sleep(5)
        counts, bad = await self.encrypted_history()
        assert not bad, f"{what}: {len(bad)} replies the member cannot decrypt"
        twice = {c: counts[c] for c in cmds if counts.get(c, 0) != 1}
        assert not twice, f"{what}: encrypted commands not answered exactly once: {list(twice.items())[:5]}"

    async def plain_replies(self, cmds, timeout: float, what: str) -> None:
        t0 = time.monotonic()
        while True:
            counts = history_replies(self.alice, self.room)
            missing = [c for c in cmds if counts.get(c, 0) == 0]
            if not missing:
                break
            if time.monotonic() - t0 > timeout:
                raise AssertionError(f"{what}: {len(missing)} of {len(cmds)} commands unanswered "
                                     f"after {timeout} s (first: {missing[:3]})")
            await asyncio.sleep(2)
        await asyncio.sleep(5)
        counts = history_replies(self.alice, self.room)
        twice = {c: counts[c] for c in cmds if counts.get(c, 0) != 1}
        assert not twice, f"{what}: commands not answered exactly once: {list(twice.items())[:5]}"

    # -- tests, in order -------------------------------------------------------------------

    async def test_one_active_one_standby(self):
        """The first Hearth takes the lease and syncs; the second waits as a standby."""
        a, b = self.pair.h
        mark = a.launch()
        await wait_log(a, "first sync done", 60, mark)
        mark_b = b.launch()
        await wait_in_log(b, STANDBY, 20, mark_b)
        assert "first sync done" not in b.log()[mark_b:], "the standby synced"
        assert self.pair.active() is a
        self.room = await self.alice.create_room("failover plain", invite=[BOT])
        self.eroom = await self.alice.create_room("failover encrypted", invite=[BOT], encrypted=True)
        await self.alice.wait_for_join(self.room, BOT, timeout=30)
        await self.alice.wait_for_join(self.eroom, BOT, timeout=30)
        for room in (self.room, self.eroom):
            cmd = await self.alice.send(room, "!help")
            await self.alice.wait_for_message(room, sender=BOT, after_event_id=cmd, timeout=30)

    async def test_sigkill_failover_under_load(self):
        """LOAD commands at 4/s in a plain and an encrypted room, the active Hearth SIGKILLed
        KILLS times: every command answered exactly once, every reply decryptable."""
        step = max(LOAD // (KILLS + 1), 1)
        kill_at = {step * (i + 1) for i in range(KILLS)}
        plain, enc = [], []
        pending = None  # (victim, standby, its log mark, kill time)

        def check_takeover():
            nonlocal pending
            victim, standby, mark, t_kill = pending
            if TOOK_OVER in standby.log()[mark:]:
                self.takeovers.append(round(time.monotonic() - t_kill, 1))
                victim.standby_mark = victim.launch()  # the killed one: the new standby
                pending = None

        t_start = time.monotonic()
        due = done = 0
        i = -1
        while i + 1 < LOAD or done < KILLS:  # more commands while a kill is still owed
            i += 1
            t_next = t_start + i / RATE
            await asyncio.sleep(max(0.0, t_next - time.monotonic()))
            room = self.room if i % 2 == 0 else self.eroom
            ev = await send_retrying(self.alice, room, TEXTS[i % len(TEXTS)])
            (plain if room == self.room else enc).append(ev)
            if pending:
                check_takeover()
            if i in kill_at:
                due += 1
            if due and not pending and done < KILLS:
                due -= 1
                done += 1
                victim = self.pair.active()
                standby = self.pair.other(victim)
                await wait_in_log(standby, STANDBY, 30, getattr(standby, "standby_mark", 0))
                mark = len(standby.log())
                victim.proc.send_signal(signal.SIGKILL)
                pending = (victim, standby, mark, time.monotonic())
                victim.proc.wait()
                victim.proc = None
        t_sent = time.monotonic() - t_start
        deadline = time.monotonic() + 40
        while pending and time.monotonic() < deadline:
            check_takeover()
            await asyncio.sleep(0.05)
        print(f"  figure: takeover times after SIGKILL (s): {self.takeovers}; {i + 1} commands "
              f"sent in {t_sent:.0f} s", flush=True)
        assert len(self.takeovers) == KILLS, f"not every kill was followed by a takeover: {self.takeovers}"
        assert max(self.takeovers) <= TAKEOVER_MAX_S, f"a takeover took over {TAKEOVER_MAX_S} s"
        await self.plain_replies(plain, 180, "plain room")
        await self.encrypted_replies(enc, 180, "encrypted room")

    async def test_frozen_instance_writes_nothing(self):
        """SIGSTOP the active Hearth past the lease's TTL (a machine cut off), let the standby
        take over under load, then SIGCONT: the woken one loses its lease without writing,
        restarts as a standby; no reply twice, no sync position going back."""
        victim = self.pair.active()
        standby = self.pair.other(victim)
        mark_s, mark_v = len(standby.log()), len(victim.log())
        os.kill(victim.proc.pid, signal.SIGSTOP)
        t_stop = time.monotonic()
        plain, enc = [], []
        took = None
        try:
            for i in range(int(20 * RATE)):
                await asyncio.sleep(max(0.0, t_stop + i / RATE - time.monotonic()))
                room = self.room if i % 2 == 0 else self.eroom
                ev = await send_retrying(self.alice, room, TEXTS[i % len(TEXTS)])
                (plain if room == self.room else enc).append(ev)
                if took is None and TOOK_OVER in standby.log()[mark_s:]:
                    took = round(time.monotonic() - t_stop, 1)
            await self.plain_replies(plain, 120, "while frozen (plain)")
            await self.encrypted_replies(enc, 120, "while frozen (encrypted)")
            before = self.pair.since()
        finally:
            os.kill(victim.proc.pid, signal.SIGCONT)
        print(f"  figure: takeover after SIGSTOP: {took} s", flush=True)
        assert took is not None and took <= TAKEOVER_MAX_S + 2, f"takeover after SIGSTOP: {took}"
        await wait_in_log(victim, "lost the lease for [matrix]", 20, mark_v)
        await wait_in_log(victim, STANDBY, 30, mark_v)
        # the commands sent while it was frozen reached the woken process's sync: none answered twice
        more = []
        for i in range(8):
            room = self.room if i % 2 == 0 else self.eroom
            more.append((room, await self.alice.send(room, TEXTS[i % len(TEXTS)])))
            await asyncio.sleep(1 / RATE)
        await self.plain_replies(plain + [e for r, e in more if r == self.room], 120, "after SIGCONT (plain)")
        await self.encrypted_replies(enc + [e for r, e in more if r == self.eroom], 120,
                                     "after SIGCONT (encrypted)")
        after = self.pair.since()
        assert stream_pos(after) >= stream_pos(before), \
            f"the sync position went back: {before} -> {after}"
        assert self.pair.active() is standby, "the woken process holds the lease again"

    async def run(self) -> int:
        if not hearth_store.on_pg():
            print("skipped: the failover suite needs the store in PostgreSQL "
                  "(tests/pg/hearth-on-pg.sh, as in tests/run-all.sh)")
            print("0 passed, 0 failed")
            return 0
        order = ["test_one_active_one_standby", "test_sigkill_failover_under_load",
                 "test_frozen_instance_writes_nothing"]
        try:
            return await run_ordered(self, order, "room", first_without_hearth=1)
        finally:
            for h in self.pair.h:
                if h is not self.hearth:
                    h.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(Suite().run()))
