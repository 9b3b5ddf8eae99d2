"""Small helpers shared by the emulator tests (building uploads, creating databases, namespaces and buckets, asset
flows)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import httpx

from cfemu.launcher import Emulator
from devkit.checklist import ApiAccess

WORKER_JS = b"export default { async fetch(request, env) { return new Response('hello'); } };\n"


def account_client(emu: Emulator, *, token: str | None = None) -> httpx.Client:
    """An httpx client rooted at the account, authenticated with `token` (default: the right one)."""
    return ApiAccess(emu.api_base_url, emu.account_id, token or emu.api_token).client()


def errors(response: httpx.Response) -> list[tuple[int, str]]:
    """The (code, message) pairs of a failed envelope."""
    body = response.json()
    assert body["success"] is False
    assert body["result"] is None
    return [(error["code"], error["message"]) for error in body["errors"]]


def result(response: httpx.Response) -> Any:
    """The `result` of a successful envelope (asserting success)."""
    body = response.json()
    assert body["success"] is True, body
    assert body["errors"] == []
    return body["result"]


def create_database(api: httpx.Client, name: str) -> str:
    """Create a D1 database and return its uuid."""
    return str(result(api.post("/d1/database", json={"name": name}))["uuid"])


def create_namespace(api: httpx.Client, title: str) -> str:
    """Create a KV namespace and return its id."""
    return str(result(api.post("/storage/kv/namespaces", json={"title": title}))["id"])


def create_bucket(api: httpx.Client, name: str) -> dict[str, Any]:
    """Create an R2 bucket (default jurisdiction) and return it."""
    created: dict[str, Any] = result(api.post("/r2/buckets", json={"name": name}))
    return created


def asset_hash(content: bytes, path: str) -> str:
    """A 32-hex asset hash (salted with the path's extension, like wrangler's)."""
    ext = path.rsplit(".", 1)[-1] if "." in path else ""
    return hashlib.sha256(content + ext.encode()).hexdigest()[:32]


def upload_assets(emu: Emulator, api: httpx.Client, script: str, files: dict[str, tuple[bytes, str]]) -> str:
    """Run the whole asset flow for `files` ({path: (bytes, mime)}) and return the completion token."""
    manifest = {path: {"hash": asset_hash(data, path), "size": len(data)} for path, (data, _) in files.items()}
    session = result(api.post(f"/workers/scripts/{script}/assets-upload-session", json={"manifest": manifest}))
    jwt = str(session["jwt"])
    by_hash = {asset_hash(data, path): (data, mime) for path, (data, mime) in files.items()}
    for bucket in session["buckets"]:
        parts = {h: (h, base64.b64encode(by_hash[h][0]), by_hash[h][1]) for h in bucket}
        response = httpx.post(
            f"{emu.api_base_url}/accounts/{emu.account_id}/workers/assets/upload",
            params={"base64": "true"},
            files=parts,
            headers={"Authorization": f"Bearer {session['jwt']}"},
        )
        body = result(response)
        jwt = body.get("jwt", jwt)
    return jwt


def script_form(
    metadata: dict[str, Any], modules: dict[str, tuple[bytes, str]] | None = None
) -> dict[str, tuple[str | None, bytes, str] | tuple[None, str]]:
    """httpx `files=` for a script upload: a `metadata` field plus one part per module."""
    form: dict[str, tuple[str | None, bytes, str] | tuple[None, str]] = {"metadata": (None, json.dumps(metadata))}
    if modules is None:
        modules = {"index.js": (WORKER_JS, "application/javascript+module")}
    for name, (content, content_type) in modules.items():
        form[name] = (name, content, content_type)
    return form


def put_script(
    api: httpx.Client,
    name: str,
    metadata: dict[str, Any] | None = None,
    modules: dict[str, tuple[bytes, str]] | None = None,
    **params: str,
) -> httpx.Response:
    """PUT a script; metadata defaults to `{"main_module": "index.js"}`."""
    meta = {"main_module": "index.js"} if metadata is None else metadata
    return api.put(f"/workers/scripts/{name}", files=script_form(meta, modules), params=params)
