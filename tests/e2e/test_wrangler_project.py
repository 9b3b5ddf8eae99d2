"""A wrangler project deploys unchanged: examples/items-app with its wrangler.toml and no app.yml deploys,
redeploys with nothing uploaded, and passes the seed's checklist; what the deployer does not do is named first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cfemu.launcher import Emulator, running_emulator
from devkit.checklist import ApiAccess, format_results, run_checklist
from devkit.cli import run_cli
from devkit.example import APP_PASSWORD, copy_example
from devkit.loopback import localhost_client

# wrangler deploys take their secrets from a secrets file; here, as with app.yml's inputs, from the environment.
SECRETS = {"APP_PASSWORD": APP_PASSWORD, "SESSION_SECRET": "a-session-secret-for-the-wrangler-project"}


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    with running_emulator(tmp_path / "cfemu", run_workers=True) as emulator:
        yield emulator


def wrangler_project(tmp_path: Path) -> Path:
    app = copy_example(tmp_path)
    (app / "app.yml").unlink()
    return app


def test_the_example_deploys_from_its_wrangler_toml_like_from_its_app_yml(emu: Emulator, tmp_path: Path) -> None:
    app = wrangler_project(tmp_path)
    first = run_cli(emu, "deploy", str(app), env=SECRETS)
    assert first.returncode == 0, first.stderr
    assert "d1_databases.database_id is not used" in first.stderr
    url = first.stdout.strip()
    assert url == emu.workers_url("items-app")
    results = run_checklist(url, APP_PASSWORD, api=ApiAccess(emu.api_base_url, emu.account_id, emu.api_token))
    assert all(result.ok for result in results), format_results(results)

    seq = max((int(e["seq"]) for e in emu.requests()), default=0)
    again = run_cli(emu, "deploy", str(app), env=SECRETS)
    assert again.returncode == 0, again.stderr
    assert again.outputs["changed"] == "nothing"
    writes = [e for e in emu.requests() if int(e["seq"]) > seq and e["method"] != "GET"]
    assert writes == [], writes


def test_what_the_deployer_does_not_do_is_named_before_any_request(emu: Emulator, tmp_path: Path) -> None:
    app = wrangler_project(tmp_path)
    config = app / "wrangler.toml"  # a top-level key before the tables, a table after them
    text = config.read_text().replace('name = "items-app"\n', 'name = "items-app"\nroutes = ["example.com/*"]\n', 1)
    config.write_text(text + '\n[ai]\nbinding = "AI"\n')
    refused = run_cli(emu, "deploy", str(app), env=SECRETS)
    assert refused.returncode == 1
    assert "asks for what this deployer does not do" in refused.stderr
    assert "ai: the AI binding is not supported" in refused.stderr
    assert "routes: this deployer serves the app on workers.dev only" in refused.stderr
    assert emu.requests() == []


LAYOUT_WORKER = """export default {
  async fetch(req, env) {
    if (new URL(req.url).pathname === "/count") {
      const { results } = await env.DATA.prepare("SELECT count(*) AS n FROM notes").all();
      return Response.json(results[0]);
    }
    return env.STATIC.fetch(req);
  },
};
"""


def test_a_wrangler_layout_with_its_own_folders_and_binding_names(emu: Emulator, tmp_path: Path) -> None:
    """main in src/, assets in dist/ bound as STATIC, migrations in db/migrations, the database bound as DATA."""
    app = tmp_path / "layout-app"
    for folder in ("src", "dist", "db/migrations"):
        (app / folder).mkdir(parents=True)
    (app / "src" / "index.js").write_text(LAYOUT_WORKER)
    (app / "dist" / "index.html").write_text("<h1>from dist</h1>")
    (app / "db" / "migrations" / "0001_notes.sql").write_text("CREATE TABLE notes (id INTEGER PRIMARY KEY);\n")
    (app / "wrangler.jsonc").write_text(
        """{
  "name": "layout-app",
  "main": "src/index.js",
  "compatibility_date": "2025-01-01",
  // wrangler's own layout
  "assets": { "directory": "./dist", "binding": "STATIC" },
  "d1_databases": [{ "binding": "DATA", "database_name": "layout-db", "migrations_dir": "db/migrations" }],
}
"""
    )
    first = run_cli(emu, "deploy", str(app), env={"APP_PASSWORD": ""})
    assert first.returncode == 0, first.stderr
    assert first.outputs["migrations-applied"] == "0001_notes.sql"
    with localhost_client(first.outputs["url"]) as client:
        assert client.get("/").text == "<h1>from dist</h1>"
        assert client.get("/count").json() == {"n": 0}
    assert run_cli(emu, "deploy", str(app), env={"APP_PASSWORD": ""}).outputs["changed"] == "nothing"
