"""Shared fixtures: a running cfemu server per test (see cfemu/launcher.py), the orphan guard, and the secret scan.

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
from devkit.example import APP_PASSWORD
from devkit.transcripts import TRANSCRIPTS_VARIABLE, leaks, stored_secrets
from tests.github.conftest import CF_TOKEN, GH_TOKEN

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


# Secret values the tests hand to the deployer; cfemu's stores add every secret a deploy sent (generated ones too).
KNOWN_SECRETS = (APP_PASSWORD, CF_TOKEN, GH_TOKEN, "test-token-not-secret")


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_anything_shown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fail the session if any log, outputs file, summary, PR comment or cfemu asset of it holds a secret value
    (outside the `::add-mask::` lines the runner consumes); see `devkit.transcripts`."""
    root = tmp_path_factory.getbasetemp()
    transcripts = root / "transcripts"
    os.environ[TRANSCRIPTS_VARIABLE] = str(transcripts)
    yield
    secrets = {*KNOWN_SECRETS, *stored_secrets(root)}
    assert leaks(root, transcripts, secrets) == [], "secret values were shown; see the transcripts named"


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
