"""Worker secrets: `secret_text` (and `secret_key`) bindings changed one at a time.

- `PUT .../scripts/{name}/secrets` `{name, text, type: "secret_text"}` → `{name, type}` (never the value).
- `GET .../secrets` → `[{name, type}]`; `GET .../secrets/{secret}` → `{name, type}`; `DELETE .../secrets/{secret}`.
  `?url_encoded=true` is accepted; the path is percent-decoded once by the server either way.
- `PATCH .../secrets-bulk` `{"secrets": {NAME: {name, text, type} | null}}` (RFC 7396 merge: null deletes,
  absent names stay).

Each change makes a new version from the newest one (same code, assets and other bindings) and deploys it
at 100% (annotation `workers/triggered_by: secret`). A missing script is 10007. A name already used by a
non-secret binding is code 10053. A change while the newest version is not the deployed one changes
nothing and is refused: `PUT`/`DELETE .../secrets` with code 10215; `PATCH .../secrets-bulk` with the
settings PATCH's code 10214 and its text about "logpush" and "tail_consumers" (`cfemu.settings`).
GUESS: that `secrets-bulk` answers 10214. cloudflare/workers-sdk PR #15283 (2026-08) says `secret bulk` users
"got the raw 10214 text about logpush and tail_consumers"; wrangler had moved `secret bulk` from the settings
PATCH to `secrets-bulk` in 2026-05 (PR #13964), but which endpoint those users' wrangler called is not said.
GUESS: the texts of 10053/10215, their HTTP status 400, and 404 code 10056 for an unknown secret name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cfemu.bindings import SECRET_TYPES
from cfemu.context import Context, get_context, source_of
from cfemu.envelope import ApiError, ok, read_json_object
from cfemu.settings import stale_settings_error
from cfemu.workers import deployed_version, latest_version, redeploy, require_script

__all__ = ["routes"]


def _current(ctx: Context, script_name: str) -> list[dict[str, Any]]:
    require_script(ctx.store, script_name)
    version = latest_version(ctx.store, script_name, with_modules=False)
    return [] if version is None else list(version.bindings)


def _secret(binding: Any) -> dict[str, Any]:
    """Check one secret object from a request body."""
    if not isinstance(binding, dict) or not isinstance(binding.get("name"), str) or not binding["name"]:
        raise ApiError(400, 10021, "A secret needs a string `name`")
    kind = binding.get("type", "secret_text")
    if kind not in SECRET_TYPES:
        raise ApiError(400, 10021, f"Secret type must be one of {sorted(SECRET_TYPES)}")
    if kind == "secret_text" and not isinstance(binding.get("text"), str):
        raise ApiError(400, 10021, f"Secret {binding['name']} needs a string `text`")
    return {**binding, "type": kind}


def _stale_secret_error() -> ApiError:
    return ApiError(
        400,
        10215,
        "Secret edit failed. You attempted to modify a secret, but the latest version of your Worker"
        " isn't currently deployed.",
    )


async def _apply(
    request: Request,
    upserts: list[dict[str, Any]],
    deletes: list[str],
    *,
    stale: Callable[[], ApiError] = _stale_secret_error,
) -> None:
    """Replace/add `upserts` and remove `deletes` in a new deployed version; `stale()` is the error raised
    when the newest version is not the deployed one."""
    ctx = get_context(request)
    name = request.path_params["script_name"]
    async with ctx.write_lock:
        bindings = _current(ctx, name)
        latest = latest_version(ctx.store, name, with_modules=False)
        deployed = deployed_version(ctx.store, name, with_modules=False)
        if latest is not None and deployed is not None and latest.id != deployed.id:
            raise stale()
        by_name = {binding["name"]: binding for binding in bindings}
        for secret in upserts:
            existing = by_name.get(secret["name"])
            if existing is not None and existing.get("type") not in SECRET_TYPES:
                raise ApiError(
                    400, 10053, f"Binding name '{secret['name']}' already in use by a {existing.get('type')} binding"
                )
        for secret_name in deletes:
            existing = by_name.get(secret_name)
            if existing is None or existing.get("type") not in SECRET_TYPES:
                raise ApiError(404, 10056, f"Secret '{secret_name}' not found")
        changed = {secret["name"]: secret for secret in upserts}
        new_bindings = [changed.pop(b["name"], b) for b in bindings if b["name"] not in deletes]
        new_bindings += changed.values()
        await redeploy(ctx, name, source=source_of(request), triggered_by="secret", bindings=tuple(new_bindings))


async def put_secret(request: Request) -> Response:
    """`PUT .../scripts/{name}/secrets`."""
    secret = _secret(await read_json_object(request))
    await _apply(request, [secret], [])
    return ok({"name": secret["name"], "type": secret["type"]})


async def list_secrets(request: Request) -> Response:
    """`GET .../scripts/{name}/secrets`."""
    bindings = _current(get_context(request), request.path_params["script_name"])
    return ok([{"name": b["name"], "type": b["type"]} for b in bindings if b.get("type") in SECRET_TYPES])


async def get_secret(request: Request) -> Response:
    """`GET .../scripts/{name}/secrets/{secret_name}`."""
    bindings = _current(get_context(request), request.path_params["script_name"])
    wanted = request.path_params["secret_name"]
    for binding in bindings:
        if binding["name"] == wanted and binding.get("type") in SECRET_TYPES:
            return ok({"name": binding["name"], "type": binding["type"]})
    raise ApiError(404, 10056, f"Secret '{wanted}' not found")


async def delete_secret(request: Request) -> Response:
    """`DELETE .../scripts/{name}/secrets/{secret_name}`."""
    await _apply(request, [], [request.path_params["secret_name"]])
    return ok(None)


async def patch_secrets(request: Request) -> Response:
    """`PATCH .../scripts/{name}/secrets-bulk` (merge patch)."""
    body = await read_json_object(request)
    patch = body.get("secrets")
    if not isinstance(patch, dict):
        raise ApiError(400, 10021, 'Body must be {"secrets": {NAME: secret | null}}')
    upserts = [_secret({**value, "name": key}) for key, value in patch.items() if value is not None]
    deletes = [key for key, value in patch.items() if value is None]
    ctx = get_context(request)
    existing = {b["name"] for b in _current(ctx, request.path_params["script_name"]) if b.get("type") in SECRET_TYPES}
    await _apply(request, upserts, [name for name in deletes if name in existing], stale=stale_settings_error)
    bindings = _current(ctx, request.path_params["script_name"])
    return ok([{"name": b["name"], "type": b["type"]} for b in bindings if b.get("type") in SECRET_TYPES])


def routes() -> list[BaseRoute]:
    """Routes of this module (relative to /client/v4)."""
    base = "/accounts/{account_id}/workers/scripts/{script_name}"
    return [
        Route(base + "/secrets", put_secret, methods=["PUT"]),
        Route(base + "/secrets", list_secrets, methods=["GET"]),
        Route(base + "/secrets/{secret_name}", get_secret, methods=["GET"]),
        Route(base + "/secrets/{secret_name}", delete_secret, methods=["DELETE"]),
        Route(base + "/secrets-bulk", patch_secrets, methods=["PATCH"]),
    ]
