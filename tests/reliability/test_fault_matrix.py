"""Every API call of a deploy, failing once in each way Cloudflare's calls fail: the deploy still succeeds and
leaves exactly what a fault-free deploy leaves. Failing every time: one clear message, and the version that
was live keeps its code and its rows.

Runs in-process (`deployer.commands.execute`) against cfemu over HTTP; retries wait no time
(`stamina.set_testing`), so the matrix is quick while the attempts, their count and their order are real.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina

from cfemu.launcher import Emulator
from deployer.commands import Options, execute
from deployer.errors import DeployError
from tests.emulator.helpers import account_client, result
from tests.reliability.state import end_state, named_app, settings_for

# The calls a first deploy makes (method, path glob under the account), in step order.
FIRST_DEPLOY_CALLS = [
    pytest.param("GET", "/workers/scripts/*/settings", id="read-settings"),
    pytest.param("GET", "/workers/subdomain", id="read-subdomain"),
    pytest.param("GET", "/d1/database", id="find-database"),
    pytest.param("POST", "/d1/database", id="create-database"),
    pytest.param("POST", "/d1/database/*/query", id="apply-schema"),
    pytest.param("POST", "/workers/scripts/*/assets-upload-session", id="open-session"),
    pytest.param("POST", "/workers/assets/upload", id="upload-bucket"),
    pytest.param("PUT", "/workers/scripts/*", id="upload-worker"),
    pytest.param("POST", "/workers/scripts/*/subdomain", id="enable-url"),
    pytest.param("PATCH", "/workers/scripts/*/script-settings", id="record-state"),
]
TRANSIENT = ["429", "500", "502", "524", "reset"]


@pytest.fixture(autouse=True)
def retries_without_waiting() -> Iterator[None]:
    with stamina.set_testing(True, attempts=5, cap=True):
        yield


@pytest.mark.parametrize("fault", TRANSIENT)
@pytest.mark.parametrize(("method", "path"), FIRST_DEPLOY_CALLS)
async def test_a_call_failing_once_changes_nothing_in_the_end(
    emulator: Emulator, tmp_path: Path, reference: dict[str, object], method: str, path: str, fault: str
) -> None:
    emulator.add_fault(fault, method=method, path=path, nth=1, times=1, retry_after=1)
    app = named_app(tmp_path, "matrix")
    outcome = await execute("deploy", settings_for(emulator, app))
    assert outcome.status == "deployed"
    (rule,) = emulator.faults()
    assert rule["fired"] == 1, "the fault never happened: the call list is out of date"
    assert end_state(emulator, "matrix") == reference


@pytest.mark.parametrize("fault", ["524", "reset"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("POST", "/d1/database", id="create-database"),
        pytest.param("POST", "/d1/database/*/query", id="apply-schema"),
        pytest.param("PUT", "/workers/scripts/*", id="upload-worker"),
        pytest.param("POST", "/workers/assets/upload", id="upload-bucket"),
    ],
)
async def test_a_call_whose_answer_is_lost_after_it_was_done_is_not_done_twice(
    emulator: Emulator, tmp_path: Path, reference: dict[str, object], method: str, path: str, fault: str
) -> None:
    """The change happened but the answer was lost (an edge timeout): the retry must not duplicate it."""
    emulator.add_fault(fault, method=method, path=path, nth=1, times=1, after=True)
    app = named_app(tmp_path, "matrix")
    await execute("deploy", settings_for(emulator, app))
    assert end_state(emulator, "matrix") == reference


# The calls a forced redeploy makes after the reads (every write step), failing on every attempt.
REDEPLOY_WRITES = [
    pytest.param("GET", "/d1/database", id="find-database"),
    pytest.param("POST", "/d1/database/*/query", id="apply-schema"),
    pytest.param("POST", "/workers/scripts/*/assets-upload-session", id="open-session"),
    pytest.param("PUT", "/workers/scripts/*", id="upload-worker"),
    pytest.param("POST", "/workers/scripts/*/subdomain", id="enable-url"),
    pytest.param("PATCH", "/workers/scripts/*/script-settings", id="record-state"),
]


@pytest.mark.parametrize("fault", ["500", "502", "reset"])
@pytest.mark.parametrize(("method", "path"), REDEPLOY_WRITES)
async def test_a_call_failing_every_time_fails_clearly_and_keeps_the_live_version(
    emulator: Emulator, tmp_path: Path, method: str, path: str, fault: str
) -> None:
    app = named_app(tmp_path, "matrix")
    await execute("deploy", settings_for(emulator, app))
    with account_client(emulator) as api:
        bound = next(
            b["id"] for b in result(api.get("/workers/scripts/matrix/settings"))["bindings"] if b["type"] == "d1"
        )
        api.post(f"/d1/database/{bound}/query", json={"sql": "INSERT INTO items (name) VALUES ('kept')"})
        live = result(api.get("/workers/scripts/matrix/deployments"))["deployments"][0]["versions"][0]["version_id"]
    (app / "worker.js").write_text((app / "worker.js").read_text() + "\n// v2\n")
    emulator.add_fault(fault, method=method, path=path, times=-1)
    with pytest.raises(DeployError) as caught:
        await execute("deploy", settings_for(emulator, app), Options(force=True))
    message = str(caught.value)
    assert "Traceback" not in message
    if fault != "reset":
        assert "on Cloudflare's side" in message
    else:
        assert "Could not reach the Cloudflare API" in message
    emulator.clear_faults()
    with account_client(emulator) as api:
        deployments = result(api.get("/workers/scripts/matrix/deployments"))["deployments"]
        rows = result(api.post(f"/d1/database/{bound}/query", json={"sql": "SELECT name FROM items"}))[0]["results"]
    if method != "PUT" and path not in ("/workers/scripts/*/subdomain", "/workers/scripts/*/script-settings"):
        assert deployments[0]["versions"][0]["version_id"] == live  # the new version never went live
    assert rows == [{"name": "kept"}]


async def test_an_upload_session_whose_token_expired_is_opened_again(
    emulator: Emulator, tmp_path: Path, reference: dict[str, object]
) -> None:
    """The session's token is refused on the first bucket (it outlived its hour): a new session, then done."""
    emulator.add_fault("expire-tokens", times=1)
    app = named_app(tmp_path, "matrix")
    await execute("deploy", settings_for(emulator, app))
    sessions = [e for e in emulator.requests() if str(e["path"]).endswith("/assets-upload-session")]
    assert len(sessions) == 2
    assert end_state(emulator, "matrix") == reference


async def test_an_upload_token_refused_twice_says_to_deploy_again(emulator: Emulator, tmp_path: Path) -> None:
    emulator.add_fault("expire-tokens", times=2)
    app = named_app(tmp_path, "matrix")
    with pytest.raises(DeployError, match="refused the asset upload session's token") as caught:
        await execute("deploy", settings_for(emulator, app))
    assert "will not be sent twice" in str(caught.value)
