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
import posixpath
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from deployer._secret_rules import (
    check_secret_values,
    check_untrusted_app_yml,
    drop_untrusted_wrangler_names,
    reserved_names,
)
from deployer._settings_models import (
    BINDING_NAME,
    R2_BUCKET_NAME,
    AssetsConfig,
    D1Config,
    KVConfig,
    R2Config,
    TriggersConfig,
)
from deployer._settings_sources import (
    config_error,
    from_app_yml,
    from_environment,
    parse_secret_names,
    parse_var_flags,
)
from deployer.bundle import TYPESCRIPT_SUFFIXES
from deployer.checks import AppCheck
from deployer.errors import ConfigError
from deployer.wrangler_config import read_wrangler_config

__all__ = [
    "DEFAULT_API_BASE_URL",
    "DEFAULT_COMPATIBILITY_DATE",
    "R2_BUCKET_NAME",
    "AssetsConfig",
    "D1Config",
    "KVConfig",
    "R2Config",
    "Settings",
    "TriggersConfig",
    "dns_label",
    "parse_secret_names",
    "parse_var_flags",
    "worker_name_from",
]

DEFAULT_API_BASE_URL = "https://api.cloudflare.com/client/v4"
# A date the runtime bundled with miniflare 4.20260426 supports; apps should pin their own in app.yml.
DEFAULT_COMPATIBILITY_DATE = "2025-01-01"

# A Worker name becomes the first DNS label of `{name}.{subdomain}.workers.dev`, so it must be one.
_WORKER_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_BINDING_NAME = BINDING_NAME
_TOKEN = re.compile(r"^[\x21-\x7e]+$")
_ACCOUNT_ID = re.compile(r"^[0-9a-f]{32}$")
_MAX_CHECKS = 20

# Secrets with a field of their own (and an action input); other declared secrets are read by name.
_DEDICATED_SECRETS = {"APP_PASSWORD": "app_password", "SESSION_SECRET": "session_secret"}
# Where a CLI value came from, when that is not `--<field>`.
_CLI_ORIGINS = {"vars": "--var", "app_dir": "the APP_DIR argument"}


