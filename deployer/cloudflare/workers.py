"""Workers: the account's workers.dev subdomain, scripts, their secrets and their workers.dev toggle."""

from __future__ import annotations

import json
from typing import Any

from deployer.cloudflare.client import CloudflareClient
from deployer.cloudflare.multipart import FormPart, encode_multipart
from deployer.errors import CloudflareAPIError

__all__ = [
    "account_subdomain",
    "enable_script_subdomain",
    "list_secret_names",
    "script_settings",
    "script_subdomain",
    "set_script_tags",
    "upload_script",
]

_NOT_FOUND = {10007, 10090}


async def account_subdomain(client: CloudflareClient) -> str:
    """The account's `<handle>` of `<handle>.workers.dev`; raises NoWorkersSubdomainError when unclaimed."""
    response = await client.call("GET", f"{client.account_path}/workers/subdomain")
    return str(response.result["subdomain"])


async def list_secret_names(client: CloudflareClient, script: str) -> frozenset[str] | None:
    """Names of the script's secrets, or None when the script does not exist yet."""
    try:
        response = await client.call("GET", f"{client.account_path}/workers/scripts/{script}/secrets")
    except CloudflareAPIError as exc:
        if set(exc.codes) & _NOT_FOUND:
            return None
        raise
    return frozenset(str(item["name"]) for item in response.result or [])


async def script_settings(client: CloudflareClient, script: str) -> dict[str, Any] | None:
    """The script's settings (bindings without secret values, tags, compatibility), or None if it does not exist."""
    try:
        response = await client.call("GET", f"{client.account_path}/workers/scripts/{script}/settings")
    except CloudflareAPIError as exc:
        if set(exc.codes) & _NOT_FOUND:
            return None
        raise
    return dict(response.result or {})


async def set_script_tags(client: CloudflareClient, script: str, tags: list[str]) -> None:
    """Replace the script's tags (a script-level setting: no new version is created)."""
    await client.call(
        "PATCH", f"{client.account_path}/workers/scripts/{script}/script-settings", json_body={"tags": tags}
    )


async def upload_script(
    client: CloudflareClient, script: str, *, metadata: dict[str, Any], modules: list[FormPart]
) -> dict[str, Any]:
    """PUT the Worker: a `metadata` JSON field plus one part per module; returns the script object."""
    parts = [FormPart("metadata", _json_bytes(metadata), content_type="application/json"), *modules]
    body, content_type = encode_multipart(parts)
    response = await client.call(
        "PUT",
        f"{client.account_path}/workers/scripts/{script}",
        content=body,
        content_type=content_type,
        params={"excludeScript": "true"},
    )
    return dict(response.result or {})


async def script_subdomain(client: CloudflareClient, script: str) -> dict[str, Any]:
    response = await client.call("GET", f"{client.account_path}/workers/scripts/{script}/subdomain")
    return dict(response.result or {})


async def enable_script_subdomain(client: CloudflareClient, script: str) -> dict[str, Any]:
    """Serve the script on `<script>.<handle>.workers.dev` (and its preview URLs)."""
    response = await client.call(
        "POST",
        f"{client.account_path}/workers/scripts/{script}/subdomain",
        json_body={"enabled": True, "previews_enabled": True},
    )
    return dict(response.result or {})


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
