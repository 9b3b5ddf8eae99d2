"""Deploying the example app to cfemu, read back from the emulator's request log and API."""

from __future__ import annotations

import json
from pathlib import Path

from cfemu.launcher import Emulator
from deployer.manifest import build_manifest
from devkit.example import EXAMPLE_APP, copy_example
from tests.integration.deploying import api, run_deploy, writes


def calls(entries: list[dict[str, object]], method: str, suffix: str) -> list[dict[str, object]]:
    return [e for e in entries if e["method"] == method and str(e["path"]).endswith(suffix)]


def test_first_deploy_runs_the_six_steps_and_the_second_changes_nothing_it_need_not(
    emulator: Emulator, tmp_path: Path
) -> None:
    """Deploy twice: one database, the schema, every asset, the Worker, the URL; then no database and 0 bytes."""
    app = copy_example(tmp_path)
    first = run_deploy(emulator, app)
    assert first.returncode == 0, first.stderr
    log1 = emulator.requests()

    account = f"/client/v4/accounts/{emulator.account_id}"
    assert len(calls(log1, "POST", "/d1/database")) == 1
    database_id = first.outputs["database-id"]
    schema_calls = calls(log1, "POST", f"/d1/database/{database_id}/query")
    assert len(schema_calls) == 1
    assert "CREATE TABLE IF NOT EXISTS items" in json.dumps(schema_calls[0]["json"])
    (session,) = calls(log1, "POST", "/workers/scripts/items-app/assets-upload-session")
    manifest = build_manifest(EXAMPLE_APP / "public")
    assert session["json"] == {"manifest": manifest.as_upload_manifest()}
    uploads = calls(log1, "POST", "/workers/assets/upload")
    assert uploads, "every asset is new on the first deploy"
    assert sum(int(str(u["request_bytes"])) for u in uploads) >= manifest.total_bytes
    assert len(calls(log1, "PUT", f"{account}/workers/scripts/items-app")) == 1
    assert len(calls(log1, "POST", "/workers/scripts/items-app/subdomain")) == 1
    port = emulator.root_url.rsplit(":", 1)[1]
    assert first.outputs["url"] == f"http://items-app.demo.workers.dev.localhost:{port}"
    assert first.outputs["script-name"] == "items-app"
    assert first.stdout.strip() == first.outputs["url"]

    databases = api(emulator, "GET", "/d1/database")["result"]
    assert [d["name"] for d in databases] == ["items-app-db"]
    tables = api(
        emulator,
        "POST",
        f"/d1/database/{database_id}/query",
        json={"sql": "SELECT name FROM sqlite_master WHERE type='table' AND name='items'"},
    )
    assert tables["result"][0]["results"] == [{"name": "items"}]
    assert api(emulator, "GET", "/workers/scripts/items-app/subdomain")["result"]["enabled"] is True

    seq = emulator.last_seq()
    second = run_deploy(emulator, app)
    assert second.returncode == 0, second.stderr
    log2 = emulator.requests(since=seq)
    assert calls(log2, "POST", "/d1/database") == []
    assert calls(log2, "POST", "/workers/assets/upload") == []
    assert second.outputs["database-id"] == database_id
    assert [d["name"] for d in api(emulator, "GET", "/d1/database")["result"]] == ["items-app-db"]


def test_the_worker_gets_its_bindings_and_secrets_are_kept_across_deploys(emulator: Emulator, tmp_path: Path) -> None:
    """Bindings: D1 by id, the secrets, assets; a later deploy without secret values keeps them."""
    app = copy_example(tmp_path)
    first = run_deploy(emulator, app, "--var", "GREETING=hello")
    assert first.returncode == 0, first.stderr
    (put,) = [e for e in emulator.requests() if e["method"] == "PUT" and str(e["path"]).endswith("/items-app")]
    assert put["json"] is None  # multipart, not JSON
    form = put["form"]
    assert [(p["name"], p["filename"], p["content_type"]) for p in form["parts"]] == [
        ("metadata", None, "application/json"),
        ("worker.js", "worker.js", "application/javascript+module"),
    ]
    metadata = form["metadata"]
    assert metadata["main_module"] == "worker.js"
    assert metadata["compatibility_date"] == "2025-01-01"
    assert metadata["assets"]["config"]["html_handling"] == "none"
    assert metadata["assets"]["config"]["run_worker_first"] is True
    assert "jwt" in metadata["assets"]
    assert {"type": "secret_text", "name": "APP_PASSWORD", "text": "<redacted>"} in metadata["bindings"]

    settings = api(emulator, "GET", "/workers/scripts/items-app/settings")["result"]
    by_name = {b["name"]: b for b in settings["bindings"]}
    assert by_name["DB"]["type"] == "d1"
    assert by_name["GREETING"] == {"name": "GREETING", "type": "plain_text", "text": "hello"}
    assert by_name["APP_PASSWORD"]["type"] == "secret_text"
    assert by_name["SESSION_SECRET"]["type"] == "secret_text"  # generated on the first deploy
    assert by_name["ASSETS"]["type"] == "assets"
    assert "text" not in by_name["APP_PASSWORD"]

    second = run_deploy(emulator, app, env={"APP_PASSWORD": ""})
    assert second.returncode == 0, second.stderr
    secrets = api(emulator, "GET", "/workers/scripts/items-app/secrets")["result"]
    assert sorted(s["name"] for s in secrets) == ["APP_PASSWORD", "SESSION_SECRET"]


