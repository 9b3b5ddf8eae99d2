"""Where settings come from, before the model validates them: the environment (`INPUT_*` and the conventional
names), `app.yml` (with the line of each key, for annotations), and the text forms of `vars` and `secrets`.
`deployer.settings` merges what these return and turns a validation error into a `ConfigError` here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from deployer._files import read_app_file
from deployer.errors import ConfigError
from deployer.wrangler_config import UNSUPPORTED_HINTS

__all__ = [
    "APP_YML_KEYS",
    "ENVIRONMENT",
    "config_error",
    "from_app_yml",
    "from_environment",
    "parse_secret_names",
    "parse_var_flags",
]

# field -> environment variables, first match wins (inputs before conventional names).
ENVIRONMENT: dict[str, tuple[str, ...]] = {
    "api_token": ("INPUT_API-TOKEN", "CLOUDFLARE_API_TOKEN"),
    "account_id": ("INPUT_ACCOUNT-ID", "CLOUDFLARE_ACCOUNT_ID"),
    "api_base_url": ("INPUT_API-BASE-URL", "CLOUDFLARE_API_BASE_URL"),
    "app_dir": ("INPUT_APP-DIR",),
    "name": ("INPUT_NAME",),
    "vars": ("INPUT_VARS",),
    "secrets": ("INPUT_SECRETS",),
    "app_password": ("INPUT_APP-PASSWORD", "APP_PASSWORD"),
    "session_secret": ("INPUT_SESSION-SECRET", "SESSION_SECRET"),
}
APP_YML_KEYS = (
    "name",
    "main",
    "compatibility_date",
    "compatibility_flags",
    "assets",
    "d1",
    "kv",
    "r2",
    "triggers",
    "vars",
    "secrets",
    "checks",
)


def from_environment(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for field, names in ENVIRONMENT.items():
        for name in names:
            raw = environ.get(name, "").strip()
            if raw:
                values[field] = _parse_env_value(field, raw, name)
                origins[field] = name
                break
    return values, origins


def _parse_env_value(field: str, raw: str, name: str) -> Any:
    """Inputs are strings; `vars` is a YAML/JSON mapping or `KEY=VALUE` lines, `secrets` a list of names."""
    if field == "vars":
        if "=" in raw and ":" not in raw.split("=", 1)[0]:
            values: dict[str, str] = {}
            for number, line in enumerate(raw.splitlines(), start=1):
                if not line.strip():
                    continue
                key, sep, value = line.partition("=")
                if not sep:
                    raise ConfigError(
                        f"{name} line {number} has no '=': {key.strip()[:40]!r}",
                        hint="Write one NAME=value per line, or a YAML mapping.",
                    )
                values[key.strip()] = value
            return values
        try:
            return _scalars_as_text(yaml.safe_load(raw))
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"{name} is neither NAME=value lines nor a YAML mapping: {getattr(exc, 'problem', None) or exc}",
                hint="Write one NAME=value per line, or a YAML mapping such as `GREETING: hello`.",
            ) from None
    if field == "secrets":
        return parse_secret_names(raw)
    return raw


def from_app_yml(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    data = read_app_file(path, path.parent) if path.parent.is_dir() else None
    if data is None:
        return {}, {}
    try:
        document = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})", hint="Save app.yml as UTF-8.", file=path
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{path} is not valid YAML: {problem}",
            hint="Fix the YAML syntax (indentation, quotes, ':' after each key).",
            file=path,
            line=line,
        ) from None
    if document is None:
        return {}, {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path} must be a mapping of settings", hint=_known_keys(), file=path)
    unknown = sorted(set(document) - set(APP_YML_KEYS), key=str)
    if unknown:
        described = "\n".join(f"  {key}: {_instead(str(key))}" for key in unknown)
        raise ConfigError(
            f"{path} has settings this deployer does not support (nothing was deployed):\n{described}",
            hint=_known_keys(),
            file=path,
            line=min((line for key in unknown if (line := _line_of(path, str(key))) is not None), default=None),
        )
    values = dict(document)
    if isinstance(values.get("compatibility_date"), dt.date):  # YAML reads an unquoted 2025-01-01 as a date
        values["compatibility_date"] = values["compatibility_date"].isoformat()
    if isinstance(values.get("secrets"), str):  # `secrets: APP_PASSWORD` means a list of one
        values["secrets"] = [values["secrets"]]
    if "vars" in values:
        values["vars"] = _scalars_as_text(values["vars"])
    return values, {key: f"app.yml key {key}" for key in document}


def _scalars_as_text(value: Any) -> Any:
    """`vars` are text bindings: YAML's numbers, booleans and dates become the text they were written as."""
    if not isinstance(value, dict):
        return value
    converted: dict[Any, Any] = {}
    for key, item in value.items():
        if isinstance(item, bool):
            converted[key] = "true" if item else "false"
        elif isinstance(item, int | float | dt.date):
            converted[key] = item.isoformat() if isinstance(item, dt.date) else str(item)
        else:
            converted[key] = item
    return converted


