"""Finding the app's database among many: the exact name, on whichever page it is (cfemu over HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cfemu.launcher import Emulator, running_emulator
from deployer.cloudflare import CloudflareClient
from deployer.cloudflare.d1 import find_database
from tests.emulator.helpers import account_client, result


@pytest.fixture
def paid_account(tmp_path: Path) -> Iterator[Emulator]:
    """An account on a plan that holds many D1 databases (Free holds 10)."""
    with running_emulator(tmp_path / "cfemu", subdomain="demo", extra_args=["--max-databases", "50000"]) as emu:
        yield emu


async def test_the_exact_name_is_found_past_the_first_page_and_prefixes_do_not_match(paid_account: Emulator) -> None:
    """`?name=` searches; 120 databases whose names start with the wanted one come first: only the exact one counts."""
    emulator = paid_account
    with account_client(emulator) as api:
        for number in range(120):
            result(api.post("/d1/database", json={"name": f"items-app-db-{number:03d}"}))
        wanted = result(api.post("/d1/database", json={"name": "items-app-db"}))["uuid"]
    async with CloudflareClient(
        base_url=emulator.api_base_url, api_token=emulator.api_token, account_id=emulator.account_id
    ) as client:
        found = await find_database(client, "items-app-db")
        missing = await find_database(client, "items-app")
    assert found is not None and found.uuid == wanted
    assert missing is None
    pages = [e["query"] for e in emulator.requests() if e["method"] == "GET" and e["path"].endswith("/d1/database")]
    assert len(pages) >= 2, pages
