"""Fixtures for the end-to-end tests: the example app deployed by the CLI to a cfemu that runs Workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cfemu.launcher import running_emulator
from tests.e2e.helpers import DeployedApp, deploy_example


@pytest.fixture(scope="package")
def items_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedApp]:
    """One deployed items-app shared by the checklist and browser tests (each cleans up the data it adds)."""
    root = tmp_path_factory.mktemp("e2e-shared")
    with running_emulator(root / "cfemu", run_workers=True) as emu:
        yield deploy_example(emu, root)
