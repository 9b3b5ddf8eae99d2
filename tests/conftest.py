"""Shared fixtures: a running cfemu server per test (see tests/emulator_harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulator_harness import Emulator, running_emulator


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    """A cfemu server whose account owns the workers.dev subdomain "demo"."""
    with running_emulator(tmp_path / "cfemu", subdomain="demo") as emu:
        yield emu


@pytest.fixture
def emulator_without_subdomain(tmp_path: Path) -> Iterator[Emulator]:
    """A cfemu server for a brand-new account with no workers.dev subdomain."""
    with running_emulator(tmp_path / "cfemu-nosub", subdomain=None) as emu:
        yield emu
