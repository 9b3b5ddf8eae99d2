"""wrangler 4.86, unmodified, deploys against the emulator (new Worker, then existing Worker).

Between the two deploys a secret is set through the API, as `wrangler secret put` does: wrangler's second deploy
(a version upload without `keep_bindings`, then a deployment) must leave it in place, as Cloudflare does.
The first deploy's `[triggers] crons` become the Worker's schedules (`PUT …/schedules`); the second deploy's
`crons = []` removes them (wrangler sends the empty list).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

from cfemu.launcher import Emulator
from devkit.example import REPO
from tests.emulator.helpers import account_client, create_database, result

WRANGLER = REPO / "node_modules" / ".bin" / "wrangler"

WORKER = """\
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/api/items") {
      const { results } = await env.DB.prepare("SELECT 1 AS x").all();
      return Response.json({ app: env.APP_NAME, results });
    }
    return env.ASSETS.fetch(request);
  },
};
"""

CONFIG = """\
name = "feas-worker"
main = "src/index.js"
compatibility_date = "2025-01-01"

[assets]
directory = "./public"
binding = "ASSETS"
html_handling = "auto-trailing-slash"
not_found_handling = "404-page"

[vars]
APP_NAME = "demo"

[triggers]
crons = ["*/5 * * * *", "0 17 * * sun"]

[[d1_databases]]
binding = "DB"
database_name = "feas-db"
database_id = "{database_id}"
"""


def _project(root: Path, database_id: str) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "public").mkdir()
    (root / "home").mkdir()
    (root / "src" / "index.js").write_text(WORKER)
    (root / "public" / "index.html").write_text("<!doctype html><h1>Items</h1>\n")
    (root / "public" / "app.js").write_text("console.log('app');\n")
    (root / "wrangler.toml").write_text(CONFIG.replace("{database_id}", database_id))
    return root


def _deploy(project: Path, emulator: Emulator) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOME": str(project / "home"),
        "CLOUDFLARE_API_BASE_URL": emulator.api_base_url,
        "CLOUDFLARE_API_TOKEN": emulator.api_token,
        "CLOUDFLARE_ACCOUNT_ID": emulator.account_id,
        "WRANGLER_SEND_METRICS": "false",
        "WRANGLER_SEND_ERROR_REPORTS": "false",
        "CI": "1",
    }
    env.pop("CLOUDFLARE_API_KEY", None)
    env.pop("CLOUDFLARE_EMAIL", None)
    return subprocess.run(
        [str(WRANGLER), "deploy"], cwd=project, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_wrangler_deploy_twice(emulator: Emulator, api: httpx.Client, tmp_path: Path) -> None:
    """`wrangler deploy` succeeds for a new Worker (PUT) and again for the existing one (versions + deployments),
    which keeps the secret set in between."""
    database_id = create_database(api, "feas-db")
    project = _project(tmp_path / "app", database_id)

    first = _deploy(project, emulator)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "https://feas-worker.demo.workers.dev" in first.stdout
    first_calls = {(e["method"], e["path"].split("/feas-worker")[-1]) for e in emulator.requests()}
    assert ("PUT", "") in first_calls
    secret = {"name": "API_KEY", "text": "set-between-deploys", "type": "secret_text"}
    result(api.put("/workers/scripts/feas-worker/secrets", json=secret))
    schedules = result(api.get("/workers/scripts/feas-worker/schedules"))["schedules"]
    assert [item["cron"] for item in schedules] == ["*/5 * * * *", "0 17 * * sun"]
    assert "schedule: 0 17 * * sun" in first.stdout
    config = project / "wrangler.toml"
    config.write_text(config.read_text().replace('crons = ["*/5 * * * *", "0 17 * * sun"]', "crons = []"))
    seq = emulator.last_seq()

    second = _deploy(project, emulator)
    assert second.returncode == 0, second.stdout + second.stderr
    second_calls = [(e["method"], e["path"].split("/feas-worker")[-1]) for e in emulator.requests(since=seq)]
    assert ("POST", "/versions") in second_calls
    assert ("POST", "/deployments") in second_calls
    assert ("PUT", "") not in second_calls
    assert ("PUT", "/schedules") in second_calls
    assert result(api.get("/workers/scripts/feas-worker/schedules")) == {"schedules": []}
    (upload,) = [e for e in emulator.requests(since=seq) if e["path"].endswith("/feas-worker/versions")]
    assert "keep_bindings" not in upload["form"]["metadata"]

    settings = result(api.get("/workers/scripts/feas-worker/settings"))
    assert {"type": "d1", "name": "DB", "id": database_id, "database_id": database_id} in settings["bindings"]
    assert {"type": "plain_text", "name": "APP_NAME", "text": "demo"} in settings["bindings"]
    assert {"type": "assets", "name": "ASSETS"} in settings["bindings"]
    assert {"name": "API_KEY", "type": "secret_text"} in settings["bindings"]
    assert result(api.get("/workers/scripts/feas-worker/secrets")) == [{"name": "API_KEY", "type": "secret_text"}]
    assert result(api.get("/workers/scripts/feas-worker/subdomain"))["enabled"] is True
    deployments = result(api.get("/workers/scripts/feas-worker/deployments"))["deployments"]
    assert len(deployments) == 3  # the two deploys and the secret change
    script = result(api.get("/workers/services/feas-worker"))["default_environment"]["script"]
    assert script["has_assets"] is True
    assert script["last_deployed_from"] == "wrangler"


def test_wrangler_deploy_to_an_account_without_a_subdomain_fails_at_the_upload(
    emulator_without_subdomain: Emulator, tmp_path: Path
) -> None:
    """A first `wrangler deploy` on an account with no workers.dev subdomain fails as issue workers-sdk#9045
    shows: the script upload is refused with code 10063 and its text, and no Worker is created."""
    emulator = emulator_without_subdomain
    with account_client(emulator) as api:
        project = _project(tmp_path / "app", create_database(api, "feas-db"))
        run = _deploy(project, emulator)
        assert result(api.get("/workers/scripts")) == []
    output = " ".join((run.stdout + run.stderr).split())
    assert run.returncode != 0
    upload = f"/accounts/{emulator.account_id}/workers/scripts/feas-worker"
    assert f"A request to the Cloudflare API ({upload}) failed" in output
    assert "You need a workers.dev subdomain in order to proceed." in output
    assert "[code: 10063]" in output
    refused = [e for e in emulator.requests() if e["status"] == 400]
    assert [(e["method"], e["path"].rsplit("/", 1)[-1]) for e in refused] == [("PUT", "feas-worker")]
