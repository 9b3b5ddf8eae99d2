"""What a deployed app is, as the account shows it: compared across runs by the reliability tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cfemu.launcher import Emulator
from deployer.settings import Settings
from devkit.cli import emulator_environment
from devkit.example import copy_example
from tests.emulator.helpers import account_client, result


def named_app(parent: Path, script: str) -> Path:
    """A copy of the example app deployed as `script` with its own database `{script}-db`."""
    app = copy_example(parent, script)
    text = (app / "app.yml").read_text()
    (app / "app.yml").write_text(text.replace("name: items-app\n", "").replace("  name: items-app-db\n", ""))
    return app


def settings_for(emulator: Emulator, app: Path) -> Settings:
    return Settings.load(cli={"app_dir": app}, environ=emulator_environment(emulator))


def end_state(emulator: Emulator, script: str) -> dict[str, Any]:
    """The Worker's bindings, state tags, assets and URL toggle, and its database (how many, tables, rows)."""
    with account_client(emulator) as api:
        settings = result(api.get(f"/workers/scripts/{script}/settings"))
        databases = [d for d in result(api.get("/d1/database")) if d["name"] == f"{script}-db"]
        bound = next(b["id"] for b in settings["bindings"] if b["type"] == "d1")
        tables = result(
            api.post(
                f"/d1/database/{bound}/query",
                json={"sql": "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE '_cf_%' ORDER BY 1"},
            )
        )[0]["results"]
        rows = result(api.post(f"/d1/database/{bound}/query", json={"sql": "SELECT name FROM items ORDER BY id"}))
        toggle = result(api.get(f"/workers/scripts/{script}/subdomain"))
        scripts = {s["id"]: s for s in result(api.get("/workers/scripts"))}
    return {
        "bindings": sorted((b["type"], b["name"]) for b in settings["bindings"]),
        "tags": sorted(settings.get("tags") or []),
        "has_assets": scripts[script]["has_assets"],
        "databases": len(databases),
        "bound_to_that_database": [d["uuid"] for d in databases] == [bound],
        "tables": [t["name"] for t in tables],
        "rows": [r["name"] for r in rows[0]["results"]],
        "workers_dev": toggle["enabled"],
    }