# wrangler's names for what app.yml spells its own way.
_APP_YML_SPELLING = {
    "kv_namespaces": "write kv: {BINDING: namespace title} in app.yml",
    "r2_buckets": "write r2: {BINDING: bucket name} in app.yml",
    "d1_databases": "write d1: {name: database name, binding: DB} in app.yml",
    "crons": 'write triggers: {crons: ["*/30 * * * *"]} in app.yml',
    "compatibility-date": "write compatibility_date",
}


def _instead(key: str) -> str:
    """What to do about an app.yml key this deployer does not know."""
    return _APP_YML_SPELLING.get(key) or UNSUPPORTED_HINTS.get(key) or "not a setting of this deployer (a typo?)"


def _known_keys() -> str:
    return f"Known keys: {', '.join(APP_YML_KEYS)}."


def _line_of(path: Path, key: str) -> int | None:
    """The line where `key:` starts in a YAML file, for `::error file=…,line=…::` annotations."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for number, text in enumerate(lines, start=1):
        if re.match(rf"^\s*{re.escape(key)}\s*:", text):
            return number
    return None


def config_error(exc: ValidationError, origins: Mapping[str, str], app_yml: Path) -> ConfigError:
    problems: list[str] = []
    first_yml: tuple[Path, int | None] | None = None
    for error in exc.errors(include_url=False):
        location = [str(part) for part in error["loc"]]
        field = location[0] if location else "settings"
        dotted = ".".join(location) or field
        origin = origins.get(field, "default")
        if origin.startswith("app.yml key"):
            origin = f"app.yml key {dotted}"
            if first_yml is None:
                first_yml = (app_yml, _line_of(app_yml, location[-1] if len(location) > 1 else field))
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"  {dotted} (from {origin}): {message}")
    noun = "setting is" if len(problems) == 1 else "settings are"
    file, line = first_yml if first_yml else (None, None)
    return ConfigError(
        f"{len(problems)} {noun} invalid:\n" + "\n".join(problems),
        hint="Fix the values named above (CLI flags override the environment, which overrides app.yml).",
        file=file,
        line=line,
    )


def parse_secret_names(raw: str) -> list[str]:
    """The `secrets` input: names separated by commas, spaces or line breaks."""
    return [name for name in re.split(r"[\s,]+", raw) if name]


def parse_var_flags(flags: Sequence[str]) -> dict[str, str]:
    """`--var KEY=VALUE` flags as a mapping; a flag without `=` is a `ConfigError`."""
    values: dict[str, str] = {}
    for flag in flags:
        key, sep, value = flag.partition("=")
        if not sep:
            raise ConfigError(f"--var {flag!r} has no '='", hint="Write it as --var NAME=value.")
        values[key] = value
    return values
