"""Listing D1 databases: pages, and the bounds of `page` and `per_page` (see `cfemu.d1` for the sources)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cfemu.launcher import Emulator, running_emulator
from tests.emulator.helpers import account_client, create_database, errors


@pytest.fixture
def paid_account(tmp_path: Path) -> Iterator[Emulator]:
    """An account that may hold more than the Free plan's 10 databases."""
    with running_emulator(tmp_path / "cfemu", extra_args=["--max-databases", "50"]) as emu:
        yield emu


def test_the_list_is_paged_with_full_result_info(paid_account: Emulator) -> None:
    """12 databases at the smallest page size: the second page holds the last two, oldest first."""
    with account_client(paid_account) as api:
        for index in range(12):
            create_database(api, f"db-{index:02d}")
        body = api.get("/d1/database", params={"page": 2, "per_page": 10}).json()
    assert [db["name"] for db in body["result"]] == ["db-10", "db-11"]
    assert body["result_info"] == {"page": 2, "per_page": 10, "count": 2, "total_count": 12, "total_pages": 2}


@pytest.mark.parametrize("per_page", [10, 10_000])
def test_per_page_takes_its_bounds(api: httpx.Client, per_page: int) -> None:
    """10 and 10,000 are both allowed."""
    create_database(api, "only")
    body = api.get("/d1/database", params={"per_page": per_page}).json()
    assert [db["name"] for db in body["result"]] == ["only"]
    assert body["result_info"]["per_page"] == per_page


def test_per_page_defaults_to_a_thousand(api: httpx.Client) -> None:
    """Without `per_page` the page size is 1000 (GUESS)."""
    create_database(api, "only")
    assert api.get("/d1/database").json()["result_info"]["per_page"] == 1000


@pytest.mark.parametrize("per_page", ["9", "0", "-10", "10001", "100000", "ten", "10.5"])
def test_per_page_out_of_its_bounds_is_refused(api: httpx.Client, per_page: str) -> None:
    """A `per_page` below 10, above 10,000 or not an integer: HTTP 400 code 7400 naming the bounds."""
    response = api.get("/d1/database", params={"per_page": per_page})
    assert response.status_code == 400
    assert errors(response) == [(7400, f"Invalid per_page: {per_page!r}; it must be an integer from 10 to 10000")]


@pytest.mark.parametrize("page", ["0", "-1", "first"])
def test_page_below_one_is_refused(api: httpx.Client, page: str) -> None:
    """Pages count from 1."""
    response = api.get("/d1/database", params={"page": page})
    assert response.status_code == 400
    assert errors(response) == [(7400, f"Invalid page: {page!r}; it must be an integer at least 1")]
