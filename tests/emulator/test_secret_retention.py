"""Secrets across uploads: an upload without `keep_bindings` keeps them, one with it keeps what it lists.

This is what lets `wrangler deploy` (which sends no `keep_bindings` unless `--keep-vars`) leave the secrets set
with `wrangler secret put` in place; see `cfemu.metadata` for the sources and the GUESS.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from cfemu.launcher import Emulator
from devkit.loopback import localhost_client
from tests.emulator.helpers import account_client, put_script, result, script_form

TOKEN_VALUE = "retained-token-value"
SECRET_KEY = {
    "type": "secret_key",
    "name": "SIGNING_KEY",
    "algorithm": {"name": "HMAC", "hash": "SHA-256"},
    "format": "raw",
    "usages": ["sign", "verify"],
    "key_base64": "c2lnbmluZy1rZXktYnl0ZXM=",
}
PLAIN = {"type": "plain_text", "name": "MODE", "text": "live"}
# Answers with the SHA-256 of env.TOKEN (never the value itself), or "missing".
DIGEST_WORKER = b"""export default {
  async fetch(request, env) {
    if (typeof env.TOKEN !== "string") return new Response("missing");
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(env.TOKEN));
    return new Response([...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join(""));
  },
};
"""


def _set_token(api: httpx.Client, script: str) -> None:
    secret = {"name": "TOKEN", "text": TOKEN_VALUE, "type": "secret_text"}
    result(api.put(f"/workers/scripts/{script}/secrets", json=secret))


def _deploy_version(
    api: httpx.Client, script: str, metadata: dict[str, Any], modules: dict[str, tuple[bytes, str]] | None = None
) -> str:
    """`wrangler deploy`'s path for an existing Worker: a version upload, then a 100% deployment."""
    form = script_form(metadata, modules)
    version = result(api.post(f"/workers/scripts/{script}/versions", files=form, params={"bindings_inherit": "strict"}))
    body = {"strategy": "percentage", "versions": [{"version_id": version["id"], "percentage": 100}]}
    result(api.post(f"/workers/scripts/{script}/deployments", json=body))
    return str(version["id"])


def _bindings(api: httpx.Client, script: str) -> list[dict[str, Any]]:
    return sorted(result(api.get(f"/workers/scripts/{script}/settings"))["bindings"], key=lambda b: str(b["name"]))


def test_a_version_upload_without_keep_bindings_keeps_the_secrets(api: httpx.Client) -> None:
    """A secret set with `PUT …/secrets` survives a version upload that neither sends nor keeps it."""
    result(put_script(api, "app", {"main_module": "index.js", "bindings": [SECRET_KEY]}))
    _set_token(api, "app")
    version_id = _deploy_version(api, "app", {"main_module": "index.js", "bindings": [PLAIN]})
    assert _bindings(api, "app") == [
        PLAIN,
        {"name": "SIGNING_KEY", "type": "secret_key"},
        {"name": "TOKEN", "type": "secret_text"},
    ]
    version = result(api.get(f"/workers/scripts/app/versions/{version_id}"))
    assert {b["name"] for b in version["resources"]["bindings"]} == {"MODE", "SIGNING_KEY", "TOKEN"}


def test_a_script_put_without_keep_bindings_keeps_the_secrets(api: httpx.Client) -> None:
    """The script PUT follows the same rule: only the non-secret bindings are replaced."""
    result(put_script(api, "app", {"main_module": "index.js", "bindings": [PLAIN, SECRET_KEY]}))
    _set_token(api, "app")
    result(put_script(api, "app", {"main_module": "index.js", "bindings": []}))
    assert _bindings(api, "app") == [
        {"name": "SIGNING_KEY", "type": "secret_key"},
        {"name": "TOKEN", "type": "secret_text"},
    ]


def test_a_sent_keep_bindings_keeps_only_the_types_it_lists(api: httpx.Client) -> None:
    """`keep_bindings: ["secret_key"]` drops a secret_text left out (how `wrangler versions secret delete` works)."""
    result(put_script(api, "app", {"main_module": "index.js", "bindings": [SECRET_KEY]}))
    _set_token(api, "app")
    _deploy_version(api, "app", {"main_module": "index.js", "bindings": [], "keep_bindings": ["secret_key"]})
    assert _bindings(api, "app") == [{"name": "SIGNING_KEY", "type": "secret_key"}]


def test_an_empty_keep_bindings_keeps_nothing(api: httpx.Client) -> None:
    """`keep_bindings: []` is a list like any other: no secret is carried over."""
    result(put_script(api, "app"))
    _set_token(api, "app")
    result(put_script(api, "app", {"main_module": "index.js", "bindings": [PLAIN], "keep_bindings": []}))
    assert _bindings(api, "app") == [PLAIN]


def test_a_binding_sent_under_a_secrets_name_replaces_the_secret(api: httpx.Client) -> None:
    """A secret is kept only while the upload does not use its name."""
    result(put_script(api, "app"))
    _set_token(api, "app")
    replacement = {"type": "plain_text", "name": "TOKEN", "text": "now plain"}
    _deploy_version(api, "app", {"main_module": "index.js", "bindings": [replacement]})
    assert _bindings(api, "app") == [replacement]
    assert result(api.get("/workers/scripts/app/secrets")) == []


def test_the_running_worker_reads_the_kept_secrets_value(emulator_with_workers: Emulator) -> None:
    """The value, not only the name, is carried into the new version that workerd runs."""
    emulator = emulator_with_workers
    modules = {"index.js": (DIGEST_WORKER, "application/javascript+module")}
    with account_client(emulator) as api, localhost_client(emulator.workers_url("app")) as worker:
        result(put_script(api, "app", modules=modules))
        result(api.post("/workers/scripts/app/subdomain", json={"enabled": True}))
        _set_token(api, "app")
        _deploy_version(api, "app", {"main_module": "index.js", "bindings": [PLAIN]}, modules)
        answer = worker.get("/")
    assert answer.status_code == 200
    assert answer.text == hashlib.sha256(TOKEN_VALUE.encode()).hexdigest()
