"""Worker scripts: upload-and-deploy, list, download, delete, and the `services` view wrangler reads.

- `PUT /accounts/{a}/workers/scripts/{name}[?excludeScript=&bindings_inherit=strict]`: multipart upload
  (`cfemu.metadata`); creates the script if needed, a new version and a 100% deployment. Also applies the
  non-versioned `tags`, `logpush`, `observability` and `tail_consumers` from the metadata. The answer's
  `deployment_id` is the new *version* id (wrangler prints it as "Current Version ID").
  On an account without a workers.dev subdomain, the upload that would create a new script is refused with
  code 10063 and nothing is created. Sources: cloudflare/workers-sdk issue #9045 (wrangler 4.13, a first
  project on a new account: "A request to the Cloudflare API (/accounts/…/workers/scripts/…) failed. You need a
  workers.dev subdomain in order to proceed. Please go to the dashboard and open the Workers menu. Opening the
  Workers landing page for the first time will create a workers.dev subdomain automatically. [code: 10063]")
  and PR #14494 (after 4.86: "the worker upload API rejects the first script upload with error 10063 until one
  exists"; existing Workers are unaffected). GUESS: HTTP 400; that only the creation is refused (an existing
  script's uploads go on after the account's subdomain is deleted); and that it is checked before the upload
  itself is validated.
- `GET /accounts/{a}/workers/scripts` → list of script objects (described by their deployed version).
- `GET /accounts/{a}/workers/scripts/{name}` → **raw content, not enveloped**: for ES modules a
  `multipart/form-data` body with one part per module of the deployed version (the seed: "the response is
  multipart"); for a service worker the script text itself.
  GUESS: the `cf-entrypoint` header naming the main module.
- `GET /accounts/{a}/workers/scripts/{name}/content/v2[?version=<id>]` → the same raw body and header, of
  version `<id>` (default: the deployed version). Source: the official SDK's `scripts.content.get` (the
  `/content/v2` path) and wrangler 4.86's `packages/wrangler/src/versions/secrets/index.ts`, which reads a
  version's modules from it (`parseModules`). GUESS: an unknown version id is HTTP 404 code 10007.
- `DELETE /accounts/{a}/workers/scripts/{name}[?force=]` → envelope with result null. Removes versions,
  deployments, secrets and the workers.dev toggle; D1 databases stay. `DELETE /workers/services/{name}`
  (what `wrangler delete` calls) does the same.
- `GET /accounts/{a}/workers/services/{name}` → `{default_environment: {environment: "production",
  script: {...}}}`, or HTTP 404 code 10090 when the Worker does not exist.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cfemu.context import Context, get_context, source_of
from cfemu.envelope import ApiError, ok
from cfemu.formdata import read_form_parts
from cfemu.metadata import build_version, parse_upload
from cfemu.model import Version
from cfemu.names import check_script_name, check_tags
from cfemu.subdomains import account_subdomain
from cfemu.views import script_json
from cfemu.workers import (
    commit_version,
    delete_script,
    deployed_version,
    get_script,
    get_version,
    latest_version,
    list_scripts,
    require_script,
)

__all__ = ["routes"]

# The text of code 10063, as issue cloudflare/workers-sdk#9045 quotes it.
_SUBDOMAIN_REQUIRED = (
    "You need a workers.dev subdomain in order to proceed. Please go to the dashboard and open the Workers menu."
    " Opening the Workers landing page for the first time will create a workers.dev subdomain automatically."
)


def _script_settings(metadata: dict[str, Any]) -> dict[str, Any]:
    """The non-versioned settings a PUT's metadata sets."""
    update: dict[str, Any] = {}
    tags = metadata.get("tags")
    if tags is not None:
        update["tags"] = check_tags(tags)
    if isinstance(metadata.get("logpush"), bool):
        update["logpush"] = metadata["logpush"]
    if isinstance(metadata.get("observability"), dict):
        update["observability"] = metadata["observability"]
    consumers = metadata.get("tail_consumers")
    if (consumers is None or isinstance(consumers, list)) and "tail_consumers" in metadata:
        update["tail_consumers"] = consumers
    return update


