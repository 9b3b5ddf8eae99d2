"""`deploy` and the app's assets: what the Worker upload says about them, an app without any, and the answers
of Cloudflare's upload session that the deployer must refuse (seen through a transport that edits them)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from cfemu.launcher import Emulator
from deployer.cloudflare import CloudflareClient
from deployer.commands import Options, execute
from deployer.commands import deploy as deploy_command
from deployer.commands.deploy import DeployResult
from deployer.errors import CloudflareError
from deployer.steps import Step
from tests.commands.conftest import settings_for

NOTHING_CHANGED = "Nothing was changed: the failure came before the first write."

Edit = Callable[[dict[str, Any]], None]


class EditingTransport(httpx.AsyncBaseTransport):
    """Sends every call to the emulator, and lets `edit` change the JSON answer of calls whose path ends so."""

    def __init__(self, path_suffix: str, edit: Edit) -> None:
        self._real = httpx.AsyncHTTPTransport()
        self._suffix = path_suffix
        self._edit = edit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._real.handle_async_request(request)
        if not request.url.path.endswith(self._suffix):
            return response
        body = json.loads(await response.aread())
        self._edit(body)
        return httpx.Response(response.status_code, json=body)

    async def aclose(self) -> None:
        await self._real.aclose()


async def deploy(emulator: Emulator, app: Path) -> DeployResult:
    outcome = await execute("deploy", settings_for(emulator, app))
    assert isinstance(outcome, DeployResult)
    return outcome


async def deploy_edited(emulator: Emulator, app: Path, path_suffix: str, edit: Edit) -> DeployResult:
    settings = settings_for(emulator, app)
    assert settings.api_token is not None and settings.account_id is not None
    async with (
        httpx.AsyncClient(transport=EditingTransport(path_suffix, edit)) as http,
        CloudflareClient(
            base_url=settings.api_base_url,
            api_token=settings.api_token.get_secret_value(),
            account_id=settings.account_id,
            http=http,
        ) as client,
    ):
        return await deploy_command.run(settings, client, Options())


def uploaded_metadata(emulator: Emulator) -> dict[str, Any]:
    (upload,) = [e for e in emulator.requests() if e["method"] == "PUT"]
    metadata: dict[str, Any] = upload["form"]["metadata"]
    return metadata


async def test_headers_and_redirects_files_go_into_the_asset_config_as_written(emulator: Emulator, app: Path) -> None:
    headers = "/*\n  X-Frame-Options: DENY\n"
    redirects = "/old /login.html 301\n"
    (app / "public" / "_headers").write_text(headers)
    (app / "public" / "_redirects").write_text(redirects)
    outcome = await deploy(emulator, app)
    assert uploaded_metadata(emulator)["assets"]["config"] == {
        "html_handling": "none",
        "not_found_handling": "none",
        "run_worker_first": True,
        "_headers": headers,
        "_redirects": redirects,
    }
    assert (outcome.asset_files, outcome.assets_uploaded) == (3, 3)  # the two files are config, not assets


async def test_an_app_without_public_deploys_a_worker_without_assets(emulator: Emulator, app: Path) -> None:
    shutil.rmtree(app / "public")
    outcome = await deploy(emulator, app)
    assert Step.ASSET_SESSION not in outcome.steps
    assert (outcome.asset_files, outcome.assets_uploaded, outcome.asset_bytes_uploaded) == (0, 0, 0)
    metadata = uploaded_metadata(emulator)
    assert "assets" not in metadata and "keep_assets" not in metadata
    assert "assets" not in [binding["type"] for binding in metadata["bindings"]]


async def test_a_session_asking_for_a_file_the_app_does_not_have_is_refused(emulator: Emulator, app: Path) -> None:
    await deploy(emulator, app)
    (app / "public" / "new.txt").write_text("hello")

    def ask_for_more(body: dict[str, Any]) -> None:
        body["result"]["buckets"][0].append("0" * 32)

    with pytest.raises(CloudflareError) as caught:
        await deploy_edited(emulator, app, "/assets-upload-session", ask_for_more)
    assert caught.value.message == "Cloudflare asked for 1 file(s) that are not in the manifest"
    assert caught.value.hint == NOTHING_CHANGED


async def test_uploads_that_end_without_a_completion_token_are_refused(emulator: Emulator, app: Path) -> None:
    await deploy(emulator, app)
    (app / "public" / "new.txt").write_text("hello")

    def drop_token(body: dict[str, Any]) -> None:
        body["result"]["jwt"] = None

    with pytest.raises(CloudflareError) as caught:
        await deploy_edited(emulator, app, "/workers/assets/upload", drop_token)
    assert caught.value.message == "Cloudflare accepted every asset bucket but sent no completion token"
    assert caught.value.hint == (
        f"Deploy again: files already uploaded are kept and will not be sent twice.\n{NOTHING_CHANGED}"
    )


async def test_an_asset_change_reads_no_database_and_applies_no_schema(emulator: Emulator, app: Path) -> None:
    """The database branch runs beside the assets, but the bound database and its schema are left alone."""
    await deploy(emulator, app)
    seq = emulator.last_seq()
    (app / "public" / "new.txt").write_text("hello")
    outcome = await deploy(emulator, app)
    assert outcome.steps == (Step.ASSET_SESSION, Step.ASSET_UPLOAD, Step.WORKER)
    assert (outcome.assets_uploaded, outcome.asset_bytes_uploaded, outcome.asset_files) == (1, 5, 4)
    assert outcome.database_created is False
    assert not [e for e in emulator.requests(since=seq) if "/d1/" in str(e["path"])]
