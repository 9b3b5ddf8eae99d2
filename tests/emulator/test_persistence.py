"""State survives a restart with the same data dir."""

from __future__ import annotations

from pathlib import Path

from cfemu.launcher import running_emulator
from tests.emulator.helpers import account_client, create_database, put_script, result, upload_assets


def test_state_survives_restart(tmp_path: Path) -> None:
    """D1 data, scripts, secrets, toggles, assets and the subdomain are all there after a restart."""
    data_dir = tmp_path / "state"
    with running_emulator(data_dir, subdomain=None) as emu, account_client(emu) as api:
        result(api.put("/workers/subdomain", json={"subdomain": "kept"}))
        uuid = create_database(api, "db")
        result(api.post(f"/d1/database/{uuid}/query", json={"sql": "CREATE TABLE t (v); INSERT INTO t VALUES (42)"}))
        jwt = upload_assets(emu, api, "app", {"/index.html": (b"hi", "text/html")})
        bindings = [{"type": "d1", "name": "DB", "id": uuid}]
        metadata = {"main_module": "index.js", "bindings": bindings, "assets": {"jwt": jwt}}
        result(put_script(api, "app", metadata))
        result(api.put("/workers/scripts/app/secrets", json={"name": "S", "text": "v", "type": "secret_text"}))
        result(api.post("/workers/scripts/app/subdomain", json={"enabled": True}))
    with running_emulator(data_dir, subdomain=None) as emu, account_client(emu) as api:
        assert result(api.get("/workers/subdomain")) == {"subdomain": "kept"}
        rows = result(api.post(f"/d1/database/{uuid}/query", json={"sql": "SELECT v FROM t"}))
        assert rows[0]["results"] == [{"v": 42}]
        assert result(api.get("/workers/scripts/app/secrets")) == [{"name": "S", "type": "secret_text"}]
        assert result(api.get("/workers/scripts/app/subdomain"))["enabled"] is True
        script = result(api.get("/workers/services/app"))["default_environment"]["script"]
        assert script["has_assets"] is True
        assert len(result(api.get("/workers/scripts/app/deployments"))["deployments"]) == 2


def test_completion_token_survives_restart(tmp_path: Path) -> None:
    """A completion token issued before a restart is still accepted after it."""
    data_dir = tmp_path / "state"
    with running_emulator(data_dir) as emu, account_client(emu) as api:
        jwt = upload_assets(emu, api, "app", {"/a.txt": (b"a", "text/plain")})
    with running_emulator(data_dir) as emu, account_client(emu) as api:
        assert result(put_script(api, "app", {"main_module": "index.js", "assets": {"jwt": jwt}}))["has_assets"]
