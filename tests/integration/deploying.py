"""Run the deployer the way a user does (`python -m deployer deploy …` in a subprocess) against cfemu."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.emulator_harness import Emulator

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_APP = REPO / "examples" / "items-app"
APP_PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class DeployRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


def copy_example(tmp_path: Path, name: str = "items-app") -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLE_APP, target)
    return target


def read_outputs(path: Path) -> dict[str, str]:
    outputs: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                outputs[key] = value
    return outputs


def run_deploy(
    emu: Emulator,
    app_dir: Path,
    *args: str,
    token: str | None = None,
    env: dict[str, str] | None = None,
    command: str = "deploy",
) -> DeployRun:
    """`python -m deployer <command> <app_dir> *args` (for `inspect`: `--name <app_dir's name>`) against `emu`."""
    output_file = app_dir.parent / f"github-output-{os.getpid()}-{len(list(app_dir.parent.iterdir()))}"
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(app_dir.parent),
        "CLOUDFLARE_API_BASE_URL": emu.api_base_url,
        "CLOUDFLARE_API_TOKEN": token or emu.api_token,
        "CLOUDFLARE_ACCOUNT_ID": emu.account_id,
        "APP_PASSWORD": APP_PASSWORD,
        "GITHUB_OUTPUT": str(output_file),
        **(env or {}),
    }
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "deployer",
            command,
            *(["--name", app_dir.name] if command == "inspect" else [str(app_dir)]),
            *args,
        ],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return DeployRun(completed.returncode, completed.stdout, completed.stderr, read_outputs(output_file))


def api(emu: Emulator, method: str, path: str, **kwargs: Any) -> Any:
    """Call the emulator's API directly (what a person with the token could see in the dashboard)."""
    response = httpx.request(
        method,
        f"{emu.api_base_url}/accounts/{emu.account_id}{path}",
        headers={"Authorization": f"Bearer {emu.api_token}"},
        timeout=30,
        **kwargs,
    )
    return response.json()


def writes(entries: list[dict[str, Any]]) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in entries if e["method"] != "GET"]
