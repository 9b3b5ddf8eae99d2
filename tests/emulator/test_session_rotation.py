"""A graceful rotation of the example app's SESSION_SECRET, the way the deployer makes it, against the real Worker.

The app is deployed through the API (D1 schema, assets, the Worker with its secrets) to a cfemu that runs it in
workerd. Rotating is one settings PATCH: every binding inherited, SESSION_SECRET_PREVIOUS inherited from
SESSION_SECRET (`old_name`) and a new SESSION_SECRET. Sessions signed with the old key then still work; a later
PATCH without SESSION_SECRET_PREVIOUS ends them.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from cfemu.launcher import Emulator
from devkit.example import APP_PASSWORD, EXAMPLE_APP, EXAMPLE_SCRIPT
from devkit.loopback import localhost_client
from tests.emulator.helpers import account_client, create_database, put_script, result, upload_assets
from tests.runtime.helpers import ASSET_TYPES

SECRET_A = "rotation-test-session-secret-A-5f1c9e07d2b84a36"
SECRET_B = "rotation-test-session-secret-B-93ad60e4c71f28b5"
ASSET_CONFIG = {"html_handling": "none", "not_found_handling": "none", "run_worker_first": True}
KEPT = [{"type": "inherit", "name": name} for name in ("DB", "APP_PASSWORD", "ASSETS")]


def _deploy_items_app(emulator: Emulator, api: httpx.Client) -> None:
    """The example app with SESSION_SECRET=A, on workers.dev, as a deploy would leave it."""
    database_id = create_database(api, "items-app-db")
    result(api.post(f"/d1/database/{database_id}/query", json={"sql": (EXAMPLE_APP / "schema.sql").read_text()}))
    files = {
        path: ((EXAMPLE_APP / "public" / path.lstrip("/")).read_bytes(), content_type)
        for path, content_type in ASSET_TYPES.items()
    }
    jwt = upload_assets(emulator, api, EXAMPLE_SCRIPT, files)
    metadata = {
        "main_module": "worker.js",
        "compatibility_date": "2025-01-01",
        "bindings": [
            {"type": "d1", "name": "DB", "id": database_id},
            {"type": "secret_text", "name": "APP_PASSWORD", "text": APP_PASSWORD},
            {"type": "secret_text", "name": "SESSION_SECRET", "text": SECRET_A},
            {"type": "assets", "name": "ASSETS"},
        ],
        "assets": {"jwt": jwt, "config": ASSET_CONFIG},
    }
    modules = {"worker.js": ((EXAMPLE_APP / "worker.js").read_bytes(), "application/javascript+module")}
    result(put_script(api, EXAMPLE_SCRIPT, metadata, modules))
    result(api.post(f"/workers/scripts/{EXAMPLE_SCRIPT}/subdomain", json={"enabled": True}))


def _patch_bindings(api: httpx.Client, bindings: list[dict[str, Any]]) -> list[str]:
    """PATCH the Worker's settings with `bindings` (multipart, as the deployer sends it); the names it then has."""
    body = json.dumps({"bindings": bindings})
    settings = result(api.patch(f"/workers/scripts/{EXAMPLE_SCRIPT}/settings", files={"settings": (None, body)}))
    return sorted(binding["name"] for binding in settings["bindings"])


def _sign_in(app: httpx.Client) -> str:
    """`app_session=…` from a sign-in with the password."""
    response = app.post("/login", data={"password": APP_PASSWORD})
    assert (response.status_code, response.headers["location"]) == (302, "/")
    cookie = response.headers["set-cookie"].split(";", 1)[0]
    assert cookie.startswith("app_session=")
    return cookie


def _items_status(app: httpx.Client, cookie: str) -> int:
    return app.get("/api/items", headers={"Cookie": cookie}).status_code


def _tampered(cookie: str) -> str:
    """`cookie` with the first character of its signature changed (a character that carries six bits)."""
    head, sig = cookie.rsplit(".", 1)
    return f"{head}.{'B' if sig[0] == 'A' else 'A'}{sig[1:]}"


def test_a_graceful_rotation_keeps_old_sessions_until_the_next_one(emulator_with_workers: Emulator) -> None:
    emulator = emulator_with_workers
    with (
        account_client(emulator) as api,
        localhost_client(emulator.workers_url(EXAMPLE_SCRIPT), keep_cookies=False) as app,
    ):
        _deploy_items_app(emulator, api)
        old = _sign_in(app)
        assert _items_status(app, old) == 200
        assert _items_status(app, _tampered(old)) == 401

        graceful = [
            *KEPT,
            {"type": "inherit", "name": "SESSION_SECRET_PREVIOUS", "old_name": "SESSION_SECRET"},
            {"type": "secret_text", "name": "SESSION_SECRET", "text": SECRET_B},
        ]
        names = _patch_bindings(api, graceful)
        assert names == ["APP_PASSWORD", "ASSETS", "DB", "SESSION_SECRET", "SESSION_SECRET_PREVIOUS"]
        assert _items_status(app, old) == 200  # signed with A, now SESSION_SECRET_PREVIOUS
        assert _items_status(app, _tampered(old)) == 401
        new = _sign_in(app)
        assert new != old
        assert _items_status(app, new) == 200  # signed with B

        names = _patch_bindings(api, [*KEPT, {"type": "inherit", "name": "SESSION_SECRET"}])
        assert names == ["APP_PASSWORD", "ASSETS", "DB", "SESSION_SECRET"]
        assert _items_status(app, old) == 401
        assert _items_status(app, new) == 200
        assert _items_status(app, _sign_in(app)) == 200
