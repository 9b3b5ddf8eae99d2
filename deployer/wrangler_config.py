"""A wrangler project's configuration (`wrangler.toml`, `wrangler.json`, `wrangler.jsonc`) as this deployer's
settings, for an app folder without `app.yml` (with both, `app.yml` is read and the wrangler file is not: the
example app keeps a `wrangler.toml` beside its `app.yml` for comparing with wrangler).

| wrangler key                                   | setting                                                |
|------------------------------------------------|--------------------------------------------------------|
| `name`, `main`, `compatibility_date`, `compatibility_flags`, `account_id` | the same                    |
| `[vars]` (text values)                         | `vars`                                                 |
| `[assets]` `html_handling`, `not_found_handling`, `run_worker_first` | `assets`                         |
| `[assets]` `directory`, `binding`              | `assets_dir` (default `public`), `assets_binding` (`ASSETS`) |
| `[[d1_databases]]` `binding`, `database_name`  | `d1.binding`, `d1.name` (one database; the name is required) |
| `[[d1_databases]]` `migrations_dir`            | `migrations_dir` (default `migrations`)                |
| `[[d1_databases]]` `database_id`               | noted, not used: the database is found by its name, as |
|                                                | on every deploy                                        |
| `[[kv_namespaces]]` `binding`, `id`            | `kv` (without `id`: the namespace titled `<name>-<binding>`, |
|                                                | wrangler's auto-provisioned name, found or created)    |
| `[[r2_buckets]]` `binding`, `bucket_name`      | `r2` (without `bucket_name`: `<name>-<binding>`)       |
| `[triggers]` `crons`                           | `triggers.crons`                                       |
| `preview_id`, `preview_bucket_name`, `remote`  | noted, not used (they are for `wrangler dev`)          |

Anything else is named before any request: keys that change what runs (other bindings, `routes`, `[build]`,
`[env.*]`, …) are refused, each with what to do (`UNSUPPORTED_HINTS`); keys that only tune tooling (`$schema`,
`observability`, `send_metrics`, …) are noted as not applied. Sources: wrangler's configuration reference and
`packages/workers-utils/src/config/config.ts` (the keys); the file names and their order are wrangler's
(`wrangler.json`, `wrangler.jsonc`, `wrangler.toml`: `packages/workers-utils/src/config/config-helpers.ts`).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deployer._files import read_app_file
from deployer.errors import ConfigError

__all__ = ["CONFIG_FILES", "UNSUPPORTED_HINTS", "WranglerConfig", "read_wrangler_config", "strip_jsonc"]

CONFIG_FILES = ("wrangler.json", "wrangler.jsonc", "wrangler.toml")
_TOOLING = frozenset({"$schema", "observability", "send_metrics", "preview_urls", "upload_source_maps", "logpush"})
# What to do instead, for each key this deployer does not apply (`UNSUPPORTED_HINTS` is shared with app.yml).
UNSUPPORTED_HINTS = {
    "routes": "this deployer serves the app on workers.dev only; remove routes (or deploy with wrangler)",
    "route": "this deployer serves the app on workers.dev only; remove route (or deploy with wrangler)",
    "env": "one environment per app: give each its own folder or name (--name) instead of [env.*]",
    "build": "run the build in a workflow step before deploying and point main at its output",
    "durable_objects": "Durable Objects are not supported: deploy this Worker with wrangler",
    "migrations": "Durable Object migrations are not supported: deploy this Worker with wrangler",
    "services": "service bindings are not supported: call the other Worker over HTTP, or deploy with wrangler",
    "queues": "queues are not supported: deploy this Worker with wrangler",
    "ai": "the AI binding is not supported: call Workers AI over its REST API with a secret token, or deploy with "
    "wrangler",
    "vectorize": "Vectorize bindings are not supported: deploy this Worker with wrangler",
    "hyperdrive": "Hyperdrive bindings are not supported: deploy this Worker with wrangler",
    "workflows": "Workflows are not supported: deploy this Worker with wrangler",
    "analytics_engine_datasets": "Analytics Engine bindings are not supported: deploy this Worker with wrangler",
    "browser": "the Browser Rendering binding is not supported: deploy this Worker with wrangler",
    "send_email": "email bindings are not supported: deploy this Worker with wrangler",
    "dispatch_namespaces": "Workers for Platforms is not supported: deploy this Worker with wrangler",
    "tail_consumers": "tail Workers are not supported: remove tail_consumers",
    "containers": "containers are not supported: deploy this Worker with wrangler",
    "secrets_store_secrets": "Secrets Store bindings are not supported: declare the secret (secrets:) instead",
    "unsafe": "unsafe bindings are not supported: remove unsafe",
    "site": "Workers Sites are replaced by static assets: use [assets] directory",
    "wasm_modules": "service-worker modules are not supported: import the file from the Worker instead",
    "text_blobs": "service-worker modules are not supported: import the file from the Worker instead",
    "data_blobs": "service-worker modules are not supported: import the file from the Worker instead",
    "no_bundle": "the Worker is bundled only when it must be (TypeScript, npm packages): remove no_bundle",
    "find_additional_modules": "modules imported by relative path are found without it: remove it",
    "rules": "module rules are not supported: .txt, .html and .sql imports are text; remove rules",
    "minify": "the bundle is not minified: remove minify",
    "tsconfig": "the app folder's tsconfig.json is used: move it there and remove the tsconfig key",
    "define": "build-time defines are not supported: use vars instead",
    "alias": "import aliases are not supported: use tsconfig.json paths inside the app folder",
    "node_compat": 'use compatibility_flags = ["nodejs_compat"] instead of node_compat',
    "keep_vars": "vars set outside this deployer are replaced on deploy: declare every var in the configuration",
    "placement": "Smart Placement is not supported: remove placement",
    "limits": "CPU limits are not supported: remove limits",
}


@dataclass(frozen=True, slots=True)
class WranglerConfig:
    """Settings read from one wrangler configuration file, with where each came from and what was noted."""

    path: Path
    values: dict[str, Any]
    origins: dict[str, str]
    notes: tuple[str, ...] = field(default=())


def read_wrangler_config(root: Path) -> WranglerConfig | None:
    """The first of `CONFIG_FILES` in `root`, as settings; None when there is none. `ConfigError` for a file that
    does not parse, or that asks for what this deployer does not do (every such key named at once)."""
    for name in CONFIG_FILES:
        raw = read_app_file(root / name, root)
        if raw is not None:
            return _settings(root, root / name, _parse(root / name, raw))
    return None


def _parse(path: Path, raw: bytes) -> dict[str, Any]:
    text = raw.decode("utf-8", errors="replace")
    try:
        document = tomllib.loads(text) if path.suffix == ".toml" else json.loads(strip_jsonc(text))
    except (tomllib.TOMLDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ConfigError(f"{path} does not parse: {exc}", hint="Fix its syntax.", file=path) from None
    except RecursionError:
        raise ConfigError(f"{path} does not parse: it is nested too deeply", file=path) from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path} must hold a table of settings", file=path)
    return document


def strip_jsonc(text: str) -> str:
    """JSON with comments (`//`, `/* */`) and trailing commas, as plain JSON; strings are left as they are."""
    out: list[str] = []
    i, in_string = 0, False
    while i < len(text):
        char = text[i]
        if in_string:
            out.append(char)
            if char == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = len(text) if end == -1 else end + 2
            continue
        elif char in "}]":
            while out and out[-1].isspace():
                out.pop()
            if out and out[-1] == ",":
                out.pop()
            out.append(char)
        else:
            out.append(char)
        i += 1
    return "".join(out)


_HANDLED = frozenset(
    {"name", "main", "compatibility_date", "compatibility_flags", "account_id", "vars", "assets", "d1_databases"}
    | {"workers_dev", "kv_namespaces", "r2_buckets", "triggers"}
)


def _settings(root: Path, path: Path, document: Mapping[str, Any]) -> WranglerConfig:
    values: dict[str, Any] = {}
    refused: list[str] = []
    notes: list[str] = []
    for key in ("name", "main", "compatibility_date", "compatibility_flags", "account_id"):
        if key in document:
            values[key] = document[key]
    if document.get("workers_dev") is False:
        refused.append("workers_dev = false: this deployer serves the app on workers.dev")
    if "vars" in document:
        values["vars"] = _vars(document["vars"], refused)
    if "assets" in document:
        values["assets"] = _assets(document["assets"], refused, values)
        _require_folder(root, "assets.directory", values.get("assets_dir", "public"), refused)
    else:
        values["assets_dir"] = None  # wrangler publishes assets only when [assets] says so (not public/ by itself)
    if "d1_databases" in document:
        values["d1"] = _d1(document["d1_databases"], refused, notes, values)
    if "kv_namespaces" in document:
        values["kv"] = _storage("kv_namespaces", document["kv_namespaces"], {"id": "id"}, refused, notes)
    if "r2_buckets" in document:
        values["r2"] = _storage("r2_buckets", document["r2_buckets"], {"bucket_name": "bucket"}, refused, notes)
    if "triggers" in document:
        values["triggers"] = _triggers(document["triggers"], refused)
    for key in sorted(set(document) - _HANDLED):
        if key in _TOOLING:
            notes.append(f"{path.name}: {key} is not applied by this deployer")
        else:
            refused.append(f"{key}: {UNSUPPORTED_HINTS.get(key, 'not supported by this deployer')}")
    if refused:
        raise ConfigError(
            f"{path} asks for what this deployer does not do:\n" + "\n".join(f"  {line}" for line in refused),
            hint="Remove or change the keys named above (nothing was deployed), or deploy this project with wrangler.",
            file=path,
        )
    origins = {key: f"{path.name} key {_WRANGLER_KEYS.get(key, key)}" for key in values}
    return WranglerConfig(path=path, values=values, origins=origins, notes=tuple(notes))


_WRANGLER_KEYS = {"d1": "d1_databases", "kv": "kv_namespaces", "r2": "r2_buckets"}  # setting → wrangler's key


def _storage(
    key: str, raw: Any, fields: dict[str, str], refused: list[str], notes: list[str]
) -> dict[str, dict[str, Any]]:
    """`[[kv_namespaces]]` / `[[r2_buckets]]`: binding → the setting's fields (`fields` maps wrangler's key to
    the setting's). Without an id or name, the resource is found or created under wrangler's provisioned name."""
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        refused.append(f"{key}: must be a list of tables ([[{key}]])")
        return {}
    found: dict[str, dict[str, Any]] = {}
    for entry in raw:
        binding = entry.get("binding")
        if not isinstance(binding, str):
            refused.append(f'{key}: an entry without its binding name (binding = "NAME")')
            continue
        if binding in found:
            refused.append(f"{key}: the binding {binding} is listed twice (each name on env is one binding)")
            continue
        found[binding] = {setting: entry[wrangler] for wrangler, setting in fields.items() if wrangler in entry}
        for dev_only in ("preview_id", "preview_bucket_name", "remote"):
            if dev_only in entry:
                notes.append(f"{key}.{dev_only} is for wrangler dev and is not used (binding {binding})")
        unknown = sorted(set(entry) - {"binding", *fields, "preview_id", "preview_bucket_name", "remote"})
        refused += [f"{key}.{name}: not supported by this deployer (binding {binding})" for name in unknown]
    return found


def _triggers(raw: Any, refused: list[str]) -> Any:
    if not isinstance(raw, dict):
        return raw  # the settings model names the type error
    unknown = sorted(set(raw) - {"crons"})
    refused += [f"triggers.{name}: not supported by this deployer (only crons)" for name in unknown]
    return {key: value for key, value in raw.items() if key == "crons"}


def _require_folder(root: Path, key: str, folder: Any, refused: list[str]) -> None:
    """A folder the file names must be there (wrangler fails too); its path is checked by the settings model."""
    if isinstance(folder, str) and not (root / folder).is_dir():
        refused.append(f"{key} = {folder!r}: there is no such folder in the app folder")


def _vars(raw: Any, refused: list[str]) -> Any:
    if not isinstance(raw, dict):
        return raw  # the settings model names the type error
    bad = [name for name, value in raw.items() if not isinstance(value, str)]
    if bad:
        refused.append(f"vars.{', vars.'.join(bad)}: only text vars are supported (JSON vars are not)")
    return raw


def _assets(raw: Any, refused: list[str], values: dict[str, Any]) -> Any:
    if not isinstance(raw, dict):
        return raw
    assets = dict(raw)
    if "directory" in assets:
        values["assets_dir"] = assets.pop("directory")
    if "binding" in assets:
        values["assets_binding"] = assets.pop("binding")
    unknown = sorted(set(assets) - {"html_handling", "not_found_handling", "run_worker_first"})
    refused += [f"assets.{key}: not supported by this deployer" for key in unknown]
    return {key: value for key, value in assets.items() if key not in unknown}


def _d1(raw: Any, refused: list[str], notes: list[str], values: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        refused.append("d1_databases: must be a list of tables ([[d1_databases]])")
        return {}
    if len(raw) != 1:
        refused.append(f"d1_databases: {len(raw)} databases; this deployer binds exactly one")
        return {}
    (entry,) = raw
    d1: dict[str, Any] = {}
    if "binding" in entry:
        d1["binding"] = entry["binding"]
    if "database_name" in entry:
        d1["name"] = entry["database_name"]
    if "migrations_dir" in entry:
        values["migrations_dir"] = entry["migrations_dir"]
    if "database_name" not in entry:
        refused.append("d1_databases.database_name: missing; this deployer finds (or creates) the database by its name")
    if "database_id" in entry:
        notes.append(
            "d1_databases.database_id is not used: the database is found by its name (database_name), "
            "or created, as on every deploy"
        )
    unknown = sorted(set(entry) - {"binding", "database_name", "database_id", "migrations_dir"})
    refused += [f"d1_databases.{key}: not supported by this deployer" for key in unknown]
    return d1
