"""The one settings model shared by the CLI, the GitHub Action and the tests.

Values come from four places; for each field the first that sets it wins:

1. **CLI flags** (`--name`, `--account-id`, `--var KEY=VALUE`, …);
2. **the environment**: GitHub's `INPUT_*` variables (ids upper-cased, hyphens kept, so the input `api-token`
   arrives as `INPUT_API-TOKEN`), then the conventional names (`CLOUDFLARE_API_TOKEN`, `CLOUDFLARE_ACCOUNT_ID`,
   `CLOUDFLARE_API_BASE_URL`, `APP_PASSWORD`, `SESSION_SECRET`). An empty variable counts as unset, because
   the runner passes every declared input, empty when the workflow leaves it out;
3. **`app.yml`** in the app folder (optional);
4. the defaults below.

`Settings.load()` merges them and validates once, so a user sees every problem together. A validation error
names the field *and where its value came from* (`app.yml key assets.html_handling`, `INPUT_NAME`, `--name`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from deployer._files import read_app_file
from deployer._secret_rules import check_secret_values, check_untrusted_app_yml, reserved_names
from deployer.checks import AppCheck
from deployer.errors import ConfigError

__all__ = [
    "DEFAULT_API_BASE_URL",
    "DEFAULT_COMPATIBILITY_DATE",
    "AssetsConfig",
    "D1Config",
    "Settings",
    "dns_label",
    "worker_name_from",
]

DEFAULT_API_BASE_URL = "https://api.cloudflare.com/client/v4"
# A date the runtime bundled with miniflare 4.20260426 supports; apps should pin their own in app.yml.
DEFAULT_COMPATIBILITY_DATE = "2025-01-01"

# A Worker name becomes the first DNS label of `{name}.{subdomain}.workers.dev`, so it must be one.
_WORKER_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# GUESS: D1 accepts letters, digits, '-' and '_' (wrangler does not validate; the API refuses others).
_D1_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_BINDING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOKEN = re.compile(r"^[\x21-\x7e]+$")
_ACCOUNT_ID = re.compile(r"^[0-9a-f]{32}$")
_MAX_CHECKS = 20

# field -> environment variables, first match wins (inputs before conventional names).
_ENVIRONMENT: dict[str, tuple[str, ...]] = {
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
# Secrets with a field of their own (and an action input); other declared secrets are read by name.
_DEDICATED_SECRETS = {"APP_PASSWORD": "app_password", "SESSION_SECRET": "session_secret"}
# Where a CLI value came from, when that is not `--<field>`.
_CLI_ORIGINS = {"vars": "--var", "app_dir": "the APP_DIR argument"}
_APP_YML_KEYS = ("name", "compatibility_date", "compatibility_flags", "assets", "d1", "vars", "secrets", "checks")


class AssetsConfig(BaseModel):
    """How Cloudflare serves `public/` (sent as `assets.config` with the Worker)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    html_handling: Literal["auto-trailing-slash", "force-trailing-slash", "drop-trailing-slash", "none"] = (
        "auto-trailing-slash"
    )
    not_found_handling: Literal["none", "404-page", "single-page-application"] = "none"
    run_worker_first: bool | list[str] = False

    @field_validator("run_worker_first")
    @classmethod
    def _route_globs(cls, value: bool | list[str]) -> bool | list[str]:
        if isinstance(value, list):
            bad = [rule for rule in value if not rule.startswith(("/", "!/"))]
            if bad:
                msg = f"rules must start with '/' or '!/': {', '.join(bad)}"
                raise ValueError(msg)
        return value


