"""Fixtures for the emulator tests: an authenticated httpx client bound to the account's API root, and a cfemu
that runs the Workers deployed to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cfemu.launcher import Emulator, running_emulator
from tests.emulator.helpers import account_client


@pytest.fixture
def api(emulator: Emulator) -> Iterator[httpx.Client]:
    """A client for `{api_base_url}/accounts/{account_id}` sending the right API token."""
    with account_client(emulator) as client:
        yield client


@pytest.fixture
def emulator_with_workers(tmp_path: Path) -> Iterator[Emulator]:
    """A cfemu that runs deployed Workers in workerd (subdomain "demo")."""
    with running_emulator(tmp_path / "cfemu", subdomain="demo", run_workers=True) as emu:
        yield emu