class Settings(BaseSettings):
    """Everything one deploy needs. Build it with `Settings.load()`; the instance is immutable."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    api_token: SecretStr | None = None
    account_id: str | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    app_dir: Path = Path()
    name: str | None = None
    main: str = "worker.js"  # the Worker's main module, a path in the app folder (wrangler's `main`)
    # Where the app keeps its assets and migrations, and the assets' binding (wrangler's `[assets] directory`,
    # `binding` and `migrations_dir`; app.yml apps use the defaults).
    assets_dir: str | None = "public"  # None: no assets (a wrangler file without [assets])
    assets_binding: str = "ASSETS"
    migrations_dir: str = "migrations"
    compatibility_date: str = DEFAULT_COMPATIBILITY_DATE
    compatibility_flags: tuple[str, ...] = ()
    assets: AssetsConfig = AssetsConfig()
    d1: D1Config = D1Config()
    kv: dict[str, KVConfig] = Field(default_factory=dict)  # binding name → its KV namespace
    r2: dict[str, R2Config] = Field(default_factory=dict)  # binding name → its R2 bucket
    triggers: TriggersConfig = TriggersConfig()
    vars: dict[str, str] = Field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    checks: tuple[AppCheck, ...] = ()  # the app's own checks of its live URL (`deployer.checks`)
    notes: tuple[str, ...] = ()  # what reading the configuration noticed (a wrangler key not applied, …)
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

    @field_validator("vars", "kv", "r2")
    @classmethod
    def _var_names(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        bad = [name for name in value if not _BINDING_NAME.match(name)]
        if bad:
            what = "variable" if info.field_name == "vars" else "binding"
            msg = f"{what} names must be identifiers: {', '.join(bad)}"
            raise ValueError(msg)
        return value

    @field_validator("main")
    @classmethod
    def _main_module(cls, value: str) -> str:
        normal = _inside_app(value)
        modules = (".js", ".mjs", *TYPESCRIPT_SUFFIXES)  # TypeScript and JSX are bundled (`deployer.bundle`)
        if normal is None or not normal.endswith(modules):
            msg = f"{value!r} must be a .js, .mjs or .ts file inside the app folder (e.g. worker.js or src/index.ts)"
            raise ValueError(msg)
        return normal

    @field_validator("assets_dir", "migrations_dir")
    @classmethod
    def _folder_inside(cls, value: str | None) -> str | None:
        if value is None:
            return None
        normal = _inside_app(value)
        if not normal or normal == ".":
            msg = f"{value!r} must be a folder inside the app folder (e.g. public, dist or migrations)"
            raise ValueError(msg)
        return normal

    @field_validator("assets_binding")
    @classmethod
    def _assets_binding(cls, value: str) -> str:
        if not _BINDING_NAME.match(value):
            msg = "a binding name is a JavaScript identifier such as ASSETS"
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

    def kv_titles(self) -> dict[str, str]:
        """Binding → title of the KV namespace found or created by title (wrangler's auto-provisioned name,
        `<worker>-<binding>`, when none is set); bindings given by `id` are not among them."""
        return {
            binding: config.title or resource_name(self.script_name, binding)
            for binding, config in self.kv.items()
            if config.id is None
        }

    def check_storage_names(self) -> None:
        """`ConfigError` for a bucket name made from the Worker's and the binding's names that R2 would refuse
        (too long, or ending in '-'): found before any request, with the key that fixes it."""
        for kind, names in (("KV namespace", self.kv_titles()), ("R2 bucket", self.r2_buckets())):
            shared = sorted({name for name in names.values() if list(names.values()).count(name) > 1})
            if shared:
                bindings = sorted(binding for binding, name in names.items() if name in shared)
                raise ConfigError(
                    f"The bindings {', '.join(bindings)} would share the {kind} {shared[0]!r}",
                    hint="Give each its own name (kv: {BINDING: title}, r2: {BINDING: bucket}), or bind it once.",
                )
        for binding, bucket in sorted(self.r2_buckets().items()):
            if self.r2[binding].bucket is None and not R2_BUCKET_NAME.match(bucket):
                raise ConfigError(
                    f"The R2 bucket of binding {binding} would be named {bucket!r} (the Worker's name and the "
                    "binding's), which R2 refuses: 3 to 63 lower-case letters, digits and '-', not ending in '-'",
                    hint=f"Name the bucket: r2: {{{binding}: <bucket name>}} in app.yml (bucket_name in wrangler's "
                    "[[r2_buckets]]).",
                )

    def r2_buckets(self) -> dict[str, str]:
        """Binding → name of its R2 bucket (`<worker>-<binding>` when none is set)."""
        return {
            binding: config.bucket or resource_name(self.script_name, binding) for binding, config in self.r2.items()
        }

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
        env_values, env_origins = from_environment(environ)
        layers.append(("env", env_values, env_origins))

        app_dir = Path(cli_values.get("app_dir") or env_values.get("app_dir") or ".")
        config_file, yml_values, yml_origins, notes = _app_config(app_dir)
        if config_file.name != "app.yml":
            notes = (*notes, *drop_untrusted_wrangler_names(yml_values, yml_origins, environ, config_file))
        layers.append(("app.yml", yml_values, yml_origins))

        check_untrusted_app_yml(yml_values, environ, config_file)
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
        merged["notes"] = notes
        declared = merged.get("secrets") or ()
        merged["extra_secret_values"] = {
            name: environ[name]
            for name in declared
            if isinstance(name, str) and name not in _DEDICATED_SECRETS and environ.get(name)
        }
        try:
            settings = cls(**merged)
        except ValidationError as exc:
            raise config_error(exc, origins, app_dir / "app.yml") from None
        check_secret_values(settings.secret_values(), environ)
        return settings


def _app_config(app_dir: Path) -> tuple[Path, dict[str, Any], dict[str, str], tuple[str, ...]]:
    """The app folder's configuration: app.yml, else a wrangler configuration file (`deployer.wrangler_config`);
    with both, app.yml alone is read."""
    app_yml = app_dir / "app.yml"
    wrangler = read_wrangler_config(app_dir) if not os.path.lexists(app_yml) else None
    if wrangler is not None:
        return wrangler.path, wrangler.values, wrangler.origins, wrangler.notes
    values, origins = from_app_yml(app_yml)
    return app_yml, values, origins, ()


def _inside_app(value: str) -> str | None:
    """`value` as a normalised `/`-separated path inside the app folder; None when it leads outside it, is
    absolute or uses `\\` (the checks of `main` and of the folders a wrangler file names)."""
    normal = posixpath.normpath(value.removeprefix("./")) if value else ""
    if "\\" in value or posixpath.isabs(normal) or normal == ".." or normal.startswith("../"):
        return None
    return normal


def resource_name(script: str, binding: str) -> str:
    """wrangler's name for a resource it provisions for a binding: `items-app` + `USER_FILES` → `items-app-user-files`
    (`autoProvisionedResourceName` in workers-sdk `deployment-bundle/auto-provisioned-name.ts`)."""
    return f"{script}-{binding.lower().replace('_', '-')}"


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
