"""Script settings, the legacy bindings list, non-versioned script-settings and the workers.dev toggle.

- `GET .../scripts/{name}/settings` → bindings (secrets as `{name, type}` only), compatibility_date/flags,
  limits, logpush, observability, placement, tags, tail_consumers, usage_model — of the deployed version.
  `placement` is null when the version has none. GUESS: null rather than absent; not `{}`, which none of the
  official SDK's placement types (`Placement` of `script_and_version_setting_get_response.py`) admits.
- `PATCH .../scripts/{name}/settings`: multipart with a `settings` JSON part (a JSON body is accepted too,
  GUESS). Non-versioned keys (logpush, observability, tags, tail_consumers) update the script; versioned
  keys (bindings, compatibility_date/flags, limits, placement) make a new deployed version. A binding sent
  as just `{name, type}` keeps the existing binding of that name and type (this is how `wrangler secret
  bulk` re-sends bindings it cannot read, in wrangler 4.86's `secretBulkCommand`). The new version is built
  from the newest version (see `cfemu.workers`), which is the deployed one: when the request carries a
  versioned key and the newest version is not the deployed one (a version was uploaded but not deployed),
  the answer is HTTP 400 code 10214 ("Script edit failed. You attempted to deploy the latest version with
  modified settings, but the latest version isn't currently deployed. …"; source of the code and text:
  cloudflare/wrangler-action issue #374, where wrangler 4.86's `secret bulk` sent this PATCH).
  GUESS: such a refused request changes nothing, not even the non-versioned keys it also carries.
- `GET .../scripts/{name}/bindings` (legacy, for the seed's walkthrough): the same bindings list.
- `GET/PATCH .../scripts/{name}/script-settings` (JSON): logpush, observability, tags, tail_consumers.
- `GET/POST/DELETE .../scripts/{name}/subdomain` → `{enabled, previews_enabled}`. A new script starts
  disabled (GUESS, from the seed's "403 on a freshly deployed URL" gotcha). A POST without
  `previews_enabled` takes it from `enabled`. Enabling without an account subdomain fails with 10007
  "You do not have a workers.dev subdomain" (the seed's gotcha; HTTP 404 is a GUESS).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cfemu.bindings import normalise_bindings, public_bindings
from cfemu.context import Context, get_context, source_of
from cfemu.envelope import ApiError, ok, read_json_object
from cfemu.formdata import read_form_parts
from cfemu.model import Script, Version
from cfemu.names import check_tags
from cfemu.store import now_iso
from cfemu.subdomains import account_subdomain
from cfemu.workers import deployed_version, latest_version, redeploy, require_script, version_bindings

__all__ = ["routes", "stale_settings_error"]

_SCRIPT_KEYS = ("logpush", "observability", "tags", "tail_consumers")


def stale_settings_error() -> ApiError:
    """HTTP 400 code 10214: a versioned change while the newest version is not the deployed one."""
    return ApiError(
        400,
        10214,
        "Script edit failed. You attempted to deploy the latest version with modified settings, but the latest"
        " version isn't currently deployed. Either upload a new version to edit the version settings, or use the"
        ' script-level settings API (/workers/scripts/{script_name}/script-settings) to modify the "logpush" and'
        ' "tail_consumers" settings.',
    )


def _live(ctx: Context, name: str) -> tuple[Script, Version]:
    script = require_script(ctx.store, name)
    version = deployed_version(ctx.store, name, with_modules=False) or latest_version(
        ctx.store, name, with_modules=False
    )
    assert version is not None, "a script always has a version"
    return script, version


def _settings_json(script: Script, version: Version) -> dict[str, Any]:
    return {
        "bindings": public_bindings(version.bindings),
        "compatibility_date": version.compatibility_date,
        "compatibility_flags": list(version.compatibility_flags),
        "limits": dict(version.limits or {}),
        "logpush": bool(script.settings.get("logpush")),
        "observability": script.settings.get("observability"),
        "placement": dict(version.placement) if version.placement else None,
        "tags": list(script.settings.get("tags") or []),
        "tail_consumers": script.settings.get("tail_consumers"),
        "usage_model": "standard",
    }


def _script_settings_json(script: Script) -> dict[str, Any]:
    return {key: script.settings.get(key) for key in _SCRIPT_KEYS}


def _update_script_settings(ctx: Context, script: Script, body: dict[str, Any]) -> None:
    update = {key: body[key] for key in _SCRIPT_KEYS if key in body}
    if "tags" in update:
        check_tags(update["tags"])
    if update:
        ctx.store.db.execute(
            "UPDATE scripts SET settings = ?, modified_on = ? WHERE name = ?",
            (json.dumps({**script.settings, **update}), now_iso(), script.name),
        )


async def get_settings(request: Request) -> Response:
    """`GET .../scripts/{name}/settings`."""
    return ok(_settings_json(*_live(get_context(request), request.path_params["script_name"])))


async def get_bindings(request: Request) -> Response:
    """`GET .../scripts/{name}/bindings` (legacy)."""
    _, version = _live(get_context(request), request.path_params["script_name"])
    return ok(public_bindings(version.bindings))


async def _settings_body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        return await read_json_object(request)
    parts = [part for part in await read_form_parts(request) if part.name == "settings"]
    if not parts:
        raise ApiError(400, 10021, "Missing settings part in multipart body")
    try:
        body = json.loads(parts[0].text())
    except ValueError:
        raise ApiError(400, 10021, "settings part is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, 10021, "settings part must be a JSON object")
    return body


def _resolve_bare_bindings(raw: Any, previous: tuple[dict[str, Any], ...]) -> Any:
    if not isinstance(raw, list):
        return raw
    by_name = {binding.get("name"): binding for binding in previous}
    resolved = []
    for binding in raw:
        old = by_name.get(binding.get("name")) if isinstance(binding, dict) else None
        bare = isinstance(binding, dict) and set(binding) <= {"name", "type"}
        resolved.append(old if bare and old is not None and old.get("type") == binding.get("type") else binding)
    return resolved


def _versioned_changes(body: dict[str, Any]) -> dict[str, Any]:
    """The versioned keys of a PATCH body that make a new version (bindings not yet checked)."""
    changes: dict[str, Any] = {}
    if "bindings" in body:
        changes["bindings"] = body["bindings"]
    if isinstance(body.get("compatibility_date"), str):
        changes["compatibility_date"] = body["compatibility_date"]
    if isinstance(body.get("compatibility_flags"), list):
        changes["compatibility_flags"] = tuple(str(flag) for flag in body["compatibility_flags"])
    for key in ("limits", "placement"):
        if isinstance(body.get(key), dict):
            changes[key] = body[key]
    return changes


async def patch_settings(request: Request) -> Response:
    """`PATCH .../scripts/{name}/settings`."""
    ctx = get_context(request)
    name = request.path_params["script_name"]
    body = await _settings_body(request)
    async with ctx.write_lock:
        script, deployed = _live(ctx, name)
        latest = latest_version(ctx.store, name, with_modules=False)
        assert latest is not None
        changes = _versioned_changes(body)
        if changes and latest.id != deployed.id:
            raise stale_settings_error()
        if "bindings" in changes:
            changes["bindings"] = normalise_bindings(
                ctx,
                _resolve_bare_bindings(changes["bindings"], latest.bindings),
                keep_types=None,
                previous=latest.bindings,
                versions=version_bindings(ctx.store, name),
                strict_inherit=False,
            )
        if changes:
            # GUESS: versions made by a settings change carry no `workers/triggered_by` annotation.
            await redeploy(ctx, name, source=source_of(request), triggered_by=None, **changes)
        _update_script_settings(ctx, script, body)
        return ok(_settings_json(*_live(ctx, name)))


async def get_script_settings(request: Request) -> Response:
    """`GET .../scripts/{name}/script-settings`."""
    script = require_script(get_context(request).store, request.path_params["script_name"])
    return ok(_script_settings_json(script))


async def patch_script_settings(request: Request) -> Response:
    """`PATCH .../scripts/{name}/script-settings`."""
    ctx = get_context(request)
    body = await read_json_object(request)
    async with ctx.write_lock:
        script = require_script(ctx.store, request.path_params["script_name"])
        _update_script_settings(ctx, script, body)
        return ok(_script_settings_json(require_script(ctx.store, script.name)))


def _toggle_json(script: Script) -> dict[str, bool]:
    return {"enabled": script.subdomain_enabled, "previews_enabled": script.previews_enabled}


async def get_toggle(request: Request) -> Response:
    """`GET .../scripts/{name}/subdomain`."""
    script = require_script(get_context(request).store, request.path_params["script_name"])
    return ok(_toggle_json(script))


def _set_toggle(ctx: Context, name: str, enabled: bool, previews_enabled: bool) -> Script:
    ctx.store.db.execute(
        "UPDATE scripts SET subdomain_enabled = ?, previews_enabled = ? WHERE name = ?",
        (int(enabled), int(previews_enabled), name),
    )
    return require_script(ctx.store, name)


async def post_toggle(request: Request) -> Response:
    """`POST .../scripts/{name}/subdomain` `{enabled, previews_enabled?}`."""
    ctx = get_context(request)
    body = await read_json_object(request)
    enabled = body.get("enabled")
    previews = body.get("previews_enabled", enabled)
    if not isinstance(enabled, bool) or not isinstance(previews, bool):
        raise ApiError(400, 10021, "enabled and previews_enabled must be booleans")
    async with ctx.write_lock:
        require_script(ctx.store, request.path_params["script_name"])
        if (enabled or previews) and account_subdomain(ctx.store) is None:
            raise ApiError(404, 10007, "You do not have a workers.dev subdomain")
        return ok(_toggle_json(_set_toggle(ctx, request.path_params["script_name"], enabled, previews)))


async def delete_toggle(request: Request) -> Response:
    """`DELETE .../scripts/{name}/subdomain`: turn workers.dev and previews off."""
    ctx = get_context(request)
    async with ctx.write_lock:
        require_script(ctx.store, request.path_params["script_name"])
        _set_toggle(ctx, request.path_params["script_name"], False, False)
    return ok(None)


def routes() -> list[BaseRoute]:
    """Routes of this module (relative to /client/v4)."""
    base = "/accounts/{account_id}/workers/scripts/{script_name}"
    return [
        Route(base + "/settings", get_settings, methods=["GET"]),
        Route(base + "/settings", patch_settings, methods=["PATCH"]),
        Route(base + "/bindings", get_bindings, methods=["GET"]),
        Route(base + "/script-settings", get_script_settings, methods=["GET"]),
        Route(base + "/script-settings", patch_script_settings, methods=["PATCH"]),
        Route(base + "/subdomain", get_toggle, methods=["GET"]),
        Route(base + "/subdomain", post_toggle, methods=["POST"]),
        Route(base + "/subdomain", delete_toggle, methods=["DELETE"]),
    ]