def test_a_missing_password_on_the_first_deploy_stops_before_any_write(emulator: Emulator, tmp_path: Path) -> None:
    """APP_PASSWORD has no value and the Worker has none: a clear error, and nothing was created."""
    app = copy_example(tmp_path)
    run = run_deploy(emulator, app, env={"APP_PASSWORD": ""})
    assert run.returncode == 1
    assert "APP_PASSWORD" in run.stderr
    assert "input app-password" in run.stderr
    assert writes(emulator.requests()) == []


def test_an_account_without_workers_subdomain_is_told_to_claim_it(
    emulator_without_subdomain: Emulator, tmp_path: Path
) -> None:
    """10007 on the account subdomain: the exact claim call, exit 1, nothing written."""
    app = copy_example(tmp_path)
    run = run_deploy(emulator_without_subdomain, app)
    assert run.returncode == 1
    assert "Claim your workers.dev subdomain first" in run.stderr
    assert "/workers/subdomain" in run.stderr
    assert writes(emulator_without_subdomain.requests()) == []


def test_a_bad_token_is_reported_and_nothing_is_written(emulator: Emulator, tmp_path: Path) -> None:
    """A token Cloudflare does not accept: a message about the token, exit 1, no writes, token not echoed."""
    app = copy_example(tmp_path)
    run = run_deploy(emulator, app, token="wrong-token-value")
    assert run.returncode == 1
    assert "Cloudflare rejected the API token" in run.stderr
    assert "wrong-token-value" not in run.stderr + run.stdout
    assert writes(emulator.requests()) == []


def test_bad_sql_in_schema_names_the_file_and_stops_before_the_worker(emulator: Emulator, tmp_path: Path) -> None:
    """7500 from D1: the message names schema.sql and D1's text; no Worker is uploaded or enabled after it."""
    app = copy_example(tmp_path)
    (app / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY);\nCREAT TABLE x;\n")
    run = run_deploy(emulator, app)
    assert run.returncode == 1
    assert "schema.sql line 2 failed on D1 database items-app-db in `CREAT TABLE x`" in run.stderr
    assert "SQLITE_ERROR" in run.stderr
    assert "code: 7500" in run.stderr
    log = emulator.requests()
    failing = next(e for e in log if str(e["path"]).endswith("/query") and e["status"] == 400)
    after = [e for e in log if int(e["seq"]) > int(failing["seq"])]
    # Asset files may still be arriving in the content store (they serve nothing until a Worker uses them).
    # What follows is one read: the database is read again to tell bad SQL from a concurrent deploy's change.
    rest = [e for e in after if "/assets" not in str(e["path"])]
    assert [(str(e["path"]).rsplit("/", 1)[-1], e["status"]) for e in rest] == [("query", 200)]
    assert str(rest[0]["json"]["sql"]).startswith("SELECT type, name, sql FROM sqlite_master")
    assert api(emulator, "GET", "/workers/scripts")["result"] == []


def test_a_binding_cloudflare_refuses_leaves_the_live_version_serving(emulator: Emulator, tmp_path: Path) -> None:
    """10021 on the Worker upload (its D1 database was deleted in the dashboard meanwhile): the API's text, exit 1,
    the live version and its bindings unchanged. (A clash the deployer can see is refused before any write.)"""
    app = copy_example(tmp_path)
    first = run_deploy(emulator, app)
    assert first.returncode == 0
    api(emulator, "DELETE", f"/d1/database/{first.outputs['database-id']}")
    before = api(emulator, "GET", "/workers/scripts/items-app/settings")["result"]
    seq = emulator.last_seq()

    with (app / "worker.js").open("a", encoding="utf-8") as worker:
        worker.write("\n// a code change\n")
    run = run_deploy(emulator, app)
    assert run.returncode == 1
    assert "Cloudflare refused the upload" in run.stderr
    assert "code: 10021" in run.stderr
    log = emulator.requests(since=seq)
    refused = next(e for e in log if e["method"] == "PUT" and e["status"] == 400)
    assert [e for e in log if int(e["seq"]) > int(refused["seq"])] == []
    assert api(emulator, "GET", "/workers/scripts/items-app/settings")["result"] == before


def test_headers_and_redirects_travel_in_the_asset_config(emulator: Emulator, tmp_path: Path) -> None:
    """`public/_headers` and `_redirects` are not assets: their text goes into `assets.config` of the Worker."""
    app = copy_example(tmp_path)
    (app / "public" / "_headers").write_text("/app.js\n  Cache-Control: no-store\n")
    (app / "public" / "_redirects").write_text("/old /app.html 301\n")
    run = run_deploy(emulator, app)
    assert run.returncode == 0, run.stderr
    (upload,) = [e for e in emulator.requests() if e["method"] == "PUT"]
    config = upload["form"]["metadata"]["assets"]["config"]
    assert config["_headers"] == "/app.js\n  Cache-Control: no-store\n"
    assert config["_redirects"] == "/old /app.html 301\n"
    session = next(e for e in emulator.requests() if str(e["path"]).endswith("/assets-upload-session"))
    assert "/_headers" not in session["json"]["manifest"]
