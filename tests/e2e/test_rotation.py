"""Secret rotation against the running app: sessions kept or ended as asked, and never undone by a push.

Every run goes through the real CLI (`python -m deployer`) to a cfemu that runs the example Worker in workerd;
the session-wide scan (tests/conftest.py) then looks for every secret value in all that was printed.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from cfemu.launcher import Emulator, running_emulator
from devkit.cli import CliRun, run_cli
from devkit.example import APP_PASSWORD, EXAMPLE_SCRIPT, copy_example
from devkit.loopback import localhost_client
from tests.e2e.helpers import deploy
from tests.emulator.helpers import account_client, result, script_form


def signed_in_cookie(url: str, password: str = APP_PASSWORD) -> str | None:
    """The session cookie (`name=value`) that signing in with `password` gives, or None when it is refused."""
    with localhost_client(url, keep_cookies=False) as client:
        answer = client.post("/login", data={"password": password})
    cookie = answer.headers.get("set-cookie", "").split(";", 1)[0]
    return cookie if answer.headers.get("location") == "/" and cookie else None


def api_status(url: str, cookie: str) -> int:
    """What `/api/items` answers to a browser holding `cookie`."""
    with localhost_client(url, keep_cookies=False) as client:
        return client.get("/api/items", headers={"Cookie": cookie}).status_code


def home(url: str, cookie: str) -> httpx.Response:
    with localhost_client(url, keep_cookies=False) as client:
        return client.get("/", headers={"Cookie": cookie})


def rotate(emu: Emulator, app: Path, *args: str, env: dict[str, str] | None = None) -> CliRun:
    return run_cli(emu, "rotate", str(app), *args, env={"APP_PASSWORD": "", **(env or {})})


def secret_names(emu: Emulator) -> list[str]:
    with account_client(emu) as api:
        return sorted(item["name"] for item in result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/secrets")))


def deployments(emu: Emulator) -> int:
    with account_client(emu) as api:
        return len(result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/deployments"))["deployments"])


@pytest.fixture
def emu(tmp_path: Path):  # type: ignore[no-untyped-def]
    with running_emulator(tmp_path / "cfemu", run_workers=True) as emulator:
        yield emulator


def test_graceful_rotation_keeps_sessions_a_push_keeps_the_key_and_revoke_ends_them(
    emu: Emulator, tmp_path: Path
) -> None:
    """deploy → sign in → graceful rotate → old and new sessions work → code push → the rotated key is still in
    force → revoke → the sessions from before are sent to the login page."""
    app = copy_example(tmp_path)
    url = deploy(emu, app)
    first = signed_in_cookie(url)
    assert first is not None and api_status(url, first) == 200

    graceful = rotate(emu, app, env={"APP_PASSWORD": APP_PASSWORD})
    assert graceful.returncode == 0, graceful.stderr
    assert graceful.outputs["status"] == "rotated"
    assert graceful.outputs["rotated"] == "SESSION_SECRET"
    assert "ok  a session from before the rotation still works" in graceful.stdout
    assert "ok  a new sign-in works" in graceful.stdout
    assert secret_names(emu) == ["APP_PASSWORD", "SESSION_SECRET", "SESSION_SECRET_PREVIOUS"]
    assert api_status(url, first) == 200
    shown = run_cli(emu, "inspect", "--name", EXAMPLE_SCRIPT).stdout
    assert re.search(r"secret APP_PASSWORD: changed \d{4}-\d\d-\d\dT\d\d:\d\dZ by deploy", shown), shown
    assert re.search(r"secret SESSION_SECRET: changed \S+ by rotate", shown), shown
    assert re.search(r"secret SESSION_SECRET_PREVIOUS: changed \S+ by rotate", shown), shown
    second = signed_in_cookie(url)
    assert second is not None and api_status(url, second) == 200

    with (app / "worker.js").open("a", encoding="utf-8") as code:
        code.write("\n// a code change\n")
    pushed = run_cli(emu, "deploy", str(app))  # the same APP_PASSWORD as the first deploy, no SESSION_SECRET
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.outputs["changed"] == "code"
    assert api_status(url, second) == 200, "the push replaced the rotated session key"
    assert api_status(url, first) == 200, "the push dropped the previous session key"
    given = run_cli(emu, "deploy", str(app), env={"SESSION_SECRET": "a-session-secret-from-the-repository"})
    assert given.returncode == 0, given.stderr
    assert "SESSION_SECRET was changed by rotate" in given.stderr  # kept, and said so
    assert api_status(url, second) == 200, "a push with a session-secret input undid the rotation"

    again = rotate(emu, app, env={"APP_PASSWORD": APP_PASSWORD})
    assert again.returncode == 0, again.stderr
    assert api_status(url, first) == 401, "the key from two rotations ago is still accepted: nothing rotated"
    assert api_status(url, second) == 200

    revoked = rotate(emu, app, "--mode", "revoke", env={"APP_PASSWORD": APP_PASSWORD})
    assert revoked.returncode == 0, revoked.stderr
    assert "ok  a session from before the rotation is sent to the login page" in revoked.stdout
    assert secret_names(emu) == ["APP_PASSWORD", "SESSION_SECRET"]
    for old in (first, second):
        assert api_status(url, old) == 401
        assert home(url, old).headers["location"] == "/login.html"
    assert signed_in_cookie(url) is not None


def test_a_rotated_password_signs_in_and_a_push_with_the_old_one_does_not_revert_it(
    emu: Emulator, tmp_path: Path
) -> None:
    """APP_PASSWORD from the rotate run's input: the old password fails, the new one signs in, and a push that
    still carries the old repository value sends no secret."""
    app = copy_example(tmp_path)
    url = deploy(emu, app)
    new_password = "rotated-password-7f3a9c"
    env = {"APP_PASSWORD": new_password, "CURRENT_APP_PASSWORD": APP_PASSWORD}
    rotated = rotate(emu, app, "--secret", "APP_PASSWORD", env=env)
    assert rotated.returncode == 0, rotated.stderr
    assert "ok  the new password signs in" in rotated.stdout
    assert "ok  the old password is refused" in rotated.stdout
    assert signed_in_cookie(url, APP_PASSWORD) is None
    assert signed_in_cookie(url, new_password) is not None

    before = deployments(emu)
    pushed = run_cli(emu, "deploy", str(app))  # the old APP_PASSWORD, unchanged in the "repository"
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.outputs["changed"] == "nothing"
    assert deployments(emu) == before
    assert signed_in_cookie(url, APP_PASSWORD) is None
    assert signed_in_cookie(url, new_password) is not None

    changed = run_cli(emu, "deploy", str(app), env={"APP_PASSWORD": "the-repository-changed-it"})
    assert changed.returncode == 0, changed.stderr
    assert changed.outputs["changed"] == "secrets"
    assert signed_in_cookie(url, "the-repository-changed-it") is not None


def upload_undeployed_version(emu: Emulator) -> str:
    """What `wrangler versions upload` leaves: a newer version that is not deployed (its code says so)."""
    code = b"export default { fetch() { return new Response('UNDEPLOYED VERSION', { status: 500 }) } };"
    metadata = {"main_module": "worker.js", "compatibility_date": "2025-01-01", "keep_assets": True}
    metadata["bindings"] = [{"type": "inherit", "name": name} for name in ("DB", "ASSETS", "APP_PASSWORD")]
    with account_client(emu) as api:
        answer = api.post(
            f"/workers/scripts/{EXAMPLE_SCRIPT}/versions",
            files=script_form(metadata, {"worker.js": (code, "application/javascript+module")}),
        )
        return str(result(answer)["id"])


def test_when_the_newest_version_is_not_deployed_a_version_of_the_deployed_one_carries_the_rotation(
    emu: Emulator, tmp_path: Path
) -> None:
    """Cfemu answers the settings PATCH with 10214 (a version uploaded without deploying it): rotate says so,
    builds a version from the deployed one's code and bindings, deploys it, and the app keeps its code."""
    app = copy_example(tmp_path)
    url = deploy(emu, app)
    before = signed_in_cookie(url)
    assert before is not None
    undeployed = upload_undeployed_version(emu)

    rotated = rotate(emu, app, env={"APP_PASSWORD": APP_PASSWORD})
    assert rotated.returncode == 0, rotated.stderr
    assert "the newest version of items-app is not the deployed one" in rotated.stderr.lower()
    assert rotated.outputs["rotated-via"] == "version"
    assert "ok  a session from before the rotation still works" in rotated.stdout
    with account_client(emu) as api:
        live = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/deployments"))["deployments"][0]
        version = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/versions/{live['versions'][0]['version_id']}"))
    assert live["versions"][0]["version_id"] not in (undeployed, "")
    assert version["annotations"]["workers/message"] == "rotate SESSION_SECRET (graceful)"
    names = sorted(binding["name"] for binding in version["resources"]["bindings"])
    assert names == ["APP_PASSWORD", "ASSETS", "DB", "SESSION_SECRET", "SESSION_SECRET_PREVIOUS"]
    with localhost_client(url, keep_cookies=False) as client:
        assert "UNDEPLOYED" not in client.get("/login.html").text
    assert api_status(url, before) == 200


