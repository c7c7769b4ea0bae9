"""The check runner shared by the IRC suites (smoke_test.py, test_hearth.py): one `check()`
decorator that runs a check at once and prints "ok"/"FAIL", `expect()`, `sh()` for servers.sh,
the servers' addresses, `member()` (a Member kept in `members` for the teardown), and `finish()` that prints
"N passed, M failed" and exits 1 if any failed."""

import os
import subprocess
import sys
import time
import traceback

from member import Member

HERE = os.path.dirname(os.path.abspath(__file__))
SERVERS = os.path.join(HERE, "servers.sh")

# where servers.sh runs the servers (its environment, as in servers.sh env)
HOST = "127.0.0.1"
IRC_PORT = int(os.environ.get("IRC_PORT", 16667))
IRC_TLS_PORT = int(os.environ.get("IRC_TLS_PORT", 16697))
NG_PORT = int(os.environ.get("NGIRCD_PORT", 16668))
NG_TLS_PORT = int(os.environ.get("NGIRCD_TLS_PORT", 16698))

results = []
members = []
_width = 45
_on_fail = None


def setup(width=45, on_fail=None):
    """Column width of the check names; on_fail() runs after a failed check's traceback."""
    global _width, _on_fail
    _width, _on_fail = width, on_fail


def sh(*args):
    return subprocess.run([SERVERS, *args], check=True, capture_output=True, text=True).stdout.strip()


def check(name):
    def deco(fn):
        t0 = time.time()
        try:
            fn()
            results.append((name, True))
            print("ok   %-*s %.1fs" % (_width, name, time.time() - t0), flush=True)
        except Exception as e:  # noqa: BLE001
            results.append((name, False))
            print("FAIL %-*s %s" % (_width, name, e), flush=True)
            traceback.print_exc()
            if _on_fail:
                _on_fail()
        return fn
    return deco


def member(*a, **kw):
    m = Member(*a, **kw)
    members.append(m)
    return m


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def finish():
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
