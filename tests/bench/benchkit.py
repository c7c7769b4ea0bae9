"""What the Matrix benchmarks share: what they read of a running process in /proc (memory, CPU
and scheduling figures), the goal words they print, and timed commands."""

import os
import time


def say(text):
    print(text, flush=True)


def goal(value, limit):
    return "meets" if value <= limit else "MISSES"


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


def vm(pid, key):
    """A field of /proc/PID/status in kB (VmHWM, RssAnon, ...), -1 when missing."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def memory(pid):
    return {k: vm(pid, k) for k in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}


def mem_line(m):
    return (f"VmHWM {m['VmHWM'] / 1024:.1f} MiB, RssAnon {m['RssAnon'] / 1024:.1f} MiB, "
            f"RssFile {m['RssFile'] / 1024:.1f} MiB")


def schedstat(pid, field):
    """A field of schedstat summed over the process's threads, in ns: 0 is the time spent on a
    CPU (far finer than utime+stime's clock ticks), 1 the time waited runnable on a run queue."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[field])
        except OSError:
            pass  # a thread that ended meanwhile
    return total


def cpu_ns(pid):
    """The process's CPU time so far (all threads, user and system), in ns."""
    return schedstat(pid, 0)


def stat_fields(pid):
    """/proc/PID/stat's fields after the command name (fields[11], [12]: utime, stime in ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


async def timed_commands(member, room, n, text, sender, timeout=30):
    """n commands, one at a time: each sent by member, done when sender's reply to it arrives
    in member's sync; the latencies in ms."""
    lat = []
    for _ in range(n):
        t0 = time.monotonic()
        cmd = await member.send(room, text)
        await member.wait_for_message(room, sender=sender, timeout=timeout,
                                      predicate=lambda m, c=cmd: m.in_reply_to == c)
        lat.append((time.monotonic() - t0) * 1000)
    return lat
