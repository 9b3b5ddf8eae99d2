"""Versions and deployments (the path `wrangler deploy` takes for an existing Worker).

- `POST .../scripts/{name}/versions[?bindings_inherit=strict]`: the same multipart body as the script PUT;
  stores a new version **without deploying it** (the runtime is not called). The script must exist
  (10007). `metadata.has_preview` is true when the script has previews enabled and the account a
  workers.dev subdomain. GUESS: that rule for `has_preview`.
- `GET .../versions` → `{"items": [...]}` newest first; `GET .../versions/{id}` → one version.
  GUESS: an unknown version id is HTTP 404 code 10007.
- `POST .../deployments[?force=true]` `{strategy: "percentage", versions: [{version_id, percentage}],
  annotations?}`: percentages must add up to 100 and every version must exist; the version with the largest
  share is activated in the runtime, then the deployment is stored. GUESS: code 10021 for a bad body.
- `GET .../deployments` → `{"deployments": [...]}` newest first.
- Going back to an older version (a lower number than the deployed one) whose secrets differ from the deployed
  version's (a name added, removed or given another value) is refused with HTTP 400 code 10220 and the names,
  unless `?force=true`. Source: wrangler 4.86 `versions/rollback/index.ts` (`CANNOT_ROLLBACK_WITH_MODIFIED_SECERT_CODE
  = 10220`, retried with `?force=true`) and the answer its tests mock (`__tests__/rollback.test.ts`). GUESS: that
  only older versions are checked (a newer version with new secrets is how `versions secret put` is deployed) and
  that the comparison is with the deployed version.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cfemu.bindings import SECRET_TYPES
from cfemu.context import get_context, source_of
from cfemu.envelope import ApiError, ok, read_json_object
from cfemu.formdata import read_form_parts
from cfemu.metadata import build_version, parse_upload
from cfemu.model import Version
from cfemu.subdomains import account_subdomain
from cfemu.views import version_json
from cfemu.workers import (
    commit_deployment,
    commit_version,
    deployed_version,
    get_version,
    latest_version,
    list_deployments,
    list_versions,
    require_script,
)

__all__ = ["routes"]


async def upload_version(request: Request) -> Response:
    """`POST .../scripts/{name}/versions`: store a new, undeployed version."""
    ctx = get_context(request)
    name = request.path_params["script_name"]
    upload = parse_upload(await read_form_parts(request))
    source = source_of(request)
    async with ctx.write_lock:
        script = require_script(ctx.store, name)
        version = build_version(
            ctx,
            script_name=name,
            upload=upload,
            previous=latest_version(ctx.store, name),
            strict_inherit=request.query_params.get("bindings_inherit") == "strict",
            source=source,
            triggered_by="upload",
        )
        version, _ = await commit_version(ctx, version, deploy=False, source=source)
    has_preview = script.previews_enabled and account_subdomain(ctx.store) is not None
    return ok(version_json(version, has_preview=has_preview))


async def get_versions(request: Request) -> Response:
    """`GET .../scripts/{name}/versions`."""
    ctx = get_context(request)
    name = request.path_params["script_name"]
    require_script(ctx.store, name)
    items = [version_json(version) for version in list_versions(ctx.store, name)]
    return ok({"items": items})


async def get_one_version(request: Request) -> Response:
    """`GET .../scripts/{name}/versions/{version_id}`."""
    ctx = get_context(request)
    name = request.path_params["script_name"]
    require_script(ctx.store, name)
    version = get_version(ctx.store, name, request.path_params["version_id"], with_modules=False)
    if version is None:
        raise ApiError(404, 10007, "workers.api.error.version_not_found")
    return ok(version_json(version))


def _secrets_of(version: Version) -> dict[str, Any]:
    return {b["name"]: b.get("text", b.get("key_base64")) for b in version.bindings if b.get("type") in SECRET_TYPES}


def _refuse_changed_secrets(target: Version, deployed: Version | None) -> None:
    """10220 when going back to `target` would change secrets (see the module docstring)."""
    if deployed is None or target.number >= deployed.number:
        return
    before, now = _secrets_of(target), _secrets_of(deployed)
    changed = sorted(name for name in {*before, *now} if before.get(name) != now.get(name))
    if changed:
        raise ApiError(
            400,
            10220,
            "A secret has changed since this version was active. If you are sure this is ok, add a ?force=true "
            f"query parameter to allow the rollback. The following secrets have changed: {', '.join(changed)}",
        )


def _traffic(body: dict[str, Any]) -> list[dict[str, Any]]:
    if body.get("strategy", "percentage") != "percentage":
        raise ApiError(400, 10021, 'strategy must be "percentage"')
    versions = body.get("versions")
    if not isinstance(versions, list) or not versions:
        raise ApiError(400, 10021, "versions must be a non-empty array of {version_id, percentage}")
    traffic: list[dict[str, Any]] = []
    for item in versions:
        version_id = item.get("version_id") if isinstance(item, dict) else None
        percentage = item.get("percentage") if isinstance(item, dict) else None
        if not isinstance(version_id, str) or not isinstance(percentage, int | float) or isinstance(percentage, bool):
            raise ApiError(400, 10021, "each version needs a string version_id and a numeric percentage")
        if not 0 <= percentage <= 100:
            raise ApiError(400, 10021, f"percentage {percentage} is out of range 0-100")
        traffic.append({"version_id": version_id, "percentage": percentage})
    if not math.isclose(sum(v["percentage"] for v in traffic), 100.0, abs_tol=1e-6):
        raise ApiError(400, 10021, "version percentages must add up to 100")
    return traffic


async def create_deployment(request: Request) -> Response:
    """`POST .../scripts/{name}/deployments`: send traffic to existing versions."""
    ctx = get_context(request)
    name = request.path_params["script_name"]
    body = await read_json_object(request)
    traffic = _traffic(body)
    async with ctx.write_lock:
        require_script(ctx.store, name)
        for item in traffic:
            target = get_version(ctx.store, name, item["version_id"], with_modules=False)
            if target is None:
                raise ApiError(400, 10021, f"version {item['version_id']} does not exist for this script")
            if request.query_params.get("force") != "true":
                _refuse_changed_secrets(target, deployed_version(ctx.store, name, with_modules=False))
        deployment = await commit_deployment(
            ctx, name, traffic, source=source_of(request), annotations=body.get("annotations")
        )
    return ok(deployment.as_json())


async def get_deployments(request: Request) -> Response:
    """`GET .../scripts/{name}/deployments`."""
    ctx = get_context(request)
    name = request.path_params["script_name"]
    require_script(ctx.store, name)
    return ok({"deployments": [d.as_json() for d in list_deployments(ctx.store, name)]})


def routes() -> list[BaseRoute]:
    """Routes of this module (relative to /client/v4)."""
    base = "/accounts/{account_id}/workers/scripts/{script_name}"
    return [
        Route(base + "/versions", upload_version, methods=["POST"]),
        Route(base + "/versions", get_versions, methods=["GET"]),
        Route(base + "/versions/{version_id}", get_one_version, methods=["GET"]),
        Route(base + "/deployments", create_deployment, methods=["POST"]),
        Route(base + "/deployments", get_deployments, methods=["GET"]),
    ]
