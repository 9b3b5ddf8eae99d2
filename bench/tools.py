"""The deploy tools under test, each run the way a user runs it, and timed from spawn to exit.

- `Ours`: `python -m deployer deploy APP_DIR` in a subprocess (interpreter start-up and imports included),
  with `APP_PASSWORD` in the environment as in CI; it generates `SESSION_SECRET` on a first deploy, finds the
  D1 database by name and applies `schema.sql`.
- `OursInProcess`: the same CLI entry point (`deployer.cli.main`) called inside the bench process, imports
  already warm: what the deploy itself costs without process start-up.
- `Wrangler`: `node_modules/.bin/wrangler deploy` in the app folder (wrangler.toml), unmodified, pointed at
  cfemu with `CLOUDFLARE_API_BASE_URL`. First deploys pass both secrets with `--secrets-file` (they ride in
  the Worker upload, as ours do); redeploys keep them. The banner is hidden (`WRANGLER_HIDE_BANNER`): it
  waits up to 100 ms for an npm update check over the internet, which is not what is measured here.

Each command runs in a new session; on a timeout or an interrupt its whole process group is killed, so
wrangler's node and esbuild children never outlive the bench.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench.apps import APP_PASSWORD, REPO, write_secrets_file
from bench.emulator import ACCOUNT_ID, API_TOKEN, Emulator

__all__ = ["WRANGLER", "DeployFailed", "Ours", "OursInProcess", "Span", "Tool", "Wrangler", "run_command"]

WRANGLER = REPO / "node_modules" / ".bin" / "wrangler"
_TIMEOUT_S = 600.0


class DeployFailed(RuntimeError):
    """A deploy exited with an error; the message holds its output."""


@dataclass(frozen=True, slots=True)
class Span:
    """When a deploy started and ended, on the system's monotonic clock (`time.monotonic`).

    cfemu stamps its request timings with the same clock (CLOCK_MONOTONIC is system-wide on Linux), so a
    span and the emulator's network log can be compared: spawn → first request is start-up and local work.
    """

    started: float
    finished: float

    @property
    def seconds(self) -> float:
        return self.finished - self.started


class Tool(Protocol):
    """A way to deploy an app folder to an emulator."""

    key: str
    label: str

    def deploy(self, app: Path, emulator: Emulator, home: Path, *, first: bool) -> Span:
        """Deploy `app`; returns when it started and ended, or raises `DeployFailed`."""
        ...


@dataclass(frozen=True, slots=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str
    span: Span


def run_command(command: list[str], *, cwd: Path, env: dict[str, str], timeout: float = _TIMEOUT_S) -> Completed:
    """Run `command` in its own session and time it from spawn to exit; its group is killed if we stop early."""
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    finished = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # a child that outlived its parent (none expected)
    return Completed(process.returncode, stdout, stderr, Span(started, finished))


def _checked(name: str, completed: Completed) -> Span:
    if completed.returncode != 0:
        raise DeployFailed(
            f"{name} exited with {completed.returncode}\n--- stdout\n{completed.stdout[-4000:]}"
            f"\n--- stderr\n{completed.stderr[-4000:]}"
        )
    return completed.span


def _base_env(emulator: Emulator, home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "CLOUDFLARE_API_BASE_URL": emulator.api_base_url,
        "CLOUDFLARE_API_TOKEN": API_TOKEN,
        "CLOUDFLARE_ACCOUNT_ID": ACCOUNT_ID,
    }


class Ours:
    """`python -m deployer deploy APP_DIR` as a subprocess.

    `source` is the directory holding the `deployer` package to run (default: this checkout); another tree,
    such as a candidate change (`python -m bench --candidate DIR`), is put first on the path.
    """

    def __init__(self, source: Path = REPO, *, key: str = "ours", label: str = "ours (python -m deployer)") -> None:
        self.source = source
        self.key = key
        self.label = label

    def deploy(self, app: Path, emulator: Emulator, home: Path, *, first: bool) -> Span:
        env = {**_base_env(emulator, home), "APP_PASSWORD": APP_PASSWORD}
        if self.source != REPO:
            env["PYTHONPATH"] = str(self.source)
        # --no-verify: wrangler checks nothing after a deploy either (and the bench's cfemu runs no Workers).
        command = [sys.executable, "-m", "deployer", "deploy", str(app), "--no-verify"]
        return _checked("python -m deployer deploy", run_command(command, cwd=self.source, env=env))


class OursInProcess:
    """`deployer.cli.main(["deploy", APP_DIR])` in this process (warm imports, output captured)."""

    key = "ours-inprocess"
    label = "ours, in-process (no start-up)"

    def __init__(self) -> None:
        from deployer.cli import main  # imported once, before any timing

        self._main = main

    def deploy(self, app: Path, emulator: Emulator, home: Path, *, first: bool) -> Span:
        env = {**_base_env(emulator, home), "APP_PASSWORD": APP_PASSWORD}
        out, err = io.StringIO(), io.StringIO()
        started = time.monotonic()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = self._main(["deploy", str(app), "--no-verify"], environ=env)
        span = Span(started, time.monotonic())
        return _checked("deployer.cli.main", Completed(code, out.getvalue(), err.getvalue(), span))


class Wrangler:
    """`wrangler deploy` (4.86, unmodified) in the app folder."""

    key = "wrangler"
    label = "wrangler 4.86 deploy"

    def deploy(self, app: Path, emulator: Emulator, home: Path, *, first: bool) -> Span:
        env = {
            **_base_env(emulator, home),
            "WRANGLER_SEND_METRICS": "false",
            "WRANGLER_SEND_ERROR_REPORTS": "false",
            "WRANGLER_HIDE_BANNER": "true",
            "CI": "1",
        }
        command = [str(WRANGLER), "deploy"]
        if first:
            command += ["--secrets-file", str(write_secrets_file(home / "secrets.json"))]
        return _checked("wrangler deploy", run_command(command, cwd=app, env=env))
