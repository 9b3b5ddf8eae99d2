"""Fixtures for the emulator tests: an authenticated httpx client bound to the account's API root."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cfemu.launcher import Emulator
from tests.emulator.helpers import account_client


@pytest.fixture
def api(emulator: Emulator) -> Iterator[httpx.Client]:
    """A client for `{api_base_url}/accounts/{account_id}` sending the right API token."""
    with account_client(emulator) as client:
        yield client
