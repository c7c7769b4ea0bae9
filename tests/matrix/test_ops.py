#!/usr/bin/python3
"""Operations against a real Synapse (issue 14): a Hearth (@hearth2, its own data folder) with
[admin] listen and log_format = json.

- /metrics parses as Prometheus text with every required family; a !help in an encrypted room
  increments hearth_commands_total{command="help",network="matrix"}; Matrix is up.
- /healthz is 200, turns 503 ("matrix: ...") when Synapse is stopped and 200 again when it is
  back.
- every log line is one JSON object (time, level, module, message), none holds the command.
- `hearth backup` while Hearth runs, `hearth restore` into a new folder, and a Hearth started
  from the restored folder uses the same device (no new login) and answers in the encrypted room
  with the restored E2EE state.
Run by tests/matrix/run.sh (HEARTH_MATRIX_SUITES="ops"). Prints 'N passed, M failed' last."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from member import Member  # noqa: E402
from test_hearth import HS, HEARTH, TMP, SYN, BOT2, Hearth, wait_log  # noqa: E402
import promtext  # noqa: E402

REQUIRED = """hearth_commands_total hearth_replies_total hearth_reply_latency_seconds
hearth_own_time_seconds hearth_network_up hearth_matrix_syncs_total hearth_matrix_sync_errors_total
hearth_matrix_sync_lag_seconds hearth_e2e_undecryptable_events_total hearth_e2e_key_requests_total
hearth_irc_reconnects_total hearth_irc_send_queue_depth hearth_crisis_answers_total
hearth_mood_log_members hearth_store_errors_total hearth_resident_memory_bytes""".split()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PORT = free_port()
URL = f"http://127.0.0.1:{PORT}"


def make_hearth(name: str, data: str) -> Hearth:
    os.makedirs(data, mode=0o700, exist_ok=True)
    cfg = os.path.join(TMP, name + ".ini")
    with open(cfg, "w") as f:
        f.write(f"[bot]\ndata_dir = {data}\nlog_level = info\nlog_format = json\n\n"
                f"[admin]\nlisten = 127.0.0.1:{PORT}\n\n"
                f"[matrix]\nhomeserver = {HS}\nuser_id = {BOT2}\ndevice_name = Hearth ops\n"
                f"allowed_inviters = *:localhost\n")
    os.chmod(cfg, 0o600)
    env = {k: v for k, v in os.environ.items()
           if k not in ("HEARTH_MATRIX_PASSWORD", "HEARTH_MATRIX_ACCESS_TOKEN")}
    env["HEARTH_MATRIX_PASSWORD"] = "hearth2pw"
    return Hearth(name, cfg, env)


def get(path: str):
    try:
        with urllib.request.urlopen(URL + path, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return 0, str(e)


def scrape():
    status, text = get("/metrics")
    assert status == 200, (status, text)
    families, samples = promtext.parse(text)
    return families, samples


def value(samples, name, **labels) -> float:
    for n, lab, v in samples:
        if n == name and lab == labels:
            return v
    return 0.0


async def wait_health(want: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status, body = get("/healthz")
        if status == want:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"/healthz stayed {status} {body!r}, wanted {want}")
        await asyncio.sleep(0.5)


class Suite:
    def __init__(self):
        self.data = os.path.join(TMP, "ops-data")
        self.hearth = make_hearth("hearth-ops", self.data)
        self.alice = Member(HS, "alice", "alicepw", os.path.join(TMP, "alice-ops"))
        self.room = None

    async def reply(self, cmd: str, timeout: float = 60):
        return await self.alice.wait_for_message(self.room, sender=BOT2, timeout=timeout,
                                                 predicate=lambda x: x.in_reply_to == cmd)

    async def test_metrics_and_health_up(self):
        self.hearth.start()
        self.room = await self.alice.create_room("ops", invite=[BOT2], encrypted=True)
        await self.alice.wait_for_join(self.room, BOT2, timeout=30)
        await wait_health(200, 30)
        families, samples = scrape()
        missing = [f for f in REQUIRED if f not in families]
        assert not missing, f"families missing: {missing}"
        assert families["hearth_reply_latency_seconds"] == "histogram"
        assert value(samples, "hearth_network_up", network="matrix") == 1
        assert value(samples, "hearth_matrix_syncs_total") > 0
        assert value(samples, "hearth_resident_memory_bytes") > 1e6

    async def test_command_counted(self):
        _, before = scrape()
        await self.alice.trust_all_devices(BOT2)
        cmd = await self.alice.send(self.room, "!help")
        await self.reply(cmd)
        _, after = scrape()
        key = dict(command="help", network="matrix")
        assert value(after, "hearth_commands_total", **key) == \
            value(before, "hearth_commands_total", **key) + 1, after
        assert value(after, "hearth_replies_total", network="matrix", result="sent") >= 1
        for _, lab, _ in after:
            for v in lab.values():
                assert "@" not in v and "!" not in v and ":" not in v, f"an id in a label: {lab}"

    async def test_log_is_json(self):
        lines = [ln for ln in self.hearth.log().splitlines() if ln.strip()]
        assert lines, "no log"
        for ln in lines:
            o = json.loads(ln)
            assert {"time", "level", "module", "message"} <= set(o), ln
        assert any(json.loads(ln).get("network") == "matrix" for ln in lines)
        assert "!help" not in self.hearth.log()

    async def test_healthz_follows_the_homeserver(self):
        subprocess.run([SYN, "stop"], check=True, stdout=subprocess.DEVNULL)
        try:
            body = await wait_health(503, 90)
            assert body.startswith("matrix:") and body.count("\n") == 1, repr(body)
            _, samples = scrape()
            assert value(samples, "hearth_matrix_sync_errors_total") > 0
            assert value(samples, "hearth_network_up", network="matrix") == 0
        finally:
            subprocess.run([SYN, "start"], check=True, stdout=subprocess.DEVNULL)
        assert (await wait_health(200, 180)).strip() == "ok"
        assert self.hearth.running()

    async def test_backup_restore_running(self):
        backup = os.path.join(TMP, "ops.backup")
        r = subprocess.run([HEARTH, "--config", self.hearth.config, "backup", backup],
                           capture_output=True, text=True, env=self.hearth.env)
        assert r.returncode == 0, r.stderr
        assert os.stat(backup).st_mode & 0o777 == 0o600
        assert self.hearth.stop() == 0
        restored = os.path.join(TMP, "ops-restored")
        r = subprocess.run([HEARTH, "--config", self.hearth.config, "--data-dir", restored,
                            "restore", backup], capture_output=True, text=True, env=self.hearth.env)
        assert r.returncode == 0, r.stderr
        import re
        first = re.search(r"logged in as \S+ on device (\w+)", self.hearth.log())
        assert first, "the first Hearth did not log in"
        h = make_hearth("hearth-ops-restored", restored)
        self.hearth = h
        mark = h.launch()
        await wait_log(h, f"reusing the session of {BOT2} on device {first.group(1)}", 30, mark)
        cmd = await self.alice.send(self.room, "!about")
        await self.reply(cmd)
        log = h.log()[mark:]
        assert "logged in as" not in log, log[-2000:]
        assert "could not decrypt" not in log, log[-2000:]

    async def run(self) -> int:
        order = ["test_metrics_and_health_up", "test_command_counted", "test_log_is_json",
                 "test_healthz_follows_the_homeserver", "test_backup_restore_running"]
        passed = failed = 0
        try:
            await self.alice.login()
            for name in order:
                t0 = time.monotonic()
                try:
                    await getattr(self, name)()
                    print(f"PASS {name} ({time.monotonic() - t0:.1f} s)", flush=True)
                    passed += 1
                except Exception:
                    traceback.print_exc()
                    print(f"FAIL {name}", flush=True)
                    failed += 1
        finally:
            try:
                if self.hearth.stop() != 0:
                    failed += 1
                    print("FAIL hearth exited non-zero at the end")
            except Exception:
                traceback.print_exc()
                failed += 1
            await self.alice.close()
            if failed:
                print("---- hearth log (tail) ----")
                print(self.hearth.log()[-4000:])
        print(f"{passed} passed, {failed} failed")
        return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(Suite().run()))
