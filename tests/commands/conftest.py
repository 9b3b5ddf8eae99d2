"""Running the commands in-process (`deployer.commands.execute`) against a cfemu over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfemu.launcher import Emulator
from deployer.settings import Settings
from devkit.cli import emulator_environment
from devkit.example import copy_example


def settings_for(emu: Emulator | None, app: Path, **environ: str) -> Settings:
    """The settings a user of the CLI gets for `app` with `emu`'s credentials (none when `emu` is None)."""
    return Settings.load(cli={"app_dir": app}, environ={**(emulator_environment(emu) if emu else {}), **environ})


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A fresh copy of the example app, named items-app."""
    return copy_example(tmp_path)
