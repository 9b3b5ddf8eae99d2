"""A deploy killed after each step in turn (SIGKILL while its next call hangs): the next run converges to the
same end state as an uninterrupted deploy, with one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cfemu.launcher import Emulator
from devkit.cli import emulator_environment, run_cli
from devkit.example import REPO
from tests.reliability.state import end_state, named_app

# The call that hangs, so the deployer is killed after everything before it was done.
KILL_POINTS = [
    pytest.param("POST", "/d1/database", id="after-the-reads"),
    pytest.param("POST", "/d1/database/*/query", id="after-creating-the-database"),
    pytest.param("POST", "/workers/assets/upload", id="after-opening-the-session"),
    pytest.param("PUT", "/workers/scripts/*", id="after-the-database-and-assets"),
    pytest.param("POST", "/workers/scripts/*/subdomain", id="after-uploading-the-worker"),
    pytest.param("PATCH", "/workers/scripts/*/script-settings", id="after-enabling-the-url"),
]


def _wait_for_the_hang(emulator: Emulator, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if emulator.faults()[0]["fired"]:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the deploy never reached the call that hangs")


@pytest.mark.parametrize(("method", "path"), KILL_POINTS)
def test_a_rerun_after_a_kill_converges_to_the_same_end_state(
    emulator: Emulator, tmp_path: Path, reference: dict[str, object], method: str, path: str
) -> None:
    app = named_app(tmp_path, "matrix")
    emulator.add_fault("hang", method=method, path=path, seconds=120)
    environ = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **emulator_environment(emulator)}
    process = subprocess.Popen(
        [sys.executable, "-m", "deployer", "deploy", str(app), "--no-verify"],
        cwd=REPO,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_the_hang(emulator, process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)
    emulator.clear_faults()
    rerun = run_cli(emulator, "deploy", str(app), "--no-verify")
    assert rerun.returncode == 0, rerun.stderr
    assert end_state(emulator, "matrix") == reference
