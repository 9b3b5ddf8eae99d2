"""Start a real `python -m cfemu serve` subprocess: for the tests, the bench and the demo.

Usage:

    with running_emulator(tmp_path / "cf") as emu:
        httpx.get(f"{emu.api_base_url}/accounts/{emu.account_id}/d1/database",
                  headers={"Authorization": f"Bearer {emu.api_token}"})

The server is started on a free port (`--port 0`); the harness reads the one line
`cfemu listening on http://127.0.0.1:PORT` from its stdout (30 s timeout), yields an
`Emulator`, and on exit terminates the process (SIGTERM, then SIGKILL after 10 s).
The server's stderr is passed through to the caller's stderr (or to `stderr`).

By default the server runs with `--no-runtime` (the API only: uploads are stored, not run), which is
what the API tests need and keeps them fast. `run_workers=True` runs deployed Workers in workerd and
serves them at `Emulator.workers_url(script)` (see tests/e2e/).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

__all__ = ["Emulator", "running_emulator"]

_LISTENING_PREFIX = "cfemu listening on "
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Emulator:
    """A running emulator: where it listens and the credentials it accepts."""

    root_url: str
    api_base_url: str
    account_id: str
    api_token: str
    data_dir: Path
    subdomain: str | None
    pid: int = 0

    @property
    def port(self) -> int:
        """The port the server listens on (API and workers.dev hosts alike)."""
        return int(self.root_url.rsplit(":", 1)[1])

    def workers_url(self, script: str) -> str:
        """The browser URL of `script`: `http://{script}.{subdomain}.workers.dev.localhost:{port}`."""
        return f"http://{script}.{self.subdomain}.workers.dev.localhost:{self.port}"

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        """Return the request log entries with `seq > since` (GET /__emulator/requests)."""
        response = httpx.get(f"{self.root_url}/__emulator/requests", params={"since": since}, timeout=10.0)
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()
        return entries

    def add_fault(self, fault: str, **rule: object) -> dict[str, Any]:
        """Make calls fail (`cfemu.faults`): e.g. `add_fault("502", method="PUT", path="/workers/scripts/*")`."""
        response = httpx.post(f"{self.root_url}/__emulator/faults", json={"fault": fault, **rule}, timeout=10.0)
        response.raise_for_status()
        added: dict[str, Any] = response.json()
        return added

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules in force, with how many calls each matched (`seen`) and failed (`fired`)."""
        response = httpx.get(f"{self.root_url}/__emulator/faults", timeout=10.0)
        response.raise_for_status()
        rules: list[dict[str, Any]] = response.json()
        return rules

    def fire_scheduled(
        self, script: str, *, cron: str | None = None, scheduled_time_ms: int | None = None
    ) -> dict[str, Any]:
        """Run `script`'s scheduled handler as its Cron Trigger `cron` would (default: its first), and return
        `{"script", "version_id", "cron", "scheduledTime", "outcome", "noRetry"}` (`cfemu.schedules`)."""
        params: dict[str, str | int] = {}
        if cron is not None:
            params["cron"] = cron
        if scheduled_time_ms is not None:
            params["scheduledTime"] = scheduled_time_ms
        url = f"{self.root_url}/__emulator/scripts/{script}/scheduled"
        response = httpx.post(url, params=params, timeout=120.0)
        response.raise_for_status()
        fired: dict[str, Any] = response.json()
        return fired

    def clear_faults(self) -> None:
        httpx.delete(f"{self.root_url}/__emulator/faults", timeout=10.0).raise_for_status()

    def last_seq(self) -> int:
        """Return the sequence number of the newest logged request (0 when none)."""
        entries = self.requests()
        return max((int(entry["seq"]) for entry in entries), default=0)


def _pump_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Copy the lines of `stream` into `lines` until EOF (then put None)."""
    for line in stream:
        lines.put(line)
    lines.put(None)


def _wait_for_listening(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> str:
    """Return the root URL from the server's listening line, or raise RuntimeError."""
    seen: list[str] = []
    try:
        while True:
            line = lines.get(timeout=_START_TIMEOUT_S)
            if line is None:
                code = process.wait(timeout=_STOP_TIMEOUT_S)
                msg = f"cfemu exited with code {code} before listening; stdout: {''.join(seen)!r}"
                raise RuntimeError(msg)
            if line.startswith(_LISTENING_PREFIX):
                return line[len(_LISTENING_PREFIX) :].strip()
            seen.append(line)
    except queue.Empty:
        msg = f"cfemu did not print its listening line within {_START_TIMEOUT_S:.0f} s"
        raise RuntimeError(msg) from None


def _stop(process: subprocess.Popen[str], *, own_group: bool) -> None:
    """Terminate `process`, killing it if it does not exit within the stop timeout; with `own_group`, then
    kill whatever is left in its process group (anything the emulator started and failed to stop)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=_STOP_TIMEOUT_S)
    if own_group:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def running_emulator(
    data_dir: Path,
    *,
    subdomain: str | None = "demo",
    account_id: str = "0123456789abcdef0123456789abcdef",
    api_token: str = "test-token-not-secret",
    extra_args: Sequence[str] = (),
    run_workers: bool = False,
    port: int = 0,
    new_session: bool = False,
    stderr: IO[str] | None = None,
) -> Iterator[Emulator]:
    """Run `python -m cfemu serve` on a loopback port (default: a free one) for the duration of the block.

    `new_session` starts it in a session (and process group) of its own, so a Ctrl-C in the terminal reaches
    only the caller, which then stops the server and its group itself (scripts/demo, the bench). `stderr`
    receives the server's stderr (default: this process's).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "cfemu",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--account-id",
        account_id,
        "--api-token",
        api_token,
    ]
    if subdomain is not None:
        command += ["--subdomain", subdomain]
    if not run_workers:
        command.append("--no-runtime")
    command += list(extra_args)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1, start_new_session=new_session
    )
    try:
        assert process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        pump = threading.Thread(target=_pump_lines, args=(process.stdout, lines), daemon=True)
        pump.start()
        root_url = _wait_for_listening(process, lines)
        yield Emulator(
            root_url=root_url,
            api_base_url=f"{root_url}/client/v4",
            account_id=account_id,
            api_token=api_token,
            data_dir=data_dir,
            subdomain=subdomain,
            pid=process.pid,
        )
    finally:
        _stop(process, own_group=new_session)
        if process.stdout is not None:
            process.stdout.close()
