"""Deploying with the real CLI (`devkit.cli`) against cfemu, and reading what a person with the token could see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cfemu.launcher import Emulator
from devkit.cli import CliRun, run_cli
from tests.emulator.helpers import account_client

__all__ = ["api", "run_deploy", "writes"]


def run_deploy(
    emu: Emulator,
    app_dir: Path,
    *args: str,
    token: str | None = None,
    env: dict[str, str] | None = None,
    command: str = "deploy",
    verify: bool = False,
) -> CliRun:
    """`python -m deployer <command> <app_dir> *args` (for `inspect`: `--name <app_dir's name>`) against `emu`.

    A deploy is run with `--no-verify` unless `verify`: most of these emulators run no Workers to check.
    """
    target = ["--name", app_dir.name] if command == "inspect" else [str(app_dir)]
    if command == "deploy" and not verify:
        target.append("--no-verify")
    extra = {"CLOUDFLARE_API_TOKEN": token} if token else {}
    return run_cli(emu, command, *target, *args, env={**extra, **(env or {})})


def api(emu: Emulator, method: str, path: str, **kwargs: Any) -> Any:
    """Call the emulator's API directly (what a person with the token could see in the dashboard)."""
    with account_client(emu) as client:
        return client.request(method, path, **kwargs).json()


def writes(entries: list[dict[str, Any]]) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in entries if e["method"] != "GET"]