class D1Config(BaseModel):
    """The app's D1 database: found by `name` (default `<worker name>-db`), bound as `binding`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    binding: str = "DB"

    @field_validator("name")
    @classmethod
    def _d1_name(cls, value: str | None) -> str | None:
        if value is not None and not _D1_NAME.match(value):
            msg = "use letters, digits, '-' and '_' (at most 64 characters)"
            raise ValueError(msg)
        return value

    @field_validator("binding")
    @classmethod
    def _binding(cls, value: str) -> str:
        if not _BINDING_NAME.match(value):
            msg = "a binding name is a JavaScript identifier such as DB"
            raise ValueError(msg)
        return value


class Settings(BaseSettings):
    """Everything one deploy needs. Build it with `Settings.load()`; the instance is immutable."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    api_token: SecretStr | None = None
    account_id: str | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    app_dir: Path = Path()
    name: str | None = None
    compatibility_date: str = DEFAULT_COMPATIBILITY_DATE
    compatibility_flags: tuple[str, ...] = ()
    assets: AssetsConfig = AssetsConfig()
    d1: D1Config = D1Config()
    vars: dict[str, str] = Field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    checks: tuple[AppCheck, ...] = ()  # the app's own checks of its live URL (`deployer.checks`)
    app_password: SecretStr | None = None
    session_secret: SecretStr | None = None
    # Values of declared secrets without a field of their own, read from the environment by name.
    extra_secret_values: dict[str, SecretStr] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only explicit values: `load()` gathers and ranks the sources itself, to say where each came from."""
        return (init_settings,)

    @field_validator("api_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked here so that a pasted token with a line break or a stray character fails clearly,
        # without ever echoing it (an HTTP library would quote the header value in its error).
        if value is not None and not _TOKEN.match(value.get_secret_value()):
            msg = "the API token must be printable ASCII without spaces or line breaks (check how it was pasted)"
            raise ValueError(msg)
        return value

    @field_validator("api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            msg = "must be an http(s) URL such as https://api.cloudflare.com/client/v4"
            raise ValueError(msg)
        return value.rstrip("/")

    @field_validator("name")
    @classmethod
    def _worker_name(cls, value: str | None) -> str | None:
        if value is not None and not _WORKER_NAME.match(value):
            msg = (
                f"{value!r} is not a valid Worker name: use lower-case letters, digits and '-', "
                "at most 63 characters, not starting or ending with '-'"
            )
            raise ValueError(msg)
        return value

    @field_validator("compatibility_date")
    @classmethod
    def _date(cls, value: str) -> str:
        try:
            date = dt.date.fromisoformat(value)
        except ValueError:
            msg = f"{value!r} is not a date in the form YYYY-MM-DD"
            raise ValueError(msg) from None
        today = dt.datetime.now(dt.UTC).date()
        if date > today:
            msg = f"{value} is in the future (today is {today.isoformat()}, UTC), which Cloudflare refuses"
            raise ValueError(msg)
        return value

    @field_validator("account_id")
    @classmethod
    def _account_id(cls, value: str | None) -> str | None:
        # Cloudflare account ids are 32 lower-case hex digits (the id in the dashboard's URL); wrangler does not
        # check, and a typo would otherwise come back as "the token was rejected".
        if value is not None and not _ACCOUNT_ID.match(value):
            msg = "an account id is 32 hexadecimal characters, as in the dashboard URL dash.cloudflare.com/<id>"
            raise ValueError(msg)
        return value

    @field_validator("vars")
    @classmethod
    def _var_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value if not _BINDING_NAME.match(name)]
        if bad:
            msg = f"variable names must be identifiers: {', '.join(bad)}"
            raise ValueError(msg)
        return value

    @field_validator("checks")
    @classmethod
    def _few_checks(cls, value: tuple[AppCheck, ...]) -> tuple[AppCheck, ...]:
        if len(value) > _MAX_CHECKS:  # each may wait 10 s: an app folder must not stall a run
            msg = f"at most {_MAX_CHECKS} checks, not {len(value)}"
            raise ValueError(msg)
        return value

    @field_validator("secrets")
    @classmethod
    def _secret_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [name for name in value if not _BINDING_NAME.match(name)]
        if bad:
            msg = f"secret names must be identifiers: {', '.join(bad)}"
            raise ValueError(msg)
        reserved = reserved_names(value)
        if reserved:
            msg = (
                f"{', '.join(reserved)} names the deployer's or the runner's own variable, whose value must not "
                "become a Worker secret (names starting with CLOUDFLARE_, CF_, GITHUB_, ACTIONS_, RUNNER_ or "
                "INPUT_ are refused); give the secret another name"
            )
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _no_clashes(self) -> Settings:
        clash = sorted(set(self.vars) & set(self.secrets))
        if clash:
            msg = f"{', '.join(clash)} is declared both as a var and as a secret; pick one"
            raise ValueError(msg)
        return self

    # --- derived values -------------------------------------------------------------------------------

    @property
    def script_name(self) -> str:
        """The Worker's name: the `name` setting, else the app folder's name."""
        return self.name or worker_name_from(self.app_dir.resolve().name, source="the app folder's name")

    @property
    def database_name(self) -> str:
        return self.d1.name or f"{self.script_name}-db"

    def secret_values(self) -> dict[str, SecretStr]:
        """The secret values given for this deploy (a declared secret without a value keeps its remote one).

        `APP_PASSWORD` and `SESSION_SECRET` count as declared whenever a value is given for them (their inputs
        exist for exactly that), so a given password is never silently dropped.
        """
        values: dict[str, SecretStr] = {}
        for name, field in _DEDICATED_SECRETS.items():
            value = getattr(self, field)
            if value is not None:
                values[name] = value
        for name in self.secrets:
            if name not in _DEDICATED_SECRETS and name in self.extra_secret_values:
                values[name] = self.extra_secret_values[name]
        return values

    # --- loading --------------------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        *,
        cli: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Merge CLI values, the environment and `app.yml` (found in the resolved `app_dir`), then validate.

        Raises `ConfigError` naming every invalid field and where its value came from.
        """
        environ = os.environ if environ is None else environ
        layers: list[tuple[str, dict[str, Any], dict[str, str]]] = []  # (kind, values, field -> origin)
        cli_values = {key: value for key, value in (cli or {}).items() if value is not None}
        layers.append(
            ("cli", cli_values, {key: _CLI_ORIGINS.get(key, f"--{key.replace('_', '-')}") for key in cli_values})
        )
        env_values, env_origins = _from_environment(environ)
        layers.append(("env", env_values, env_origins))

        app_dir = Path(cli_values.get("app_dir") or env_values.get("app_dir") or ".")
        yml_values, yml_origins = _from_app_yml(app_dir / "app.yml")
        layers.append(("app.yml", yml_values, yml_origins))

        check_untrusted_app_yml(yml_values, environ, app_dir / "app.yml")
        merged: dict[str, Any] = {}
        origins: dict[str, str] = {}
        for _kind, values, layer_origins in reversed(layers):  # lowest precedence first
            for key, value in values.items():
                origin = layer_origins.get(key, key)
                if key == "vars" and isinstance(value, dict) and isinstance(merged.get("vars"), dict):
                    # --var and the input override app.yml's vars one key at a time.
                    value = {**merged["vars"], **value}
                    origin = f"{origins['vars']} and {origin}"
                merged[key] = value
                origins[key] = origin
        declared = merged.get("secrets") or ()
        merged["extra_secret_values"] = {
            name: environ[name]
            for name in declared
            if isinstance(name, str) and name not in _DEDICATED_SECRETS and environ.get(name)
        }
        try:
            settings = cls(**merged)
        except ValidationError as exc:
            raise _config_error(exc, origins, app_dir / "app.yml") from None
        check_secret_values(settings.secret_values(), environ)
        return settings


