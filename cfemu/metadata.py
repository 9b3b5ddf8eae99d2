"""Turning a Worker upload (multipart `metadata` + module parts) into a new `Version`.

Used by `PUT /scripts/{name}`, `POST /scripts/{name}/versions` and the settings PATCH. Rules:
- The `metadata` part is JSON (with or without a filename or `Content-Type: application/json`). Keys the
  emulator does not know are ignored, as Cloudflare does.
- Every other part is a module named by its field name, typed by its Content-Type.
  GUESS: a module part without a Content-Type counts as `application/javascript+module` when it is the
  main module, else `application/octet-stream`.
- `main_module` (ES modules) or `body_part` (service worker) must name a part, else code 10021. With no
  module parts at all the upload is an assets-only Worker and needs `assets`.
- `compatibility_date` defaults to 2021-11-02 (API uploads); `usage_model` is always `standard`.
- Bindings are checked (`cfemu.bindings`); `keep_bindings` carries over the previous version's bindings
  of the listed types whose names the new list does not use.
- An upload that sends no `keep_bindings` at all (the key absent or null) keeps the previous version's secrets
  (`secret_text`, `secret_key`) as if it had sent `keep_bindings: ["secret_text", "secret_key"]`; this holds for
  the script PUT and the version upload alike. An upload that sends `keep_bindings` keeps exactly the types it
  lists (`[]` keeps nothing), so a secret is removed by an upload that leaves it out and names other types.
  Sources: cloudflare/workers-sdk PR #5296 (commit 37c212484d, 2024-03): `wrangler deploy` then uploaded through
  the script PUT and sent the secret types in `keep_bindings` only with `--keep-vars`, and the PR says secret
  bindings "were implicitly inherited"; wrangler 4.86 `deploy/deploy.ts` still sends them only with
  `--keep-vars` or `--secrets-file` (`keepSecrets: keepVars || !!props.secretsFile`) on both of its paths (the
  PUT for a new Worker, or one with Durable Object migrations or in service-worker format; `POST …/versions`
  then `POST …/deployments` otherwise), and secrets survive `wrangler deploy` (the note "Secret retention on
  upload without keep_bindings" in the project's API reference). wrangler 4.86 `versions secret delete`
  (`versions/secrets/index.ts`, `overrideAllSecrets`) removes a secret by uploading a version that leaves it
  out with `keep_bindings: ["secret_key"]`, so a sent `keep_bindings` must turn the implicit keeping off.
  GUESS: that rule (absent means both secret types, sent means exactly the list), and that the script PUT
  follows it too. A third-party claim that an upload replaces the whole binding set (alchemy-run/alchemy
  PR #1452, its test not run) is not followed. The settings PATCH is not an upload: see `cfemu.settings`.
- `assets.jwt` must be a completion token; `keep_assets: true` (top level, as the docs say, or inside
  `assets`, as the seed writes it) reuses the previous version's manifest, and its config unless
  `assets.config` is sent.
  Sources: the upload metadata docs ("keep_assets: … retained from a previously uploaded Worker version; used in
  lieu of providing a completion token"); wrangler 4.86 `versions/secrets/index.ts` sends `keep_assets: true`
  with no `assets` object. GUESS: `keep_assets` together with an `assets` object without a `jwt` keeps the
  manifest and takes the sent `config` (undocumented; the official SDK's models say an explicit `assets` takes
  precedence, which could also mean the kept assets lose their config). The deployer sends the wrangler form.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from cfemu.assets import completed_manifest
from cfemu.bindings import SECRET_TYPES, normalise_bindings
from cfemu.context import Context
from cfemu.envelope import ApiError
from cfemu.formdata import Part
from cfemu.model import Version, modules_etag
from cfemu.runtime import ModuleFile
from cfemu.workers import version_bindings

__all__ = ["DEFAULT_COMPATIBILITY_DATE", "Upload", "build_version", "detect_handlers", "parse_upload"]

DEFAULT_COMPATIBILITY_DATE = "2021-11-02"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HTML_HANDLING = {"auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none"}
_NOT_FOUND_HANDLING = {"none", "404-page", "single-page-application"}
_HANDLER_NAMES = ("fetch", "scheduled", "queue", "email", "tail", "trace", "alarm", "test")
_JS_TYPES = ("application/javascript", "application/javascript+module", "text/javascript")


@dataclass(frozen=True, slots=True)
class Upload:
    """A parsed upload: its metadata object and module parts."""

    metadata: dict[str, Any]
    modules: tuple[ModuleFile, ...]


def _invalid(message: str) -> ApiError:
    return ApiError(400, 10021, message)


def parse_upload(parts: list[Part]) -> Upload:
    """Split form parts into metadata and modules (see the module docstring)."""
    metadata_parts = [part for part in parts if part.name == "metadata"]
    if not metadata_parts:
        # GUESS: text of the error for an upload without a metadata part.
        raise _invalid("Missing metadata part in multipart upload")
    try:
        metadata = json.loads(metadata_parts[0].text())
    except ValueError:
        raise _invalid("metadata part is not valid JSON") from None
    if not isinstance(metadata, dict):
        raise _invalid("metadata part must be a JSON object")
    main = metadata.get("main_module")
    modules = tuple(
        ModuleFile(
            name=part.name,
            content_type=part.content_type
            or ("application/javascript+module" if part.name == main else "application/octet-stream"),
            content=part.data,
        )
        for part in parts
        if part.name != "metadata"
    )
    return Upload(metadata=metadata, modules=modules)


def detect_handlers(version_modules: tuple[ModuleFile, ...], main: str | None) -> tuple[str, ...]:
    """A crude guess at the exported handlers of the main module (a runtime may report the real ones)."""
    module = next((m for m in version_modules if m.name == main), None)
    if module is None or not module.content_type.startswith(_JS_TYPES):
        return ()
    code = module.content.decode("utf-8", "replace")
    found = []
    for name in _HANDLER_NAMES:
        method = re.search(rf"\b{name}\s*(\(|:)", code)
        listener = re.search(rf"addEventListener\(\s*[\"']{name}[\"']", code)
        if method or listener:
            found.append(name)
    return tuple(found)


def _entry_point(metadata: dict[str, Any], modules: tuple[ModuleFile, ...]) -> tuple[str | None, str | None]:
    names = {module.name for module in modules}
    main, body_part = metadata.get("main_module"), metadata.get("body_part")
    for key, value in (("main_module", main), ("body_part", body_part)):
        if value is not None and (not isinstance(value, str) or value not in names):
            # GUESS: Cloudflare's text; the code 10021 is its generic validation error.
            raise _invalid(f"{key} {value!r} does not name a part of the upload (parts: {sorted(names)})")
    if modules and main is None and body_part is None:
        raise _invalid("metadata must set main_module (ES modules) or body_part (service worker)")
    return main, body_part


def _compatibility(metadata: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    date = metadata.get("compatibility_date") or DEFAULT_COMPATIBILITY_DATE
    if not isinstance(date, str) or not _DATE_RE.match(date):
        raise _invalid(f"Invalid compatibility_date {date!r}; expected YYYY-MM-DD")
    flags = metadata.get("compatibility_flags") or []
    if not isinstance(flags, list) or not all(isinstance(flag, str) for flag in flags):
        raise _invalid("compatibility_flags must be an array of strings")
    return date, tuple(flags)


def _asset_config(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise _invalid("assets.config must be an object")
    if "html_handling" in config and config["html_handling"] not in _HTML_HANDLING:
        raise _invalid(f"Invalid assets.config.html_handling {config['html_handling']!r}")
    if "not_found_handling" in config and config["not_found_handling"] not in _NOT_FOUND_HANDLING:
        raise _invalid(f"Invalid assets.config.not_found_handling {config['not_found_handling']!r}")
    rwf = config.get("run_worker_first")
    rules_ok = isinstance(rwf, list) and all(isinstance(rule, str) for rule in rwf)
    if rwf is not None and not isinstance(rwf, bool) and not rules_ok:
        raise _invalid("assets.config.run_worker_first must be a boolean or an array of route rules")
    for key in ("_headers", "_redirects"):
        if key in config and not isinstance(config[key], str):
            raise _invalid(f"assets.config.{key} must be a string")
    return dict(config)


def _assets(
    ctx: Context, metadata: dict[str, Any], previous: Version | None
) -> tuple[dict[str, dict[str, Any]] | None, dict[str, Any] | None]:
    assets = metadata.get("assets")
    if assets is not None and not isinstance(assets, dict):
        raise _invalid("assets must be an object")
    assets = assets or {}
    keep = metadata.get("keep_assets") is True or assets.get("keep_assets") is True
    if assets.get("jwt") is not None:
        return completed_manifest(ctx, assets["jwt"]), _asset_config(assets.get("config"))
    if keep and previous is not None and previous.assets_manifest is not None:
        config = _asset_config(assets["config"]) if "config" in assets else previous.asset_config
        return previous.assets_manifest, config
    # GUESS: keep_assets without a previous version that has assets leaves the version without assets.
    return None, None


def build_version(
    ctx: Context,
    *,
    script_name: str,
    upload: Upload,
    previous: Version | None,
    strict_inherit: bool,
    source: str,
    triggered_by: str | None,
) -> Version:
    """A new, not yet numbered or stored version from `upload` (see the module docstring)."""
    metadata = upload.metadata
    main, body_part = _entry_point(metadata, upload.modules)
    manifest, asset_config = _assets(ctx, metadata, previous)
    if not upload.modules and manifest is None:
        raise _invalid("An upload needs a main_module part or assets")
    date, flags = _compatibility(metadata)
    keep_types = metadata.get("keep_bindings")
    bindings = normalise_bindings(
        ctx,
        metadata.get("bindings"),
        keep_types=sorted(SECRET_TYPES) if keep_types is None else keep_types,
        previous=previous.bindings if previous else (),
        versions=version_bindings(ctx.store, script_name),
        strict_inherit=strict_inherit,
    )
    annotations = dict(metadata["annotations"]) if isinstance(metadata.get("annotations"), dict) else {}
    if triggered_by is not None:
        annotations["workers/triggered_by"] = triggered_by
    limits, placement = metadata.get("limits"), metadata.get("placement")
    return Version(
        id=str(uuid.uuid4()),
        script_name=script_name,
        number=0,
        created_on="",
        source=source,
        main_module=main,
        body_part=body_part,
        modules=upload.modules,
        bindings=bindings,
        compatibility_date=date,
        compatibility_flags=flags,
        assets_manifest=manifest,
        asset_config=asset_config,
        limits=limits if isinstance(limits, dict) else None,
        placement=placement if isinstance(placement, dict) else None,
        annotations=annotations,
        handlers=detect_handlers(upload.modules, main or body_part),
        etag=modules_etag(upload.modules),
    )
