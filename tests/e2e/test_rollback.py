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
from devkit.example import APP_PASSWORD, EXAMPLE_SCRIPT, copy_example
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
    assert "passes the default checks again" in failed.stderr
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


def versions(emu: Emulator) -> list[dict[str, object]]:
    with account_client(emu) as api:
        items: list[dict[str, object]] = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/versions"))["items"]
    return items


def version_number(emu: Emulator, version_id: str) -> int:
    with account_client(emu) as api:
        return int(result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/versions/{version_id}"))["number"])


def rollback(emu: Emulator, app: Path, *args: str) -> CliRun:
    return run_cli(emu, "rollback", str(app), *args)


def test_rollback_with_and_without_to_is_idempotent_and_guards_changed_secrets(emu: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    url = deploy(emu, app)
    with (app / "public" / "login.html").open("a", encoding="utf-8") as page:
        page.write("<!-- v2 -->\n")
    assert push(emu, app).returncode == 0
    assert version_number(emu, live_version(emu)) == 2

    back = rollback(emu, app)
    assert back.returncode == 0, back.stderr
    assert (back.outputs["status"], version_number(emu, back.outputs["version-id"])) == ("rolled-back", 1)
    assert live_version(emu) == back.outputs["version-id"]
    with localhost_client(url) as client:
        assert "<!-- v2 -->" not in client.get("/login.html").text
    assert [tag for tag in tags(emu) if tag.startswith("ds1-") and not tag.startswith("ds1-secrets-")] == []
    shown = run_cli(emu, "inspect", "--name", EXAMPLE_SCRIPT).stdout
    v1_line = next(line for line in shown.splitlines() if line.strip().startswith("1  "))
    assert "rollback to" in v1_line and "LIVE 100%" in v1_line, shown
    v2_line = next(line for line in shown.splitlines() if line.strip().startswith("2  "))
    assert "LIVE" not in v2_line, shown

    again = rollback(emu, app)  # not a flip back to 2: the last deployment is a rollback already
    assert (again.returncode, again.outputs["status"]) == (0, "unchanged")
    assert "rolled back already" in again.stderr
    assert version_number(emu, live_version(emu)) == 1

    v2 = str(next(v for v in versions(emu) if v["number"] == 2)["id"])
    forward = rollback(emu, app, "--to", v2[:8])
    assert (forward.returncode, forward.outputs["status"]) == (0, "rolled-back")
    assert version_number(emu, live_version(emu)) == 2
    same = rollback(emu, app, "--to", live_version(emu)[:8])
    assert (same.returncode, same.outputs["status"]) == (0, "unchanged")

    rotated = run_cli(emu, "rotate", str(app))
    assert rotated.returncode == 0, rotated.stderr
    guarded = rollback(emu, app, "--to", "1")
    assert guarded.returncode == 1
    assert "secrets changed since it was live" in guarded.stderr and "SESSION_SECRET" in guarded.stderr
    assert "--force" in guarded.stderr
    assert version_number(emu, live_version(emu)) > 2
    forced = rollback(emu, app, "--to", "1", "--force")
    assert forced.returncode == 0, forced.stderr
    assert version_number(emu, live_version(emu)) == 1

    redeployed = push(emu, app)  # the state tags were cleared: the next deploy uploads everything again
    assert redeployed.returncode == 0, redeployed.stderr
    assert redeployed.outputs["changed"] != "nothing"
    assert version_number(emu, live_version(emu)) == 4  # 1 deploy, 2 push, 3 rotate, 4 this one


def test_the_apps_own_checks_run_after_the_default_ones_and_a_failing_one_fails_the_run(
    emu: Emulator, tmp_path: Path
) -> None:
    """app.yml's checks (one signed in) pass and are logged; a check the live app does not pass fails the run,
    and with no new version uploaded there is nothing to roll back."""
    app = copy_example(tmp_path)
    checks = (
        "checks:\n"
        "  - {path: /login.html, contains: 'name=\"password\"'}\n"
        "  - {path: /api/items, sign_in: true}\n"
        "  - {path: /api/items, method: POST, status: 401}\n"
    )
    (app / "app.yml").write_text((app / "app.yml").read_text() + checks)
    first = push(emu, app)
    assert first.returncode == 0, first.stderr
    for name in ("GET /login.html is 200 with", "GET /api/items is 200 (signed in)", "POST /api/items is 401"):
        assert f"check='{name}" in first.stderr or f'check="{name}' in first.stderr, first.stderr
    v1 = live_version(emu)

    (app / "app.yml").write_text((app / "app.yml").read_text() + "  - {path: /api/health}\n")
    failed = push(emu, app)
    assert failed.returncode == 1
    assert "FAIL GET /api/health is 200: HTTP 401" in failed.stderr  # /api/ is behind the gate
    assert "rolled back" not in failed.stderr
    assert live_version(emu) == v1


def test_a_password_sent_by_the_failed_deploy_goes_back_with_it(emu: Emulator, tmp_path: Path) -> None:
    """The deploy sent a new APP_PASSWORD and its version failed: the old password signs in again, and the
    message says which secrets went back."""
    app = copy_example(tmp_path)
    url = deploy(emu, app)
    break_home(app)
    failed = run_cli(emu, "deploy", str(app), env={"APP_PASSWORD": "a-new-password-that-went-back"})
    assert failed.returncode == 1
    assert "The secrets this deploy sent (APP_PASSWORD) have their values from before it again." in failed.stderr
    with localhost_client(url, keep_cookies=False) as client:
        old = client.post("/login", data={"password": APP_PASSWORD})
        new = client.post("/login", data={"password": "a-new-password-that-went-back"})
    assert (old.headers["location"], new.headers["location"]) == ("/", "/login.html?error=1")


def test_after_a_rollback_with_migrations_the_fixed_code_deploys_without_migrating_again(
    emu: Emulator, tmp_path: Path
) -> None:
    """The schema tag keeps describing the database (which kept the migration): the fix applies nothing."""
    app = copy_example(tmp_path)
    deploy(emu, app)
    (app / "migrations").mkdir()
    (app / "migrations" / "0001_notes.sql").write_text("ALTER TABLE items ADD COLUMN note TEXT;\n")
    original = (app / "worker.js").read_text()
    break_home(app)
    assert push(emu, app).returncode == 1
    (app / "worker.js").write_text(original + "\n// fixed\n")
    fixed = push(emu, app)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.outputs["changed"] == "code"
    assert fixed.outputs["migrations-applied"] == ""


def test_when_going_back_fails_the_run_says_the_new_version_is_still_live(emu: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    deploy(emu, app)
    v1 = live_version(emu)
    break_home(app)
    emu.add_fault("429", method="POST", path=f"/workers/scripts/{EXAMPLE_SCRIPT}/deployments", retry_after=3600)
    failed = push(emu, app)
    assert failed.returncode == 1
    assert "and going back to version" in failed.stderr and "the new version is still live" in failed.stderr
    assert f"python -m deployer rollback --to {v1}" in failed.stderr
    assert live_version(emu) != v1
    emu.clear_faults()
    assert rollback(emu, app, "--to", v1).returncode == 0
    assert live_version(emu) == v1