def test_a_password_the_live_app_refuses_stops_the_rotation_before_any_change(emu: Emulator, tmp_path: Path) -> None:
    """A stale app-password (the repository secret not updated after an APP_PASSWORD rotation): nothing rotates."""
    app = copy_example(tmp_path)
    url = deploy(emu, app)
    cookie = signed_in_cookie(url)
    before = deployments(emu)
    stale = rotate(emu, app, env={"APP_PASSWORD": "not-the-live-password"})
    assert stale.returncode == 1
    assert "refused the password this run was given" in stale.stderr
    assert "nothing was changed" in stale.stderr
    assert (deployments(emu), secret_names(emu)) == (before, ["APP_PASSWORD", "SESSION_SECRET"])
    assert cookie is not None and api_status(url, cookie) == 200


def test_a_revoke_on_the_fallback_path_leaves_no_previous_key(emu: Emulator, tmp_path: Path) -> None:
    """With a newer version not deployed, a revoke goes through a version upload: SESSION_SECRET_PREVIOUS (left
    by an earlier graceful rotation) must not survive it, and the sessions from before end."""
    app = copy_example(tmp_path)
    url = deploy(emu, app)
    assert rotate(emu, app, env={"APP_PASSWORD": APP_PASSWORD}).returncode == 0
    assert "SESSION_SECRET_PREVIOUS" in secret_names(emu)
    before = signed_in_cookie(url)
    upload_undeployed_version(emu)
    revoked = rotate(emu, app, "--mode", "revoke", env={"APP_PASSWORD": APP_PASSWORD})
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.outputs["rotated-via"] == "version"
    with account_client(emu) as api:
        live = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/deployments"))["deployments"][0]
        version = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/versions/{live['versions'][0]['version_id']}"))
    assert "SESSION_SECRET_PREVIOUS" not in [b["name"] for b in version["resources"]["bindings"]]
    assert before is not None and api_status(url, before) == 401
