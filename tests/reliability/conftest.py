"""The reference end state a fault-free first deploy leaves, shared by the fault matrix and kill-and-rerun tests."""

from __future__ import annotations

import asyncio

import pytest
import stamina

from cfemu.launcher import running_emulator
from deployer.commands import execute
from tests.reliability.state import end_state, named_app, settings_for


@pytest.fixture(scope="package")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """What a fault-free first deploy leaves (tags hold no ids, so they compare across accounts)."""
    root = tmp_path_factory.mktemp("reference")
    with running_emulator(root / "cfemu") as emulator, stamina.set_testing(True):
        app = named_app(root, "matrix")
        asyncio.run(execute("deploy", settings_for(emulator, app)))
        return end_state(emulator, "matrix")
