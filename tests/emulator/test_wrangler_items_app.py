"""wrangler 4.86, unmodified, deploys examples/items-app (its wrangler.toml) to cfemu, and the app answers.

This is the benchmark's precondition and our best evidence that cfemu speaks Cloudflare's API: the real
client, pointed at the emulator only by `CLOUDFLARE_API_BASE_URL`, creates the schema (`wrangler d1 execute
--remote`), deploys the Worker with its assets, D1 binding and secrets (`deploy --secrets-file`), and the
deployed app then runs in workerd behind the emulator's workers.dev host routing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from cfemu.launcher import Emulator
from devkit.example import EXAMPLE_APP, REPO
from devkit.loopback import localhost_client
from tests.emulator.helpers import account_client, create_database

WRANGLER = REPO / "node_modules" / ".bin" / "wrangler"
PASSWORD = "wrangler deployed this"


def run_wrangler(app: Path, emulator: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(app.parent / "home"),
        "CLOUDFLARE_API_BASE_URL": emulator.api_base_url,
        "CLOUDFLARE_API_TOKEN": emulator.api_token,
        "CLOUDFLARE_ACCOUNT_ID": emulator.account_id,
        "WRANGLER_SEND_METRICS": "false",
        "WRANGLER_SEND_ERROR_REPORTS": "false",
        "CI": "1",
    }
    return subprocess.run(
        [str(WRANGLER), *args], cwd=app, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def wrangler_app(tmp_path: Path, database_id: str) -> Path:
    app = tmp_path / "items-app"
    shutil.copytree(EXAMPLE_APP, app)
    toml = app / "wrangler.toml"
    text, count = re.subn(r'^database_id = ".*"$', f'database_id = "{database_id}"', toml.read_text(), flags=re.M)
    assert count == 1
    toml.write_text(text)
    secrets = {"APP_PASSWORD": PASSWORD, "SESSION_SECRET": "s" * 48}
    (tmp_path / "secrets.json").write_text(json.dumps(secrets))
    return app


def test_wrangler_deploys_the_example_app_and_it_answers(emulator_with_workers: Emulator, tmp_path: Path) -> None:
    emulator = emulator_with_workers
    with account_client(emulator) as api:
        database_id = create_database(api, "items-app-db")
    app = wrangler_app(tmp_path, database_id)

    schema = run_wrangler(
        app,
        emulator,
        "d1",
        "execute",
        "items-app-db",
        "--remote",
        "-y",
        "--command=" + (app / "schema.sql").read_text(),
    )
    assert schema.returncode == 0, schema.stdout + schema.stderr
    deployed = run_wrangler(app, emulator, "deploy", "--secrets-file", str(tmp_path / "secrets.json"))
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "https://items-app.demo.workers.dev" in deployed.stdout

    upload = next(e for e in emulator.requests() if e["method"] == "PUT" and e["path"].endswith("/scripts/items-app"))
    assert upload["status"] == 200

    with localhost_client(emulator.workers_url("items-app")) as client:
        gated = client.get("/app.js")  # an asset, still behind the login (run_worker_first)
        assert (gated.status_code, gated.headers["location"]) == (302, "/login.html")
        login_page = client.get("/login.html")
        assert login_page.status_code == 200
        assert 'name="password"' in login_page.text
        wrong = client.post("/login", data={"password": "nope"})
        assert wrong.headers["location"] == "/login.html?error=1"
        signed_in = client.post("/login", data={"password": PASSWORD})
        assert (signed_in.status_code, signed_in.headers["location"]) == (302, "/")
        created = client.post("/api/items", json={"name": "deployed by wrangler"})
        assert created.status_code == 201, created.text
        items = client.get("/api/items").json()
        assert [item["name"] for item in items] == ["deployed by wrangler"]
        page = client.get("/")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
