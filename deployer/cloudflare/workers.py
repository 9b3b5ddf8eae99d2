"""Workers: the account's workers.dev subdomain, scripts, their settings, versions and deployments, and their
workers.dev toggle."""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from deployer.cloudflare.client import ApiResponse, CloudflareClient, none_if_missing
from deployer.cloudflare.multipart import FormPart, encode_multipart

__all__ = [
    "DeployedModules",
    "ScriptSummary",
    "account_subdomain",
    "create_deployment",
    "delete_script",
    "enable_script_subdomain",
    "get_schedules",
    "get_version",
    "latest_deployment",
    "list_deployments",
    "list_scripts",
    "list_versions",
    "patch_bindings",
    "put_schedules",
    "script_settings",
    "script_subdomain",
    "set_script_tags",
    "upload_script",
    "upload_version",
    "version_modules",
    "workers_dev_url",
]

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def workers_dev_url(api_base_url: str, script: str, subdomain: str) -> str:
    """Where the script answers: `https://{script}.{subdomain}.workers.dev`.

    A local target (an API on a loopback address, such as the cfemu emulator) serves workers.dev hosts on its own
    port under `.localhost`, which browsers and curl resolve to loopback:
    `http://{script}.{subdomain}.workers.dev.localhost:{port}`.
    """
    api = httpx.URL(api_base_url)
    if api.host in _LOOPBACK_HOSTS:
        port = f":{api.port}" if api.port else ""
        return f"http://{script}.{subdomain}.workers.dev.localhost{port}"
    return f"https://{script}.{subdomain}.workers.dev"


async def account_subdomain(client: CloudflareClient) -> str:
    """The account's `<handle>` of `<handle>.workers.dev`; raises NoWorkersSubdomainError when unclaimed."""
    response = await client.call("GET", f"{client.account_path}/workers/subdomain")
    return str(response.require("subdomain"))


async def script_settings(client: CloudflareClient, script: str) -> dict[str, Any] | None:
    """The script's settings (bindings without secret values, tags, compatibility), or None if it does not exist."""
    response = await none_if_missing(client.call("GET", f"{client.account_path}/workers/scripts/{script}/settings"))
    return None if response is None else response.mapping()


@dataclass(frozen=True, slots=True)
class ScriptSummary:
    """One Worker of the account, as the script list shows it."""

    name: str
    tags: tuple[str, ...]
    modified: dt.datetime | None  # UTC


async def list_scripts(client: CloudflareClient) -> list[ScriptSummary]:
    """Every Worker of the account (`GET …/workers/scripts`: one page, as the SDKs read it), with its tags."""
    response = await client.call("GET", f"{client.account_path}/workers/scripts")
    return [
        ScriptSummary(
            name=str(item.get("id") or ""),
            tags=tuple(str(tag) for tag in item.get("tags") or ()),
            modified=_timestamp(item.get("modified_on")),
        )
        for item in response.items()
        if item.get("id")
    ]


async def delete_script(client: CloudflareClient, script: str) -> bool:
    """Delete the Worker `script` with every version and its workers.dev URL; False when it was already gone.

    `force=true` as the SDKs offer it: nothing that refers to the script blocks the delete."""
    response = await none_if_missing(
        client.call("DELETE", f"{client.account_path}/workers/scripts/{script}", params={"force": "true"})
    )
    return response is not None


def _timestamp(value: Any) -> dt.datetime | None:
    """An API timestamp (`2026-11-30T12:00:00.123456Z`) as an aware datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


async def set_script_tags(client: CloudflareClient, script: str, tags: list[str]) -> None:
    """Replace the script's tags (a script-level setting: no new version is created)."""
    await client.call(
        "PATCH", f"{client.account_path}/workers/scripts/{script}/script-settings", json_body={"tags": tags}
    )


async def upload_script(
    client: CloudflareClient, script: str, *, metadata: dict[str, Any], modules: list[FormPart]
) -> dict[str, Any]:
    """PUT the Worker: a `metadata` JSON field plus one part per module; returns the script object."""
    path = f"{client.account_path}/workers/scripts/{script}"
    response = await _send_worker(client, "PUT", path, metadata, modules, {"excludeScript": "true"})
    return response.mapping()


async def script_subdomain(client: CloudflareClient, script: str) -> dict[str, Any]:
    response = await client.call("GET", f"{client.account_path}/workers/scripts/{script}/subdomain")
    return response.mapping()


async def enable_script_subdomain(client: CloudflareClient, script: str) -> dict[str, Any]:
    """Serve the script on `<script>.<handle>.workers.dev` (and its preview URLs)."""
    response = await client.call(
        "POST",
        f"{client.account_path}/workers/scripts/{script}/subdomain",
        json_body={"enabled": True, "previews_enabled": True},
    )
    return response.mapping()


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


async def patch_bindings(client: CloudflareClient, script: str, bindings: list[dict[str, Any]]) -> dict[str, Any]:
    """Replace the Worker's bindings without uploading code: `PATCH …/settings`, one multipart part `settings`.

    Cloudflare makes a new version from the newest one (same code and assets) and deploys it. Refused with 10214
    (`VersionNotDeployedError`) when the newest version is not the deployed one. Sources: wrangler 4.86's
    `secret bulk` (`secret/index.ts`) PATCHes this endpoint with every binding, re-sending the ones it keeps as
    `{type: <their type>, name}`; we send the documented `{"type": "inherit", "name": …}` instead (the official
    SDKs' `WorkersBindingKindInherit`, whose `old_name` moves a value to another name). GUESS: that this
    endpoint honours `old_name` as the version upload does; if it did not, the moved key would be missing and
    `rotate`'s check of a session from before the rotation fails.
    """
    body, content_type = encode_multipart([FormPart("settings", _json_bytes({"bindings": bindings}))])
    response = await client.call(
        "PATCH", f"{client.account_path}/workers/scripts/{script}/settings", content=body, content_type=content_type
    )
    return response.mapping()