def worker_name_from(text: str, *, source: str) -> str:
    """`text` as the Worker's name when it already is a valid one; else a `ConfigError` that asks for an explicit
    name (deriving one would change it silently, and two folders could end up with the same Worker)."""
    if _WORKER_NAME.match(text):
        return text
    label = dns_label(text)
    became = f"it would become {label!r}" if label else "nothing of it is left as a name"
    raise ConfigError(
        f"The Worker's name would be {source}, {text!r}, which is not a valid Worker name ({became})",
        hint=(
            "Set the name explicitly: name: in app.yml, --name, or the action's input name (lower-case letters, "
            "digits and '-', at most 63 characters)."
        ),
    )


def dns_label(text: str) -> str:
    """`text` as a Worker name (one DNS label: lower-case letters, digits and '-'); empty when nothing is left."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return label[:63].rstrip("-")


def _from_environment(environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for field, names in _ENVIRONMENT.items():
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


def _from_app_yml(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
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
    unknown = sorted(set(document) - set(_APP_YML_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {', '.join(map(repr, unknown))}",
            hint=_known_keys(),
            file=path,
            line=_line_of(path, unknown[0]),
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


def _known_keys() -> str:
    return f"Known keys: {', '.join(_APP_YML_KEYS)}."


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


def _config_error(exc: ValidationError, origins: Mapping[str, str], app_yml: Path) -> ConfigError:
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
