"""The number of files an asset manifest may list: 20,000 on the Free plan (the default), more on Workers Paid."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cfemu.launcher import Emulator, running_emulator
from tests.emulator.helpers import account_client, errors, result

FREE_LIMIT = 20_000


def _manifest(files: int) -> dict[str, dict[str, object]]:
    """`files` distinct paths; they share one hash, so the session has a single file to ask for."""
    return {f"/page-{number:05d}.html": {"hash": "c" * 32, "size": 10} for number in range(files)}


def _session(api: httpx.Client, files: int) -> httpx.Response:
    return api.post("/workers/scripts/site/assets-upload-session", json={"manifest": _manifest(files)})


@pytest.fixture
def paid_account(tmp_path: Path) -> Iterator[Emulator]:
    """An account on Workers Paid: 100,000 asset files per version."""
    with running_emulator(tmp_path / "cfemu", extra_args=["--max-asset-files", "100000"]) as emu:
        yield emu


def test_a_manifest_of_more_files_than_the_plan_allows_is_refused(api: httpx.Client) -> None:
    """20,001 files on the Free plan: HTTP 400, code 10021, and the message names the limit and the count."""
    response = _session(api, FREE_LIMIT + 1)
    assert response.status_code == 400
    ((code, message),) = errors(response)
    assert code == 10021
    assert "at most 20,000 assets" in message
    assert "20,001 files" in message


def test_a_manifest_of_exactly_the_limit_opens_a_session(api: httpx.Client) -> None:
    """20,000 files is within the Free plan's limit."""
    response = _session(api, FREE_LIMIT)
    assert response.status_code == 201
    assert result(response)["buckets"] == [["c" * 32]]


def test_a_paid_account_takes_more_than_twenty_thousand_files(paid_account: Emulator) -> None:
    """`--max-asset-files 100000` (Workers Paid) accepts what the Free plan refuses."""
    with account_client(paid_account) as api:
        response = _session(api, FREE_LIMIT + 1)
    assert response.status_code == 201
    assert result(response)["buckets"] == [["c" * 32]]
