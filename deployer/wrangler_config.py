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

Anything else is named before any request: keys that change what runs (other bindings, `routes`, `[build]`,
`[env.*]`, `triggers`, …) are refused, each with what to do; keys that only tune tooling (`$schema`,
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

__all__ = ["CONFIG_FILES", "WranglerConfig", "read_wrangler_config", "strip_jsonc"]

CONFIG_FILES = ("wrangler.json", "wrangler.jsonc", "wrangler.toml")
_TOOLING = frozenset({"$schema", "observability", "send_metrics", "preview_urls", "upload_source_maps", "logpush"})
_REFUSED_HINTS = {
    "routes": "this deployer serves the app on workers.dev only; remove routes (or deploy with wrangler)",
    "route": "this deployer serves the app on workers.dev only; remove route (or deploy with wrangler)",
    "env": "one environment per app: give each its own folder or name (--name) instead of [env.*]",
    "build": "run the build before deploying and point main at its output (no [build] step is run)",
    "triggers": "cron triggers are not supported yet",
    "kv_namespaces": "KV bindings are not supported yet",
    "r2_buckets": "R2 bindings are not supported yet",
    "durable_objects": "Durable Objects are not supported",
    "migrations": "Durable Object migrations are not supported",
    "services": "service bindings are not supported",
    "queues": "queues are not supported",
    "ai": "the AI binding is not supported",
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
    | {"workers_dev"}
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
    for key in sorted(set(document) - _HANDLED):
        if key in _TOOLING:
            notes.append(f"{path.name}: {key} is not applied by this deployer")
        else:
            refused.append(f"{key}: {_REFUSED_HINTS.get(key, 'not supported by this deployer')}")
    if refused:
        raise ConfigError(
            f"{path} asks for what this deployer does not do:\n" + "\n".join(f"  {line}" for line in refused),
            hint="Remove or change the keys named above (nothing was deployed), or deploy this project with wrangler.",
            file=path,
        )
    origins = {key: f"{path.name} key {'d1_databases' if key == 'd1' else key}" for key in values}
    return WranglerConfig(path=path, values=values, origins=origins, notes=tuple(notes))


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
