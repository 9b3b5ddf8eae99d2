"""Fixtures for the action's tests: a fake GitHub, a cfemu account, the step's files, instant retries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina

from cfemu.launcher import Emulator, running_emulator
from tests.github.fake_github import FakeGitHub, running_fake_github
from tests.github.harness import StepFiles

CF_TOKEN = "cf-token-Zq8Xw2Lr5Tn1Vb7Hc4Md9Ks3"
GH_TOKEN = "ghs_FakeInstallationToken4Kd9Qe1Wr7Ty3"


@pytest.fixture(autouse=True)
def instant_retries() -> Iterator[None]:
    """Retries happen without waiting."""
    stamina.set_testing(True, attempts=3)
    yield
    stamina.set_testing(False)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """A fake GitHub whose token may write comments and deployments."""
    with running_fake_github(token=GH_TOKEN) as fake:
        yield fake


@pytest.fixture
def cf(tmp_path: Path) -> Iterator[Emulator]:
    """A cfemu account with the workers.dev subdomain "demo" and a secret-looking token."""
    with running_emulator(tmp_path / "cfemu", subdomain="demo", api_token=CF_TOKEN) as emu:
        yield emu


@pytest.fixture
def step(tmp_path: Path) -> StepFiles:
    """A runner's step layout with the example app at `app/` in the workspace."""
    return StepFiles.create(tmp_path / "runner")
