"""Shared fixtures: a running cfemu server per test (see cfemu/launcher.py), and the orphan guard.

The guard marks this pytest session in the environment (`CFEMU_TEST_SESSION=<random>`), which every process
it starts inherits: cfemu servers, their Node supervisors and workerd. When the session ends, no process
carrying the mark may be left; any that is gets killed and the session fails at teardown.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from cfemu.launcher import Emulator, running_emulator

SESSION_MARK = "CFEMU_TEST_SESSION"


def marked_processes(mark: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process whose environment has `CFEMU_TEST_SESSION=mark`."""
    needle = f"{SESSION_MARK}={mark}".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        pid = int(proc.name)
        if pid == os.getpid():
            continue
        try:
            if needle not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            if (proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue  # exited, only waiting to be reaped
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        found.append((pid, command))
    return found


@pytest.fixture(scope="session", autouse=True)
def no_orphan_processes() -> Iterator[None]:
    """Fail the session if any process it started (cfemu, its supervisor, workerd) outlives it."""
    mark = uuid.uuid4().hex
    os.environ[SESSION_MARK] = mark
    yield
    deadline = time.monotonic() + 15.0
    while (left := marked_processes(mark)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid, _ in left:
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes left behind by the test session: {left}"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    """A cfemu server (API only, see the harness) whose account owns the workers.dev subdomain "demo"."""
    with running_emulator(tmp_path / "cfemu", subdomain="demo") as emu:
        yield emu


@pytest.fixture
def emulator_without_subdomain(tmp_path: Path) -> Iterator[Emulator]:
    """A cfemu server for a brand-new account with no workers.dev subdomain."""
    with running_emulator(tmp_path / "cfemu-nosub", subdomain=None) as emu:
        yield emu
