"""The API calls each kind of deploy makes, compared with a record taken before the command layer existed.

`api_calls.json` beside this file was recorded (by running this module with `RECORD_API_CALLS=1`) on the code
as it stood before issue 8 moved the commands into `deployer/commands/` and the bindings into one model. The
refactor promised the same requests; this test holds it to that, scenario by scenario: the method and path of
every call (ids replaced by `{id}`, sorted, because steps 1-2 and 3-4 run side by side), and for the Worker
upload the bindings (type and name), `keep_bindings`, `keep_assets` and which asset fields were sent.

A deliberate change of the requests a deploy makes re-records the file, and the diff shows it in review. Two
so far. Issue 9: a first or forced deploy records its state tags with one more call, `PATCH …/script-settings`,
after step 6, so that a deploy killed before the URL was enabled is redone in full by the next run. Issue 11:
a new database is claimed by creating wrangler's `d1_migrations` ledger first (two deploys filling it at once
cannot both run the seed), so a later read of that database reads the ledger too: one more `/query`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from cfemu.launcher import Emulator
from devkit.example import copy_example
from tests.integration.deploying import run_deploy

RECORD = Path(__file__).with_name("api_calls.json")
_ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _calls(entries: list[dict[str, Any]]) -> list[str]:
    calls: list[str] = []
    for entry in entries:
        path = _ID.sub("/{id}", str(entry["path"]))
        call = f"{entry['method']} {path}"
        form = entry.get("form") or {}
        metadata = form.get("metadata") if isinstance(form, dict) else None
        if entry["method"] == "PUT" and isinstance(metadata, dict):
            bindings = ",".join(f"{b['type']}:{b['name']}" for b in metadata.get("bindings", []))
            assets = sorted((metadata.get("assets") or {}).keys())
            call += (
                f" bindings=[{bindings}] keep_bindings={metadata.get('keep_bindings')}"
                f" keep_assets={metadata.get('keep_assets', False)} assets={assets}"
            )
        calls.append(call)
    return sorted(calls)


def _scenarios(emulator: Emulator, tmp_path: Path) -> dict[str, list[str]]:
    app = copy_example(tmp_path)
    seen: dict[str, list[str]] = {}

    def deploy(name: str, *args: str, env: dict[str, str] | None = None, command: str = "deploy") -> None:
        seq = emulator.last_seq()
        run = run_deploy(emulator, app, *args, env=env, command=command)
        assert run.returncode == 0, run.stderr
        seen[name] = _calls(emulator.requests(since=seq))

    deploy("first deploy")
    deploy("nothing changed")
    with (app / "worker.js").open("a", encoding="utf-8") as worker:
        worker.write("\n// a code change\n")
    deploy("code only")
    (app / "public" / "extra.txt").write_text("one more file\n", encoding="utf-8")
    deploy("one new asset")
    with (app / "schema.sql").open("a", encoding="utf-8") as schema:
        schema.write("\nCREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY);\n")
    deploy("schema only")
    deploy("a new var", "--var", "GREETING=hello")
    deploy("a new secret value", env={"APP_PASSWORD": "a different password"})
    deploy("forced", "--var", "GREETING=hello", "--force")
    deploy("plan", command="plan")
    deploy("inspect", command="inspect")
    return seen


def test_each_kind_of_deploy_makes_the_recorded_api_calls(emulator: Emulator, tmp_path: Path) -> None:
    seen = _scenarios(emulator, tmp_path)
    if os.environ.get("RECORD_API_CALLS") == "1":
        RECORD.write_text(json.dumps(seen, indent=2) + "\n", encoding="utf-8")
    recorded = json.loads(RECORD.read_text(encoding="utf-8"))
    assert seen == recorded
