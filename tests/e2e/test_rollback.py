"""A bad deploy undoes itself: the new version fails its checks on the live app, the Worker goes back to the
version live before it (code, assets, state tags), D1 keeps its rows, and the run fails saying so.

Every deploy goes through the real CLI to a cfemu that runs the example Worker in workerd.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cfemu.launcher import Emulator, running_emulator
from devkit.cli import CliRun, run_cli
from devkit.example import EXAMPLE_SCRIPT, copy_example
from devkit.loopback import localhost_client
from tests.e2e.helpers import deploy, sign_in
from tests.emulator.helpers import account_client, result

BROKEN_HOME = (
    "    const path = url.pathname;\n",
    '    const path = url.pathname;\n    if (path === "/") throw new Error("v2 is broken");\n',
)


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with running_emulator(tmp_path / "cfemu", run_workers=True) as emulator:
        yield emulator


def live_version(emu: Emulator) -> str:
    with account_client(emu) as api:
        (share,) = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/deployments"))["deployments"][0]["versions"]
    return str(share["version_id"])


def tags(emu: Emulator) -> list[str]:
    with account_client(emu) as api:
        return sorted(result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/settings"))["tags"])


def break_home(app: Path) -> None:
    worker = app / "worker.js"
    text = worker.read_text()
    assert BROKEN_HOME[0] in text
    worker.write_text(text.replace(BROKEN_HOME[0], BROKEN_HOME[1], 1))


def push(emu: Emulator, app: Path, *args: str) -> CliRun:
    return run_cli(emu, "deploy", str(app), *args)


def test_a_version_that_throws_on_home_is_rolled_back_and_the_run_fails(emu: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    url = deploy(emu, app)
    v1, tags_v1 = live_version(emu), tags(emu)
    break_home(app)

    failed = push(emu, app)
    assert failed.returncode == 1
    assert "failed its checks, so it was rolled back to version 1" in failed.stderr
    assert "HTTP 500" in failed.stderr
    assert "passes them again" in failed.stderr
    assert live_version(emu) == v1
    assert tags(emu) == tags_v1, "the state tags describe v2 while v1 is live"
    with localhost_client(url) as client:
        assert client.get("/").headers["location"] == "/login.html"

    again = push(emu, app)  # the same broken code: planned again (the tags say v1), and rolled back again
    assert again.returncode == 1
    assert "rolled back to version 1" in again.stderr


def test_a_version_whose_assets_lock_out_the_login_page_is_rolled_back_with_its_assets(
    emu: Emulator, tmp_path: Path
) -> None:
    """Only public/ changed (the login page is gone, so the gate leads nowhere): v1's assets come back."""
    app = copy_example(tmp_path)
    url = deploy(emu, app)
    with localhost_client(url) as client:
        login_v1 = client.get("/login.html").text
    (app / "public" / "login.html").unlink()

    failed = push(emu, app)
    assert failed.returncode == 1
    assert "FAIL /login.html answers without a session" in failed.stderr
    assert "rolled back to version 1" in failed.stderr
    with localhost_client(url) as client:
        answer = client.get("/login.html")
    assert (answer.status_code, answer.text) == (200, login_v1)


def test_with_rollback_off_the_failing_version_stays_and_the_run_fails(emu: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    deploy(emu, app)
    v1 = live_version(emu)
    break_home(app)
    failed = push(emu, app, "--no-rollback-on-failure")
    assert failed.returncode == 1
    assert "rolled back" not in failed.stderr
    assert "HTTP 500" in failed.stderr
    assert live_version(emu) != v1


def test_migrations_stay_when_the_code_is_rolled_back_and_the_restore_command_is_shown(
    emu: Emulator, tmp_path: Path
) -> None:
    app = copy_example(tmp_path)
    url = deploy(emu, app)
    with localhost_client(url) as client:
        sign_in(client)
        assert client.post("/api/items", json={"name": "kept"}).status_code == 201
    (app / "migrations").mkdir()
    (app / "migrations" / "0001_notes.sql").write_text("ALTER TABLE items ADD COLUMN note TEXT;\n")
    break_home(app)

    failed = push(emu, app)
    assert failed.returncode == 1
    assert "rolled back to version 1" in failed.stderr
    assert "D1 was not rolled back: this deploy applied 0001_notes.sql after taking the bookmark" in failed.stderr
    assert "python -m deployer restore --bookmark " in failed.stderr
    with localhost_client(url) as client:
        sign_in(client)
        assert [row["name"] for row in client.get("/api/items").json()] == ["kept"]
    with account_client(emu) as api:
        bindings = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/settings"))["bindings"]
        database = next(b["id"] for b in bindings if b["type"] == "d1")
        columns = result(api.post(f"/d1/database/{database}/query", json={"sql": "PRAGMA table_info(items)"}))
    assert "note" in [column["name"] for column in columns[0]["results"]]
    shutil.rmtree(app / "migrations")
