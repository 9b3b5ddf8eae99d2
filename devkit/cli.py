"""Running the deployer's CLI as a user does: `python -m deployer COMMAND …` in a subprocess, against cfemu.

Only what the command needs reaches it: `PATH`, a `HOME`, the emulator's base URL, token and account, the
app's password and whatever `env` adds; nothing else of the caller's environment (a real token, `INPUT_*`,
`GITHUB_*`) leaks in. `GITHUB_OUTPUT` points at a fresh file whose outputs come back parsed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cfemu.launcher import Emulator
from devkit.example import APP_PASSWORD, REPO
from devkit.outputs import read_outputs
from devkit.transcripts import record

__all__ = ["CliRun", "emulator_environment", "run_cli"]


@dataclass(frozen=True)
class CliRun:
    """One finished run: exit code, what it printed, and the outputs it wrote."""

    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


def emulator_environment(emu: Emulator, *, password: str | None = APP_PASSWORD) -> dict[str, str]:
    """The variables that point the deployer at `emu` (and give the app its password, unless None)."""
    environ = {
        "CLOUDFLARE_API_BASE_URL": emu.api_base_url,
        "CLOUDFLARE_API_TOKEN": emu.api_token,
        "CLOUDFLARE_ACCOUNT_ID": emu.account_id,
    }
    if password is not None:
        environ["APP_PASSWORD"] = password
    return environ


def run_cli(
    emu: Emulator | None,
    *args: str,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    timeout: float = 180.0,
    show_log: bool = False,
) -> CliRun:
    """`python -m deployer *args` with `emu`'s credentials (none when `emu` is None) plus `env`.

    With `show_log` the command's log (stderr) goes to this process's stderr as it runs, instead of being
    captured (`CliRun.stderr` is then empty): the demo shows the deploy as it happens.
    """
    with tempfile.TemporaryDirectory(prefix="deployer-cli-") as scratch:
        output_file = Path(scratch) / "github-output"
        environ = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home or scratch),
            "GITHUB_OUTPUT": str(output_file),
            **(emulator_environment(emu) if emu is not None else {}),
            **(env or {}),
        }
        completed = subprocess.run(
            [sys.executable, "-m", "deployer", *args],
            cwd=REPO,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=None if show_log else subprocess.PIPE,
            text=True,
            timeout=timeout,
            check=False,
        )
        run = CliRun(completed.returncode, completed.stdout, completed.stderr or "", read_outputs(output_file))
        record("cli", "\n".join([" ".join(args), run.stdout, run.stderr, json.dumps(run.outputs)]))
        return run
