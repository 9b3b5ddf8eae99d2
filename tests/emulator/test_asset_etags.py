"""Assets served by a running Worker carry Cloudflare's ETag: the upload manifest's hash of the file, quoted.

See `cfemu/supervisor_assets.mjs` for the source (the asset worker's `ETag: "<content hash>"`) and how miniflare is
made to use the upload's hashes instead of its own (a hash of each file's path and mtime).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from cfemu.launcher import Emulator
from devkit.loopback import localhost_client
from tests.emulator.helpers import account_client, asset_hash, put_script, result, upload_assets

PAGE = b"<!doctype html><h1>Items</h1>\n"
SCRIPT = b"console.log('app');\n"
# The same bytes under two names: one stored file, one hash (the helper salts with the extension, both .txt).
TWIN = b"same bytes\n"
FILES = {
    "/index.html": (PAGE, "text/html; charset=utf-8"),
    "/app.js": (SCRIPT, "application/javascript"),
    "/one.txt": (TWIN, "text/plain"),
    "/two.txt": (TWIN, "text/plain"),
}
# Serves assets through the ASSETS binding, as the example app does.
WORKER = b"export default { fetch(request, env) { return env.ASSETS.fetch(request); } };\n"
MODULES = {"index.js": (WORKER, "application/javascript+module")}
METADATA = {
    "main_module": "index.js",
    "compatibility_date": "2025-01-01",
    "bindings": [{"type": "assets", "name": "ASSETS"}],
}


def _tag(content: bytes, path: str) -> str:
    return f'"{asset_hash(content, path)}"'


@pytest.fixture
def site(emulator_with_workers: Emulator) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """The API and the deployed Worker `site`, whose assets are FILES."""
    emulator = emulator_with_workers
    with account_client(emulator) as api, localhost_client(emulator.workers_url("site")) as worker:
        jwt = upload_assets(emulator, api, "site", FILES)
        result(put_script(api, "site", {**METADATA, "assets": {"jwt": jwt, "config": {}}}, MODULES))
        result(api.post("/workers/scripts/site/subdomain", json={"enabled": True}))
        yield api, worker


def test_each_asset_carries_its_upload_hash_as_a_strong_etag(site: tuple[httpx.Client, httpx.Client]) -> None:
    """The ETag is the manifest hash in quotes, whatever hashing the client chose (here not wrangler's)."""
    _, worker = site
    assert worker.get("/app.js").headers["etag"] == _tag(SCRIPT, "/app.js")
    assert worker.get("/").headers["etag"] == _tag(PAGE, "/index.html")  # html_handling: / is index.html
    one, two = worker.get("/one.txt"), worker.get("/two.txt")
    assert one.headers["etag"] == two.headers["etag"] == _tag(TWIN, "/one.txt")
    assert (one.text, two.text) == (TWIN.decode(), TWIN.decode())


@pytest.mark.parametrize("form", ["strong", "weak"])
def test_a_matching_if_none_match_is_answered_304(site: tuple[httpx.Client, httpx.Client], form: str) -> None:
    """If-None-Match with the tag, as is or weak (`W/`), gets 304 Not Modified; another tag gets the file."""
    _, worker = site
    tag = _tag(SCRIPT, "/app.js")
    sent = tag if form == "strong" else f"W/{tag}"
    assert worker.get("/app.js", headers={"If-None-Match": sent}).status_code == 304
    other = worker.get("/app.js", headers={"If-None-Match": _tag(PAGE, "/index.html")})
    assert (other.status_code, other.content) == (200, SCRIPT)


def test_a_new_version_with_the_same_files_keeps_the_etags(site: tuple[httpx.Client, httpx.Client]) -> None:
    """Unchanged files keep their tags across deploys (browsers revalidate instead of downloading again)."""
    api, worker = site
    before = worker.get("/app.js").headers["etag"]
    result(put_script(api, "site", {**METADATA, "keep_assets": True}, MODULES))
    assert result(api.get("/workers/scripts/site/deployments"))["deployments"][0]["versions"][0]["percentage"] == 100
    assert worker.get("/app.js").headers["etag"] == before == _tag(SCRIPT, "/app.js")
