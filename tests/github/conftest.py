"""Fixtures for the action's tests: a fake GitHub, a cfemu account, the step's files, instant retries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import stamina

from cfemu.launcher import Emulator, running_emulator
from tests.github.fake_github import FakeGitHub, running_fake_github
from tests.github.harness import (
    REPOSITORY,
    StepFiles,
    StepResult,
    default_inputs,
    run_in_process,
    runner_environment,
)

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


@dataclass(frozen=True)
class LiveStep:
    """`run(event fixture, **inputs)` runs one step; the emulator, the fake GitHub and the step's files."""

    run: Callable[..., StepResult]
    emulator: Emulator
    github: FakeGitHub
    files: StepFiles

    @property
    def app(self) -> Path:
        return self.files.workspace / "app"


@pytest.fixture
def live_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveStep]:
    """Run action steps (`inputs` over action.yml's defaults, `_` for `-`) against a cfemu that runs the Workers
    (so the checks of the live app run for real) and a fake GitHub."""
    with (
        stamina.set_testing(True, attempts=3),
        running_emulator(tmp_path / "cfemu", subdomain="demo", api_token=CF_TOKEN, run_workers=True) as emulator,
        running_fake_github(token=GH_TOKEN, repository=REPOSITORY) as github,
    ):
        files = StepFiles.create(tmp_path / "runner")
        defaults = default_inputs(
            api_token=CF_TOKEN,
            account_id=emulator.account_id,
            api_base_url=emulator.api_base_url,
            github_token=GH_TOKEN,
        )

        def run(fixture: str, **inputs: str) -> StepResult:
            values = {**defaults, **{name.replace("_", "-"): value for name, value in inputs.items()}}
            environ = runner_environment(
                files, event_fixture=fixture, inputs=values, github_api_url=github.url, in_container=False
            )
            return run_in_process(files, environ, monkeypatch)

        yield LiveStep(run, emulator, github, files)
