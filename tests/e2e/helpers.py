"""Deploying the example app with the real CLI to a cfemu that runs Workers, and talking to it."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cfemu.launcher import Emulator
from devkit.checklist import ApiAccess
from devkit.example import APP_PASSWORD, EXAMPLE_SCRIPT, copy_example
from devkit.loopback import localhost_client
from tests.emulator.helpers import account_client, result
from tests.integration.deploying import run_deploy

__all__ = [
    "APP_PASSWORD",
    "DeployedApp",
    "deploy",
    "deploy_example",
    "deployed_version_id",
    "edited_copy",
    "sign_in",
]


@dataclass(frozen=True)
class DeployedApp:
    """The example app, deployed by the CLI to a running cfemu."""

    emu: Emulator
    app_dir: Path
    url: str
    password: str = APP_PASSWORD

    def api_access(self) -> ApiAccess:
        """The emulator's API, for the checklist's control-plane checks."""
        return ApiAccess(self.emu.api_base_url, self.emu.account_id, self.emu.api_token)

    def api(self) -> httpx.Client:
        """An authenticated client rooted at the emulated account."""
        return account_client(self.emu)

    def client(self) -> httpx.Client:
        """A browser-like client for the app (loopback connection, cookie jar, no redirects followed)."""
        return localhost_client(self.url)

    def query(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """Run `sql` through the D1 `/query` endpoint on the app's database; the rows of its one statement."""
        with self.api() as api:
            bindings = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/settings"))["bindings"]
            database_id = next(b["id"] for b in bindings if b["type"] == "d1")
            answer = result(api.post(f"/d1/database/{database_id}/query", json={"sql": sql, "params": list(params)}))
        rows: list[dict[str, Any]] = answer[0]["results"]
        return rows


def deploy(emu: Emulator, app_dir: Path) -> str:
    """Deploy `app_dir` with `python -m deployer deploy`; return the URL it prints (asserting success)."""
    run = run_deploy(emu, app_dir, verify=True)  # these emulators run the Worker: check it for real
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def deploy_example(emu: Emulator, root: Path) -> DeployedApp:
    """Copy examples/items-app under `root` and deploy it."""
    app_dir = copy_example(root)
    return DeployedApp(emu=emu, app_dir=app_dir, url=deploy(emu, app_dir))


def edited_copy(app_dir: Path, target: Path, *, append: dict[str, str]) -> Path:
    """A copy of `app_dir` at `target` with text appended to some of its files ({relative path: text})."""
    shutil.copytree(app_dir, target)
    for relative, text in append.items():
        with (target / relative).open("a", encoding="utf-8") as file:
            file.write(text)
    return target


def deployed_version_id(app: DeployedApp) -> str:
    """The id of the version the live deployment of the app serves."""
    with app.api() as api:
        deployments = result(api.get(f"/workers/scripts/{EXAMPLE_SCRIPT}/deployments"))["deployments"]
    return str(deployments[0]["versions"][0]["version_id"])


def sign_in(client: httpx.Client, password: str = APP_PASSWORD) -> None:
    """Sign `client` in through POST /login (its cookie jar keeps the session)."""
    response = client.post("/login", data={"password": password})
    assert (response.status_code, response.headers.get("location")) == (302, "/"), response.text