async def put_script(request: Request) -> Response:
    """`PUT /accounts/{a}/workers/scripts/{name}`: upload a new version and deploy it."""
    ctx = get_context(request)
    name = check_script_name(request.path_params["script_name"])
    upload = parse_upload(await read_form_parts(request))
    source = source_of(request)
    async with ctx.write_lock:
        if get_script(ctx.store, name) is None and account_subdomain(ctx.store) is None:
            raise ApiError(400, 10063, _SUBDOMAIN_REQUIRED)
        version = build_version(
            ctx,
            script_name=name,
            upload=upload,
            previous=latest_version(ctx.store, name),
            strict_inherit=request.query_params.get("bindings_inherit") == "strict",
            source=source,
            triggered_by="upload",
        )
        version, _ = await commit_version(
            ctx, version, deploy=True, source=source, settings_update=_script_settings(upload.metadata)
        )
    result = script_json(require_script(ctx.store, name), version)
    result["deployment_id"] = version.id
    return ok(result)


async def list_all(request: Request) -> Response:
    """`GET /accounts/{a}/workers/scripts`."""
    ctx = get_context(request)
    return ok(
        [
            script_json(script, deployed_version(ctx.store, script.name, with_modules=False))
            for script in list_scripts(ctx.store)
        ]
    )


def _content_response(version: Version) -> Response:
    """The raw modules of `version`: one multipart part per module, or a service worker's script itself."""
    entry = version.main_module or version.body_part or ""
    headers = {"cf-entrypoint": entry} if entry else {}
    if version.body_part is not None and version.main_module is None:
        module = next(m for m in version.modules if m.name == version.body_part)
        return Response(module.content, media_type=module.content_type, headers=headers)
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    for module in version.modules:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{module.name}"; filename="{module.name}"\r\n'
            f"Content-Type: {module.content_type}\r\n\r\n".encode()
        )
        chunks.append(module.content + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return Response(b"".join(chunks), media_type=f"multipart/form-data; boundary={boundary}", headers=headers)


def _live_version(ctx: Context, name: str) -> Version:
    """The deployed version of `name` with its modules (the newest if none is deployed)."""
    require_script(ctx.store, name)
    version = deployed_version(ctx.store, name) or latest_version(ctx.store, name)
    assert version is not None, "a script always has a version"
    return version


async def get_content(request: Request) -> Response:
    """`GET /accounts/{a}/workers/scripts/{name}`: the raw modules of the deployed version."""
    return _content_response(_live_version(get_context(request), request.path_params["script_name"]))


async def get_content_v2(request: Request) -> Response:
    """`GET /accounts/{a}/workers/scripts/{name}/content/v2[?version=<id>]`: the raw modules of a version."""
    ctx = get_context(request)
    name = request.path_params["script_name"]
    version_id = request.query_params.get("version")
    if version_id is None:
        return _content_response(_live_version(ctx, name))
    require_script(ctx.store, name)
    version = get_version(ctx.store, name, version_id)
    if version is None:
        raise ApiError(404, 10007, "workers.api.error.version_not_found")
    return _content_response(version)


async def delete(request: Request) -> Response:
    """`DELETE /accounts/{a}/workers/scripts/{name}` (and `/workers/services/{name}`)."""
    ctx = get_context(request)
    name = request.path_params["script_name"]
    async with ctx.write_lock:
        require_script(ctx.store, name)
        delete_script(ctx.store, name)
        await ctx.runtime.stop(name)
    return ok(None)


async def get_service(request: Request) -> Response:
    """`GET /accounts/{a}/workers/services/{name}`."""
    ctx = get_context(request)
    name = request.path_params["script_name"]
    script = get_script(ctx.store, name)
    if script is None:
        raise ApiError(404, 10090, "workers.api.error.service_not_found")
    version = deployed_version(ctx.store, name, with_modules=False)
    return ok(
        {
            "id": name,
            "created_on": script.created_on,
            "modified_on": script.modified_on,
            "default_environment": {
                "environment": "production",
                "created_on": script.created_on,
                "modified_on": script.modified_on,
                "script": script_json(script, version),
            },
            "environments": [{"environment": "production", "created_on": script.created_on}],
        }
    )


def routes() -> list[BaseRoute]:
    """Routes of this module (relative to /client/v4)."""
    base = "/accounts/{account_id}/workers"
    return [
        Route(base + "/scripts", list_all, methods=["GET"]),
        Route(base + "/scripts/{script_name}", put_script, methods=["PUT"]),
        Route(base + "/scripts/{script_name}", get_content, methods=["GET"]),
        Route(base + "/scripts/{script_name}/content/v2", get_content_v2, methods=["GET"]),
        Route(base + "/scripts/{script_name}", delete, methods=["DELETE"]),
        Route(base + "/services/{script_name}", get_service, methods=["GET"]),
        Route(base + "/services/{script_name}", delete, methods=["DELETE"]),
    ]
