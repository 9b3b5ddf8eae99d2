"""Writing one version of a script to disk for miniflare, and the start spec the supervisor gets for it.

`write_version(state, directory, …)` puts the module parts under their names and the assets under
`public/` at their URL paths (hard links to the stored, content-addressed files), plus the `_headers` /
`_redirects` texts of the asset config as files (miniflare parses and applies those), and returns the
JSON spec `supervisor.mjs` starts a Miniflare instance from. See `cfemu.miniflare_runtime` for how the
bindings, asset config and `run_worker_first` map onto miniflare's options.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cfemu.runtime import AssetFile, ModuleFile, ScriptState, WorkerStartupError
from cfemu.storage_files import r2_storage_name

__all__ = ["PersistDirs", "module_type_for", "safe_relative", "static_routing_from_rules", "write_version"]

# Module part Content-Type (parameters dropped) → miniflare module type. Source: wrangler's
# `moduleTypeMimeType` (create-worker-upload-form.ts), see shared/reference/cloudflare-api.md §2.1.
_MODULE_TYPES = {
    "application/javascript+module": "ESModule",
    "text/javascript+module": "ESModule",
    "application/javascript": "CommonJS",
    "text/javascript": "CommonJS",
    "application/wasm": "CompiledWasm",
    "text/plain": "Text",
    "application/octet-stream": "Data",
    "text/x-python": "PythonModule",
    "text/x-python-requirement": "PythonRequirement",
}
# Parts that are uploaded with the modules but are not modules.
_NOT_MODULES = {"application/source-map"}
# Asset paths miniflare reads as configuration (or ignores) instead of serving them.
_ASSET_META_FILES = {"_headers", "_redirects", ".assetsignore"}
# wrangler's limits for `run_worker_first` rules (workers-shared MAX_ROUTES_RULES / MAX_ROUTES_RULE_LENGTH).
_MAX_ROUTING_RULES = 100
_MAX_ROUTING_RULE_LENGTH = 100


@dataclass(frozen=True, slots=True)
class PersistDirs:
    """miniflare's `d1Persist`, `kvPersist` and `r2Persist`: where the Workers' D1, KV and R2 data lives."""

    d1: Path
    kv: Path
    r2: Path


def module_type_for(content_type: str, *, is_main: bool) -> str | None:
    """miniflare's module type for a part with `content_type`; None for parts that are not modules.

    Raises `WorkerStartupError` for a Content-Type no module type matches.
    """
    base = content_type.split(";", 1)[0].strip().lower()
    if base in _NOT_MODULES:
        return None
    module_type = _MODULE_TYPES.get(base)
    if module_type is None:
        raise WorkerStartupError(f"Unsupported module Content-Type {content_type!r}")
    if is_main and module_type == "CommonJS":
        # GUESS: a `main_module` sent as plain `application/javascript` is taken as an ES module (hand-written
        # uploads do this; `main_module` itself declares the module syntax). Real Cloudflare behaviour unverified.
        return "ESModule"
    return module_type


def static_routing_from_rules(rules: list[str]) -> dict[str, list[str]]:
    """`run_worker_first` route globs → miniflare's `static_routing` (wrangler's `parseStaticRouting`).

    Raises `WorkerStartupError` with wrangler's wording for rules wrangler rejects.
    """
    if not rules:
        raise WorkerStartupError("No `run_worker_first` rules were provided; must provide at least 1 rule.")
    if len(rules) > _MAX_ROUTING_RULES:
        raise WorkerStartupError(
            f"Too many `run_worker_first` rules were provided; {len(rules)} rules provided exceeds max of "
            f"{_MAX_ROUTING_RULES}."
        )
    asset_worker: list[str] = []
    raw_asset_worker: list[str] = []
    user_worker: list[str] = []
    invalid: list[str] = []
    for rule in rules:
        if rule.startswith("!/"):
            asset_worker.append(rule[1:])
            raw_asset_worker.append(rule)
        elif rule.startswith("/"):
            user_worker.append(rule)
        elif rule.startswith("!"):
            invalid.append(f"'{rule}': negative rules must start with '!/'")
        else:
            invalid.append(f"'{rule}': rules must start with '/' or '!/'")
    if asset_worker and not user_worker:
        raise WorkerStartupError(
            "Only negative `run_worker_first` rules were provided; must provide at least 1 non-negative rule"
        )
    for group in (user_worker, raw_asset_worker):
        seen: set[str] = set()
        for rule in group:
            if len(rule) > _MAX_ROUTING_RULE_LENGTH:
                invalid.append(f"'{rule}': all rules must be less than {_MAX_ROUTING_RULE_LENGTH} characters in length")
            if rule in seen:
                invalid.append(f"'{rule}': rule is a duplicate; rules must be unique")
            if rule.endswith("*"):
                invalid.extend(
                    f"'{other}': rule '{rule}' makes it redundant"
                    for other in group
                    if other != rule and other.startswith(rule[:-1])
                )
            seen.add(rule)
    if invalid:
        raise WorkerStartupError("Invalid routes in `run_worker_first`:\n" + "\n".join(invalid))
    return {"user_worker": user_worker, "asset_worker": asset_worker}


def safe_relative(name: str, what: str) -> PurePosixPath:
    """`name` as a relative path that stays inside its directory, or raise WorkerStartupError."""
    relative = PurePosixPath(name.lstrip("/"))
    if (
        not name
        or "\x00" in name
        or "\\" in name
        or not relative.parts
        or any(p in ("..", ".") for p in relative.parts)
    ):
        raise WorkerStartupError(f"Invalid {what} name {name!r}")
    return relative


def write_version(
    state: ScriptState,
    directory: Path,
    *,
    persist: PersistDirs,
    introspect: bool,
    warn: Callable[[str], None],
) -> dict[str, Any]:
    """Write the version's files under a fresh `directory`; return the supervisor's start spec.

    `persist` holds miniflare's persist directories. Raises `WorkerStartupError` for what
    cannot run (bad module names or types, a d1, kv_namespace or r2_bucket binding without its id or name, invalid
    `run_worker_first` rules); `warn` gets a line for each binding that is left out.
    """
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    modules = _write_modules(state, directory)
    if state.main_module is not None:
        fmt = "modules"
    elif modules:
        fmt = "service-worker"
    else:
        fmt = "none"

    bindings: dict[str, Any] = {}
    d1_databases: dict[str, str] = {}
    kv_namespaces: dict[str, str] = {}
    r2_buckets: dict[str, str] = {}
    assets_binding: str | None = None
    for binding in state.bindings:
        kind, name = binding.get("type"), binding.get("name")
        if not isinstance(name, str) or not name:
            continue
        if kind in ("plain_text", "secret_text"):
            bindings[name] = str(binding.get("text", ""))
        elif kind == "json":
            bindings[name] = binding.get("json")
        elif kind == "d1":
            database_id = binding.get("id") or binding.get("database_id")
            if not isinstance(database_id, str) or not database_id:
                raise WorkerStartupError(f"binding {name} of type d1 must have a valid `id` specified")
            d1_databases[name] = database_id
        elif kind == "kv_namespace":
            kv_namespaces[name] = _required(binding, "namespace_id", name, kind)
        elif kind == "r2_bucket":
            jurisdiction = binding.get("jurisdiction") or "default"
            r2_buckets[name] = r2_storage_name(_required(binding, "bucket_name", name, kind), str(jurisdiction))
        elif kind == "assets":
            assets_binding = name
        else:
            # DIFFERENCE: other binding types (services, queues, ...) are not emulated; the Worker sees
            # no such property on `env`.
            warn(f"cfemu: {state.script_name}: binding {name} of type {kind!r} is not emulated")

    spec: dict[str, Any] = {
        "name": state.script_name,
        "version_id": state.version_id,
        "root": str(directory.resolve()),
        "format": fmt,
        "modules": [{"name": m.name, "type": t, "path": str((directory / m.name).resolve())} for m, t in modules],
        "script_path": str((directory / modules[0][0].name).resolve()) if fmt == "service-worker" else None,
        "compatibility_date": state.compatibility_date,
        "compatibility_flags": list(state.compatibility_flags),
        "bindings": bindings,
        "d1_databases": d1_databases,
        "kv_namespaces": kv_namespaces,
        "r2_buckets": r2_buckets,
        "d1_persist": str(persist.d1.resolve()),
        "kv_persist": str(persist.kv.resolve()),
        "r2_persist": str(persist.r2.resolve()),
        "introspect": introspect,
        "assets": None,
    }
    if state.assets or assets_binding is not None or state.asset_config:
        spec["assets"] = _write_assets(state, directory / "public", assets_binding, has_user_worker=fmt != "none")
    return spec


def _required(binding: dict[str, Any], key: str, name: str, kind: str) -> str:
    value = binding.get(key)
    if not isinstance(value, str) or not value:
        raise WorkerStartupError(f"binding {name} of type {kind} must have a `{key}` specified")
    return value


def _write_modules(state: ScriptState, directory: Path) -> list[tuple[ModuleFile, str]]:
    """Write the module parts; return (module, miniflare type) pairs, the main module first.

    Without a `main_module` (a service-worker upload) the first JavaScript part is the script.
    """
    modules: list[tuple[ModuleFile, str]] = []
    for module in state.modules:
        relative = safe_relative(module.name, "module")
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(module.content)
    if state.main_module is None:
        for module in state.modules:
            if _MODULE_TYPES.get(module.content_type.split(";", 1)[0].strip().lower()) in ("CommonJS", "ESModule"):
                return [(module, "CommonJS")]
        return []
    main_found = False
    for module in state.modules:
        is_main = module.name == state.main_module
        module_type = module_type_for(module.content_type, is_main=is_main)
        if module_type is None:
            continue
        if is_main:
            main_found = True
            modules.insert(0, (module, module_type))
        else:
            modules.append((module, module_type))
    if not main_found:
        raise WorkerStartupError(f"No such module {state.main_module!r}: main_module must name one of the parts")
    if modules[0][1] != "ESModule":
        raise WorkerStartupError(f"The main module {state.main_module!r} must be an ES module")
    return modules


def _write_assets(state: ScriptState, public: Path, binding: str | None, *, has_user_worker: bool) -> dict[str, Any]:
    """Write the assets and their `_headers`/`_redirects`; return the spec's `assets` part."""
    public.mkdir(parents=True, exist_ok=True)
    content_types: dict[str, str | None] = {}
    hashes: dict[str, str] = {}
    for asset in state.assets:
        relative = safe_relative(asset.path, "asset")
        if len(relative.parts) == 1 and relative.parts[0] in _ASSET_META_FILES:
            # DIFFERENCE: miniflare reads these names as configuration; Cloudflare would serve an uploaded
            # asset of that name (wrangler never uploads them).
            continue
        _place_asset(asset, public / relative)
        content_types[relative.as_posix()] = asset.content_type
        hashes[relative.as_posix()] = asset.hash
    config = state.asset_config
    for key in ("_headers", "_redirects"):
        text = config.get(key)
        if isinstance(text, str):
            (public / key).write_text(text, encoding="utf-8")

    router: dict[str, Any] = {"has_user_worker": has_user_worker}
    run_worker_first = config.get("run_worker_first")
    if run_worker_first is None and isinstance(config.get("serve_directly"), bool):
        run_worker_first = not config["serve_directly"]
    if has_user_worker:
        if isinstance(run_worker_first, bool):
            router["invoke_user_worker_ahead_of_assets"] = run_worker_first
        elif isinstance(run_worker_first, list) and all(isinstance(rule, str) for rule in run_worker_first):
            router["static_routing"] = static_routing_from_rules(list(run_worker_first))
    asset_config: dict[str, Any] = {}
    for key in ("html_handling", "not_found_handling"):
        if isinstance(config.get(key), str):
            asset_config[key] = config[key]
    return {
        "directory": str(public.resolve()),
        "binding": binding,
        "router_config": router,
        "asset_config": asset_config,
        "content_types": content_types,
        "hashes": hashes,
    }


def _place_asset(asset: AssetFile, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(asset.file, target)  # stored assets are content-addressed and never modified
    except OSError:
        shutil.copyfile(asset.file, target)
