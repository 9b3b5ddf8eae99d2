"""Incremental deploys, counted from the emulator's request log: only what changed is sent."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx

from cfemu.launcher import Emulator, running_emulator
from devkit.cli import run_cli
from devkit.example import copy_example
from devkit.loopback import localhost_client
from tests.integration.deploying import api, run_deploy


def deploy_ok(emulator: Emulator, app: Path, *args: str) -> tuple[list[dict[str, object]], dict[str, str]]:
    """Deploy and return the requests it made and its outputs."""
    seq = emulator.last_seq()
    run = run_deploy(emulator, app, *args)
    assert run.returncode == 0, run.stderr
    return emulator.requests(since=seq), run.outputs


def asset_upload_bytes(log: list[dict[str, object]]) -> int:
    return sum(int(str(e["request_bytes"])) for e in log if str(e["path"]).endswith("/workers/assets/upload"))


def test_a_redeploy_with_no_change_makes_two_requests_and_uploads_nothing(emulator: Emulator, tmp_path: Path) -> None:
    """Nothing changed: at most 2 reads, no session, no Worker upload, 0 asset bytes; outputs still set."""
    app = copy_example(tmp_path)
    _, first = deploy_ok(emulator, app)
    log, outputs = deploy_ok(emulator, app)
    assert len(log) <= 2
    assert all(e["method"] == "GET" for e in log)
    assert asset_upload_bytes(log) == 0
    assert outputs["changed"] == "nothing"
    assert outputs["url"] == first["url"]
    assert outputs["database-id"] == first["database-id"]


def test_a_code_only_change_uploads_only_the_worker(tmp_path: Path) -> None:
    """worker.js changed: at most 3 requests, one Worker PUT, no session, 0 asset bytes; new code, old assets."""
    with running_emulator(tmp_path / "cfemu", run_workers=True) as emulator:
        check_code_only_change(emulator, tmp_path)


def check_code_only_change(emulator: Emulator, tmp_path: Path) -> None:
    app = copy_example(tmp_path)
    deploy_ok(emulator, app)
    worker = app / "worker.js"
    code = worker.read_text().replace("export default {", "const app = {", 1)
    worker.write_text(
        code + "\nexport default {\n  fetch(req, env, ctx) {\n"
        '    if (new URL(req.url).pathname === "/__version") return new Response("v2");\n'
        "    return app.fetch(req, env, ctx);\n  },\n};\n"
    )
    log, outputs = deploy_ok(emulator, app)
    assert len(log) <= 3
    assert [e["method"] for e in log if e["method"] != "GET"] == ["PUT"]
    assert not [e for e in log if "assets" in str(e["path"])]
    assert outputs["changed"] == "code"
    (put,) = [e for e in log if e["method"] == "PUT"]
    metadata = put["form"]["metadata"]  # type: ignore[index]
    assert metadata["keep_assets"] is True
    assert "assets" not in metadata  # wrangler's form: the kept assets keep their config too
    assert metadata["keep_bindings"] == ["secret_text", "secret_key"]
    deployed = api(emulator, "GET", "/workers/scripts")["result"]
    assert deployed[0]["has_assets"] is True
    with localhost_client(outputs["url"]) as browser:
        assert browser.get("/__version").text == "v2"
        gated = browser.get("/app.html")  # run_worker_first kept: the Worker still stands in front of the page
        assert (gated.status_code, gated.headers.get("location")) == (302, "/login.html")
        login = browser.get("/login.html")
        assert login.status_code == 200
        assert login.text == (app / "public" / "login.html").read_text()


def test_one_changed_file_of_two_thousand_uploads_only_that_file(emulator: Emulator, tmp_path: Path) -> None:
    """2,000 assets, one edited: one bucket upload carrying exactly that file (base64, plus form framing)."""
    app = copy_example(tmp_path)
    generated = app / "public" / "files"
    generated.mkdir()
    for index in range(1997):
        (generated / f"f{index:04}.txt").write_text(f"file {index}\n" * 20)
    _, _ = deploy_ok(emulator, app)
    changed = generated / "f1234.txt"
    changed.write_text("this file changed\n" * 50)
    log, outputs = deploy_ok(emulator, app)
    uploads = [e for e in log if str(e["path"]).endswith("/workers/assets/upload")]
    assert len(uploads) == 1
    encoded = len(base64.b64encode(changed.read_bytes()))
    (part,) = uploads[0]["form"]["parts"]  # type: ignore[index]
    assert part["size"] == encoded, "exactly the one file, base64-encoded"
    framing = int(str(uploads[0]["request_bytes"])) - encoded
    assert 0 < framing < 400, "and only multipart headers besides"
    assert outputs["changed"] == "assets"


def test_force_redeploys_everything(emulator: Emulator, tmp_path: Path) -> None:
    """--force uploads the Worker and enables workers.dev again although nothing changed."""
    app = copy_example(tmp_path)
    deploy_ok(emulator, app)
    log, _ = deploy_ok(emulator, app, "--force")
    writes = [f"{e['method']} {str(e['path']).rsplit('/', 1)[-1]}" for e in log if e["method"] != "GET"]
    assert "PUT items-app" in writes
    assert "POST subdomain" in writes
    assert not [e for e in log if e["method"] == "POST" and str(e["path"]).endswith("/d1/database")]


def test_a_schema_change_alone_applies_it_without_a_new_version(emulator: Emulator, tmp_path: Path) -> None:
    """A harmless schema.sql change: the database is read, a bookmark taken, the schema run again and the
    state recorded, with no Worker upload."""
    app = copy_example(tmp_path)
    deploy_ok(emulator, app)
    schema = app / "schema.sql"
    schema.write_text(schema.read_text() + "\nCREATE INDEX IF NOT EXISTS items_by_name ON items (name);\n")
    log, outputs = deploy_ok(emulator, app)
    assert outputs["changed"] == "schema"
    calls = [(e["method"], str(e["path"]).rsplit("/", 2)[-2:]) for e in log]
    assert [call for call in calls if call[0] != "GET"] == [
        ("POST", [outputs["database-id"], "query"]),  # what the database holds (a read)
        ("POST", [outputs["database-id"], "query"]),  # its d1_migrations ledger (a read)
        ("POST", [outputs["database-id"], "query"]),  # schema.sql
        ("PATCH", ["items-app", "script-settings"]),
    ]
    assert ("GET", ["time_travel", "bookmark"]) in calls and outputs["d1-bookmark"]
    again, outputs = deploy_ok(emulator, app)
    assert outputs["changed"] == "nothing"
    assert len(again) <= 2


def test_plan_reads_but_never_writes(emulator: Emulator, tmp_path: Path) -> None:
    """`plan` shows a first deploy, then 'nothing changed' after a deploy, without any write."""
    app = copy_example(tmp_path)
    before = run_cli(emulator, "plan", str(app))
    assert before.returncode == 0, before.stderr
    assert "items-app: first deploy (first-deploy)" in before.stdout
    assert "find or create the D1 database" in before.stdout
    assert [e for e in emulator.requests() if e["method"] != "GET"] == []
    missing = run_cli(emulator, "plan", str(app), "--name", "other-app")
    assert missing.returncode == 0, missing.stderr
    assert "has no value" not in missing.stderr  # the password is given here
    deploy_ok(emulator, app)
    after = run_cli(emulator, "plan", str(app))
    assert "nothing changed" in after.stdout


def test_plan_without_a_token_checks_the_app_locally(emulator: Emulator, tmp_path: Path) -> None:
    """Without credentials `plan` still reports the manifest and the local checks, and calls nothing."""
    app = copy_example(tmp_path)
    result = run_cli(None, "plan", str(app))
    assert result.returncode == 0, result.stderr
    assert "assets: 3 files" in result.stdout
    assert "remote: not read" in result.stdout
    assert emulator.requests() == []


def test_inspect_describes_a_deployed_app_without_secret_values(emulator: Emulator, tmp_path: Path) -> None:
    """`inspect` names bindings and types, the asset count, the D1 tables and the URL; never a secret value."""
    app = copy_example(tmp_path)
    _, outputs = deploy_ok(emulator, app)
    result = run_cli(emulator, "inspect", "--name", "items-app", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert {"name": "APP_PASSWORD", "type": "secret_text"} in report["bindings"]
    assert report["assets"]["files"] == 3
    assert f"digest {report['assets']['digest']}" in run_cli(emulator, "plan", str(app)).stdout
    (database,) = report["databases"]
    assert database["name"] == "items-app-db"
    assert database["id"] == outputs["database-id"]
    assert "items" in database["tables"]
    assert report["workers_dev"] == {"enabled": True, "url": outputs["url"]}
    assert "correct horse" not in result.stdout
    text = run_cli(emulator, "inspect", "--name", "items-app")
    assert "D1 DB: items-app-db" in text.stdout


def test_inspect_of_an_unknown_worker_says_so(emulator: Emulator) -> None:
    """An unknown name is a clear error, exit 1."""
    result = run_cli(emulator, "inspect", "--name", "nope")
    assert result.returncode == 1
    assert "No Worker named nope" in result.stderr


def test_a_renamed_database_is_refused_and_with_the_flag_gets_the_schema(emulator: Emulator, tmp_path: Path) -> None:
    """d1.name changed in app.yml: refused (the rows are in the old database), nothing written; with
    --allow-new-database the new database is created, given the schema, and bound."""
    app = copy_example(tmp_path)
    _, first = deploy_ok(emulator, app)
    app_yml = app / "app.yml"
    app_yml.write_text(app_yml.read_text().replace("name: items-app-db", "name: items-app-data"))
    seq = emulator.last_seq()
    refused = run_deploy(emulator, app)
    assert refused.returncode == 1
    assert (
        f"the Worker's DB binding is D1 database items-app-db ({first['database-id']}), which holds its current rows"
        in refused.stderr
    )
    assert [e for e in emulator.requests(since=seq) if e["method"] != "GET" and not _reads(e)] == []
    _, outputs = deploy_ok(emulator, app, "--allow-new-database")
    assert outputs["changed"] == "config" and outputs["database-id"] != first["database-id"]
    tables = api(
        emulator,
        "POST",
        f"/d1/database/{outputs['database-id']}/query",
        json={"sql": "SELECT name FROM sqlite_master WHERE type='table' AND name='items'"},
    )
    assert tables["result"][0]["results"] == [{"name": "items"}]


def _reads(entry: dict[str, object]) -> bool:
    """A D1 query that reads what the database holds (the deployer's only POST that writes nothing)."""
    body = entry.get("json")
    sql = str(body.get("sql", "")) if isinstance(body, dict) else ""
    return str(entry["path"]).endswith("/query") and sql.lstrip().upper().startswith("SELECT")


def test_a_setting_changed_elsewhere_is_put_back(emulator: Emulator, tmp_path: Path) -> None:
    """A variable added by another tool (the tags unchanged) is noticed and the Worker redeployed as configured."""
    app = copy_example(tmp_path)
    deploy_ok(emulator, app)
    settings = api(emulator, "GET", "/workers/scripts/items-app/settings")["result"]
    bindings = [b for b in settings["bindings"] if b["type"] not in ("secret_text",)]
    bindings.append({"type": "plain_text", "name": "MODE", "text": "edited-in-the-dashboard"})
    patched = httpx.patch(
        f"{emulator.api_base_url}/accounts/{emulator.account_id}/workers/scripts/items-app/settings",
        headers={"Authorization": f"Bearer {emulator.api_token}"},
        files={"settings": (None, json.dumps({"bindings": bindings}), "application/json")},
    )
    assert patched.json()["success"] is True, patched.text
    _, outputs = deploy_ok(emulator, app)
    # The PATCH replaced the bindings without the secrets, so the given password is re-sent as well.
    assert outputs["changed"] == "config,secrets"
    after = api(emulator, "GET", "/workers/scripts/items-app/settings")["result"]
    assert "MODE" not in {b["name"] for b in after["bindings"]}