async def latest_deployment(client: CloudflareClient, script: str) -> dict[str, Any] | None:
    """The live deployment (the newest): `{id, versions: [{version_id, percentage}], annotations, …}`."""
    deployments = await list_deployments(client, script)
    return deployments[0] if deployments else None


async def get_version(client: CloudflareClient, script: str, version_id: str) -> dict[str, Any]:
    """One version: `{id, number, metadata, annotations, resources: {bindings, script, script_runtime}}`."""
    response = await client.call("GET", f"{client.account_path}/workers/scripts/{script}/versions/{version_id}")
    return response.mapping()


@dataclass(frozen=True, slots=True)
class DeployedModules:
    """The modules of one version as `GET …/content/v2` gives them, ready to upload again."""

    main_module: str
    parts: tuple[FormPart, ...]


async def version_modules(client: CloudflareClient, script: str, version_id: str) -> DeployedModules:
    """The modules of `version_id` (`GET …/content/v2?version=`, a raw multipart body; the main module is named
    by the `cf-entrypoint` header). Source: wrangler 4.86 `versions/secrets/index.ts` (`parseModules`)."""
    path = f"{client.account_path}/workers/scripts/{script}/content/v2"
    response = await client.call("GET", path, params={"version": version_id}, raw=True)
    headers = {key.lower(): value for key, value in (response.headers or {}).items()}
    entry = headers.get("cf-entrypoint")
    content_type = headers.get("content-type", "")
    if not entry or not content_type.startswith("multipart/form-data"):
        raise response.unexpected("is not the modules of an ES-module Worker (multipart with cf-entrypoint)")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + bytes(response.result))
    parts: list[FormPart] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            raise response.unexpected("has a part without a name or content")
        parts.append(FormPart(name, payload, content_type=part.get_content_type(), filename=name))
    if entry not in {part.name for part in parts}:
        raise response.unexpected(f"lacks its entry point {entry}")
    return DeployedModules(entry, tuple(parts))


async def upload_version(
    client: CloudflareClient, script: str, *, metadata: dict[str, Any], modules: list[FormPart]
) -> dict[str, Any]:
    """`POST …/versions?bindings_inherit=strict`: a new version, not deployed (an inherit that finds nothing
    is refused, 10057). Returns the version (`id`, `number`, …)."""
    path = f"{client.account_path}/workers/scripts/{script}/versions"
    params = {"bindings_inherit": "strict", "excludeScript": "true"}
    return (await _send_worker(client, "POST", path, metadata, modules, params)).mapping()


async def _send_worker(
    client: CloudflareClient,
    method: str,
    path: str,
    metadata: dict[str, Any],
    modules: list[FormPart],
    params: Mapping[str, str | int],
) -> ApiResponse:
    """A Worker upload's body: the `metadata` JSON field, then one part per module."""
    parts = [FormPart("metadata", _json_bytes(metadata), content_type="application/json"), *modules]
    body, content_type = encode_multipart(parts)
    return await client.call(method, path, content=body, content_type=content_type, params=params)


async def create_deployment(
    client: CloudflareClient, script: str, version_id: str, *, message: str, force: bool = False
) -> dict[str, Any]:
    """Deploy `version_id` to 100% of traffic (`POST …/deployments`), with a `workers/message` annotation.

    Going back to a version whose secrets have changed since it was live is refused with 10220
    (`SecretsChangedError`) unless `force` (`?force=true`). Source: wrangler 4.86 `versions/rollback/index.ts`.
    """
    response = await client.call(
        "POST",
        f"{client.account_path}/workers/scripts/{script}/deployments",
        json_body={
            "strategy": "percentage",
            "versions": [{"version_id": version_id, "percentage": 100}],
            "annotations": {"workers/message": message},
        },
        params={"force": "true"} if force else None,
    )
    return response.mapping()


async def list_versions(client: CloudflareClient, script: str) -> list[dict[str, Any]]:
    """The Worker's versions, newest first (`GET …/versions`, `result.items`)."""
    response = await client.call("GET", f"{client.account_path}/workers/scripts/{script}/versions")
    items = response.mapping().get("items")
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


async def list_deployments(client: CloudflareClient, script: str) -> list[dict[str, Any]]:
    """The Worker's deployments, newest first (`GET …/deployments`, `result.deployments`)."""
    response = await client.call("GET", f"{client.account_path}/workers/scripts/{script}/deployments")
    found = response.mapping().get("deployments")
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


async def get_schedules(client: CloudflareClient, script: str) -> tuple[str, ...]:
    """The script's cron triggers (`GET …/scripts/{name}/schedules` → `{"schedules": [{"cron", …}]}`)."""
    response = await client.call("GET", f"{client.account_path}/workers/scripts/{script}/schedules")
    schedules = response.mapping().get("schedules") or []
    return tuple(str(item["cron"]) for item in schedules if isinstance(item, dict) and "cron" in item)


async def put_schedules(client: CloudflareClient, script: str, crons: tuple[str, ...]) -> None:
    """Replace the script's cron triggers (a JSON list of `{"cron"}`, as wrangler's `triggers/deploy.ts` sends;
    an empty list removes them)."""
    await client.call(
        "PUT",
        f"{client.account_path}/workers/scripts/{script}/schedules",
        json_body=[{"cron": cron} for cron in crons],
    )
