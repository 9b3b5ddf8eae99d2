"""Every bad input of the catalogue, deployed with the CLI against cfemu: exit 1, one message naming the input
and the fix, no traceback, and no change to the account (or, when Cloudflare is the one to refuse it after
earlier steps, a message that says what was changed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cfemu.launcher import Emulator, running_emulator
from devkit.example import REPO, copy_example
from tests.integration.deploying import run_deploy
from tests.reliability.catalogue import CATALOGUE, BadInput, markdown_table


@pytest.fixture(scope="module")
def shared_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(tmp_path_factory.mktemp("catalogue") / "cfemu") as emulator:
        yield emulator


def test_the_catalogue_has_at_least_forty_entries() -> None:
    assert len(CATALOGUE) >= 40
    assert len({entry.what for entry in CATALOGUE}) == len(CATALOGUE)


@pytest.mark.parametrize("entry", CATALOGUE, ids=[entry.what for entry in CATALOGUE])
def test_a_bad_input_gets_its_message_and_changes_nothing(
    shared_emulator: Emulator, tmp_path: Path, entry: BadInput
) -> None:
    app = entry.make(copy_example(tmp_path))
    env = {name: value.replace("{token}", shared_emulator.api_token) for name, value in entry.env.items()}
    seq = shared_emulator.last_seq()
    run = run_deploy(shared_emulator, app, *entry.args, env=env)
    assert run.returncode == 1, run.stderr
    assert entry.message in run.stderr
    assert entry.fix in run.stderr
    assert "Traceback" not in run.stderr
    writes = [e for e in shared_emulator.requests(since=seq) if e["method"] != "GET"]
    if entry.after_writes:
        assert "Changed before the failure:" in run.stderr
    else:
        assert writes == []


def test_docs_reliability_shows_the_catalogue_as_it_is() -> None:
    """docs/RELIABILITY.md holds the table `python -m tests.reliability.catalogue` prints."""
    assert markdown_table() in (REPO / "docs" / "RELIABILITY.md").read_text(encoding="utf-8")
