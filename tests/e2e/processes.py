"""Finding the runtime processes a cfemu server started (its Node supervisor and the workerd processes)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.runtime.helpers import group_pids, workerd_pids

__all__ = ["children_of", "runtime_group", "wait_until_gone", "workerd_pids"]


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
