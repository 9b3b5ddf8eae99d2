"""The runtime seam: uploads commit only after the runtime activates the new version.

These tests run the app in-process (httpx's ASGI transport) because they swap in a test runtime, which a
`python -m cfemu serve` subprocess cannot take.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from cfemu.context import EmulatorConfig
from cfemu.runtime import RuntimeResult, ScriptState, WorkerStartupError
from cfemu.server import create_app

ACCOUNT = "0123456789abcdef0123456789abcdef"
TOKEN = "test-token-not-secret"


class RecordingRuntime:
    """Fails to start code containing "BOOM"; records every call."""

    def __init__(self) -> None:
        self.activated: list[ScriptState] = []
        self.stopped: list[str] = []

    async def activate(self, state: ScriptState) -> RuntimeResult:
        """Refuse code containing BOOM, otherwise report a startup time and handlers."""
        code = b"".join(module.content for module in state.modules)
        if b"BOOM" in code:
            raise WorkerStartupError("Uncaught Error: BOOM at index.js:1")
        self.activated.append(state)
        return RuntimeResult(startup_time_ms=7, handlers=("fetch", "scheduled"))

    async def stop(self, script_name: str) -> None:
        """Record the stop."""
        self.stopped.append(script_name)

    async def close(self) -> None:
        """Nothing to close."""


@pytest.fixture
def runtime() -> RecordingRuntime:
    """A fresh recording runtime."""
    return RecordingRuntime()


@pytest.fixture
async def client(tmp_path: Path, runtime: RecordingRuntime) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for an app using `runtime`."""
    config = EmulatorConfig(
        host="127.0.0.1", port=0, data_dir=tmp_path, account_id=ACCOUNT, api_token=TOKEN, subdomain="demo"
    )
    app = create_app(config, runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url=f"http://cfemu/client/v4/accounts/{ACCOUNT}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as http:
        yield http
    app.state.ctx.store.close()


def _form(code: bytes) -> dict[str, tuple[str | None, bytes | str, str] | tuple[None, str]]:
    return {
        "metadata": (
            None,
            json.dumps({"main_module": "index.js", "bindings": [{"type": "secret_text", "name": "S", "text": "v"}]}),
        ),
        "index.js": ("index.js", code, "application/javascript+module"),
    }


async def test_activation_result_is_reported(client: httpx.AsyncClient, runtime: RecordingRuntime) -> None:
    """The runtime sees the new version with secrets, and its startup time and handlers are returned."""
    body = (await client.put("/workers/scripts/app", files=_form(b"export default {}"))).json()
    assert body["result"]["startup_time_ms"] == 7
    assert body["result"]["handlers"] == ["fetch", "scheduled"]
    assert runtime.activated[0].bindings == ({"type": "secret_text", "name": "S", "text": "v"},)


async def test_startup_error_is_10021_and_nothing_is_committed(client: httpx.AsyncClient) -> None:
    """A startup failure answers 400/10021 with the runtime's message and stores no version."""
    response = await client.put("/workers/scripts/app", files=_form(b"throw new Error('BOOM')"))
    assert response.status_code == 400
    assert response.json()["errors"] == [{"code": 10021, "message": "Uncaught Error: BOOM at index.js:1"}]
    assert (await client.get("/workers/scripts/app/settings")).status_code == 404


async def test_failed_redeploy_keeps_previous_version(client: httpx.AsyncClient) -> None:
    """A failing second upload leaves the first version deployed."""
    await client.put("/workers/scripts/app", files=_form(b"export default {}"))
    assert (await client.put("/workers/scripts/app", files=_form(b"BOOM"))).status_code == 400
    deployments = (await client.get("/workers/scripts/app/deployments")).json()["result"]["deployments"]
    assert len(deployments) == 1
    assert (await client.get("/workers/scripts/app")).content.count(b"BOOM") == 0


async def test_delete_stops_the_script(client: httpx.AsyncClient, runtime: RecordingRuntime) -> None:
    """Deleting a script tells the runtime to stop it."""
    await client.put("/workers/scripts/app", files=_form(b"export default {}"))
    await client.delete("/workers/scripts/app")
    assert runtime.stopped == ["app"]


async def test_secret_change_activates_new_version(client: httpx.AsyncClient, runtime: RecordingRuntime) -> None:
    """A secret change activates a version carrying the new secret value."""
    await client.put("/workers/scripts/app", files=_form(b"export default {}"))
    await client.put("/workers/scripts/app/secrets", json={"name": "S", "text": "rotated", "type": "secret_text"})
    assert runtime.activated[-1].bindings == ({"type": "secret_text", "name": "S", "text": "rotated"},)


class BrokenRuntime(RecordingRuntime):
    """A runtime with a bug: activate raises an unexpected exception."""

    async def activate(self, state: ScriptState) -> RuntimeResult:
        """Fail unexpectedly."""
        raise RuntimeError("internal detail that must not leak")


async def test_unexpected_error_is_500_envelope_without_traceback(tmp_path: Path) -> None:
    """An unexpected server error answers HTTP 500 code 10013 and leaks no internals."""
    config = EmulatorConfig(
        host="127.0.0.1", port=0, data_dir=tmp_path, account_id=ACCOUNT, api_token=TOKEN, subdomain="demo"
    )
    app = create_app(config, runtime=BrokenRuntime())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport,
        base_url=f"http://cfemu/client/v4/accounts/{ACCOUNT}",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as http:
        response = await http.put("/workers/scripts/app", files=_form(b"export default {}"))
    app.state.ctx.store.close()
    assert response.status_code == 500
    assert response.json()["errors"] == [{"code": 10013, "message": "An unknown error has occurred"}]
    assert "internal detail" not in response.text
