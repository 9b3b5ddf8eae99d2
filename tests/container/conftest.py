"""The container test's engine and image: a private dockerd (tests/container/setup_docker.sh) and the action's
image built from this repository's Dockerfile.

The container tests take an exclusive lock under the state dir (test sessions sharing the engine wait for each
other), start dockerd unless it runs already, and stop it when they are done, only if they started it. With
`DEPLOYER_DOCKER=system` (GitHub's runners) the machine's own engine is used as it is.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from devkit.example import REPO

SETUP = REPO / "tests" / "container" / "setup_docker.sh"
STATE = Path(os.environ.get("DEPLOYER_DOCKER_STATE", "/var/tmp/deployer-docker"))
IMAGE = "cf-stateful-deployer:container-test"
LOCK_WAIT_S = 900.0


@dataclass(frozen=True)
class Docker:
    """A Docker CLI pointed at the engine (`environ` carries DOCKER_HOST when the engine is private)."""

    environ: Mapping[str, str]

    def run(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """`docker ARGS`, capturing output; `env` adds variables (for `-e NAME` passed by name, as the runner does)."""
        return subprocess.run(
            ["docker", *args],
            env={**self.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _lock(path: Path) -> int:
    """Hold an exclusive lock on `path` (waiting up to LOCK_WAIT_S); returns the open descriptor."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return descriptor
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(descriptor)
                raise RuntimeError(f"another test session holds {path} for more than {LOCK_WAIT_S:.0f} s") from None
            time.sleep(0.5)


def _setup(command: str) -> dict[str, str]:
    """Run `setup_docker.sh COMMAND` and return its `KEY=VALUE` lines."""
    completed = subprocess.run(["bash", str(SETUP), command], capture_output=True, text=True, timeout=900, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"setup_docker.sh {command} failed:\n{completed.stdout}\n{completed.stderr}")
    return dict(line.split("=", 1) for line in completed.stdout.splitlines() if "=" in line)


@pytest.fixture(scope="package")
def docker() -> Iterator[Docker]:
    """The engine for the container tests; a private dockerd is stopped after them if they started it."""
    if os.environ.get("DEPLOYER_DOCKER") == "system":
        yield Docker(dict(os.environ))
        return
    descriptor = _lock(STATE / "session.lock")
    started = False
    try:
        values = _setup("start")
        started = values.get("STARTED") == "1"
        yield Docker({**os.environ, "DOCKER_HOST": values["DOCKER_HOST"]})
    finally:
        try:
            if started:
                _setup("stop")
        finally:
            os.close(descriptor)


@pytest.fixture(scope="package")
def action_image(docker: Docker) -> str:
    """The action's image, built from this repository's Dockerfile (host network: pip reaches PyPI)."""
    built = docker.run("build", "--network=host", "--tag", IMAGE, str(REPO), timeout=900)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    return IMAGE
