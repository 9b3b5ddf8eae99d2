"""Finding the processes a cfemu server started (its Node supervisor and the workerd processes), and waiting
for them to go."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from contextlib import suppress
from pathlib import Path

__all__ = ["children_of", "group_pids", "kill_group", "runtime_group", "wait_until_gone", "workerd_pids"]


def group_pids(pgid: int) -> list[int]:
    """PIDs still in process group `pgid` (zombies excluded)."""
    result = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True, check=False)
    pids = [int(line) for line in result.stdout.split()]
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def workerd_pids(pgid: int) -> list[int]:
    """PIDs of workerd processes in process group `pgid`."""
    found = []
    for pid in group_pids(pgid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"workerd" in cmdline:
            found.append(pid)
    return found


def kill_group(pgid: int) -> None:
    """Last-resort cleanup for a test that failed half-way."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def children_of(pid: int) -> list[int]:
    """PIDs whose parent is `pid`."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def runtime_group(cfemu_pid: int) -> int:
    """The process group of the runtime supervisor started by the cfemu server `cfemu_pid` (its own group)."""
    for child in children_of(cfemu_pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"supervisor.mjs" in cmdline:
            return child
    raise AssertionError(f"cfemu {cfemu_pid} has no runtime supervisor child")


def wait_until_gone(pgid: int, seconds: float) -> list[int]:
    """Wait up to `seconds` for process group `pgid` to be empty; the PIDs still alive then."""
    deadline = time.monotonic() + seconds
    while (left := group_pids(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left
