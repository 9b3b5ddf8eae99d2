"""Deploy state: what was last deployed, stored on the Worker itself, and what is about to be.

Any runner must be able to tell "nothing changed" without a cache or local files, so the digests of the last
successful deploy travel with the script as **script tags** (`tags` in the upload metadata; read back from
`GET …/scripts/{name}/settings`):

```
ds1-code-<16 hex>      worker.js (and the modules it imports, with their names)
ds1-assets-<16 hex>    the asset files (path, hash, size) and the asset config incl. _headers/_redirects,
                       followed by -<file count>
ds1-config-<16 hex>    everything else the Worker upload carries except secrets: compatibility date and flags,
                       the bindings whose kind counts a change as config (vars, the D1 binding, KV and R2) and
                       the database name; followed by -<12 hex> of the cron triggers when the app has any
ds1-schema-<16 hex>-<12 hex>
                       schema.sql, then seed.sql and migrations/ (names and contents)
ds1-secrets-<4 hex>-…  the secret ledger: per secret, the HMAC of the input value last sent, keyed with the
                       API token, and when and by which command it last changed (`deployer.secret_ledger`)
```

Why tags: the API accepts them on the script upload and returns them with the settings we read anyway (one
request gives tags, bindings and secret names), they are not visible to the Worker (a `plain_text` binding
would be), they do not create versions, and they survive `keep_bindings` / `keep_assets`. Tags that are not
ours are kept. Each tag is short and uses only `[a-z0-9-]`.

The secret HMACs are keyed with the API token, so someone who can read the tags but not deploy cannot test
guesses of a password against them; a new token costs one re-send of the secrets a deploy last sent (a rotated
one is kept, see `deployer.secret_ledger`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from deployer.app import LocalApp
from deployer.bindings import (
    KINDS,
    AssetsBinding,
    Bindings,
    D1Binding,
    SecretBinding,
    Wanted,
    deployed_bindings,
    wanted_bindings,
)
from deployer.secret_ledger import SecretLedger, key_id_of, value_key
from deployer.settings import Settings

__all__ = [
    "LEDGER_TAG_PREFIX",
    "STATE_TAG_PREFIX",
    "Digests",
    "RemoteState",
    "SecretInputs",
    "local_digests",
    "recorded_triggers_of",
    "secret_inputs",
]

STATE_TAG_PREFIX = "ds1-"
LEDGER_TAG_PREFIX = f"{STATE_TAG_PREFIX}secrets-"  # the secret ledger's tag (`deployer.secret_ledger`)
_CONFIG_TAG_PREFIX = f"{STATE_TAG_PREFIX}config-"
_DIGEST_LENGTH = 16
# seed.sql and migrations/ share the schema tag, which stays within 40 characters (Cloudflare documents no tag
# length limit, so ours stay short; a D1 bookmark, 59 characters, is therefore not recorded in a tag).
_SQL_DIGEST_LENGTH = 12
_DIGESTED_SINCE_THE_START = frozenset({"d1", "vars"})


@dataclass(frozen=True, slots=True)
class Digests:
    """Digests of one deploy's inputs (`assets_count` rides along for `inspect`)."""

    code: str
    assets: str
    assets_count: int
    config: str
    schema: str  # schema.sql alone: a change of it on a database with tables must be harmless
    secrets: SecretLedger | None  # the deployed ledger (None: none yet, or a local digest)
    migrations: str = ""  # seed.sql and migrations/ ("" in tags written before migrations existed)
    triggers: str = ""  # the cron triggers ("" without any, as in the tags written before they existed)

    def as_tags(self) -> list[str]:
        tags = [
            f"{STATE_TAG_PREFIX}code-{self.code}",
            f"{STATE_TAG_PREFIX}assets-{self.assets}-{self.assets_count}",
            f"{STATE_TAG_PREFIX}config-{self.config}" + (f"-{self.triggers}" if self.triggers else ""),
            f"{STATE_TAG_PREFIX}schema-{self.schema}" + (f"-{self.migrations}" if self.migrations else ""),
        ]
        if self.secrets is not None and self.secrets.records:
            tags.append(LEDGER_TAG_PREFIX + self.secrets.tag_value())
        return tags

    @classmethod
    def from_tags(cls, tags: Iterable[str]) -> Digests | None:
        """The digests in `tags`, or None when they are absent or incomplete (a deploy by another tool)."""
        found: dict[str, str] = {}
        for tag in tags:
            if tag.startswith(STATE_TAG_PREFIX):
                kind, _, value = tag.removeprefix(STATE_TAG_PREFIX).partition("-")
                found[kind] = value
        try:
            assets, _, count = found["assets"].partition("-")
            schema, _, migrations = found["schema"].partition("-")
            config, _, triggers = found["config"].partition("-")
            return cls(
                code=found["code"],
                assets=assets,
                assets_count=int(count or 0),
                config=config,
                schema=schema,
                secrets=SecretLedger.parse(found["secrets"]) if "secrets" in found else None,
                migrations=migrations,
                triggers=triggers,
            )
        except (KeyError, ValueError):
            return None


@dataclass(frozen=True, slots=True)
class RemoteState:
    """What the planner needs to know of the deployed Worker (from one settings read)."""

    exists: bool
    digests: Digests | None = None
    other_tags: tuple[str, ...] = ()  # tags that are not ours, kept on every upload
    bindings: Bindings = field(default_factory=dict)  # by kind (`deployer.bindings`); secret values read as ""
    compatibility_date: str | None = None
    compatibility_flags: tuple[str, ...] | None = None
    ledger: SecretLedger | None = None  # the secret ledger, read on its own (`rotate` may write it alone)
    tags: tuple[str, ...] = ()  # every tag as read (a rollback writes them back)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> RemoteState:
        tags = [str(tag) for tag in settings.get("tags") or ()]
        digests = Digests.from_tags(tags)
        ledger_tag = next((tag for tag in tags if tag.startswith(LEDGER_TAG_PREFIX)), None)
        return cls(
            exists=True,
            tags=tuple(tags),
            digests=digests,
            ledger=SecretLedger.parse(ledger_tag.removeprefix(LEDGER_TAG_PREFIX)) if ledger_tag else None,
            other_tags=tuple(tag for tag in tags if not tag.startswith(STATE_TAG_PREFIX)),
            bindings=deployed_bindings(settings.get("bindings") or ()),
            compatibility_date=settings.get("compatibility_date"),
            compatibility_flags=(
                tuple(str(flag) for flag in settings["compatibility_flags"])
                if isinstance(settings.get("compatibility_flags"), list)
                else None
            ),
        )

    def database_id(self, binding: str) -> str | None:
        """The id of the D1 database bound as `binding`, if any."""
        return (self.bindings.get(D1Binding.key) or {}).get(binding) or None

    @property
    def secret_names(self) -> frozenset[str]:
        return frozenset(self.bindings.get(SecretBinding.key) or ())

    @property
    def recorded_triggers(self) -> str:
        """The cron triggers' digest a deploy of ours recorded, read from the config tag alone: it is kept when
        the other digests are not (`rollback` removes those; schedules belong to the script, not a version)."""
        return next((triggers for tag in self.tags if (triggers := recorded_triggers_of(tag))), "")

    @property
    def has_assets(self) -> bool:
        return bool(self.bindings.get(AssetsBinding.key))


def recorded_triggers_of(tag: str) -> str:
    """The cron triggers' digest a config tag records (`ds1-config-<16 hex>-<12 hex>`); "" for any other tag."""
    if not tag.startswith(_CONFIG_TAG_PREFIX):
        return ""
    return tag.removeprefix(_CONFIG_TAG_PREFIX).partition("-")[2]


def _digest(value: bytes, length: int = _DIGEST_LENGTH) -> str:
    return hashlib.sha256(value).hexdigest()[:length]


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class SecretInputs:
    """The secret values given to a deploy, as the ledger compares them: name → HMAC, and the key's id."""

    key_id: str
    values: Mapping[str, str] = field(default_factory=dict)


def secret_inputs(values: Mapping[str, str], *, key: str) -> SecretInputs:
    """HMACs of the given secret values (name and value), keyed with the API token."""
    return SecretInputs(key_id_of(key), {name: value_key(name, value, key=key) for name, value in values.items()})


def local_digests(settings: Settings, app: LocalApp) -> Digests:
    """The digests of what this deploy would upload."""
    files = [[f.path, f.hash, f.size] for f in app.manifest.files] if app.manifest else []
    # The asset config travels with the files: a change of it is sent with a fresh upload session (every file
    # is known, so nothing is uploaded) rather than relying on `keep_assets` to take a new config.
    assets: dict[str, Any] = {
        "files": files,
        "config": settings.assets.model_dump() if app.manifest else None,  # JSON types only
        "headers": app.manifest.headers if app.manifest else None,
        "redirects": app.manifest.redirects if app.manifest else None,
    }
    if settings.assets_binding != "ASSETS":  # a renamed binding re-binds the assets (the default keeps old digests)
        assets["binding"] = settings.assets_binding
    wanted = wanted_bindings(Wanted(settings=settings, has_assets=app.manifest is not None))
    config: dict[str, Any] = {
        "main_module": app.main,
        "compatibility_date": settings.compatibility_date,
        "compatibility_flags": list(settings.compatibility_flags),
        # Every binding kind whose change is a config change (the D1 binding, vars, any kind added later); a kind
        # added later counts only when used, so that an app without it keeps the digest it had.
        "bindings": {
            kind.key: wanted[kind.key]
            for kind in KINDS
            if kind.change == "config" and (kind.key in _DIGESTED_SINCE_THE_START or wanted[kind.key])
        },
        "d1_database": settings.database_name,
    }
    if settings.kv:  # the namespaces' ids are looked up while deploying: their titles (or given ids) are known now
        titles = settings.kv_titles()
        config["kv_namespaces"] = {name: kv.id or f"title:{titles[name]}" for name, kv in sorted(settings.kv.items())}
    # worker.js alone keeps the digest it always had; with modules, their names and contents count too.
    code = (
        _digest(
            _canonical(
                [[app.main, _digest(app.worker_code, 64)], *([m.name, _digest(m.code, 64)] for m in app.modules)]
            )
        )
        if app.modules
        else _digest(app.worker_code)
    )
    return Digests(
        code=code,
        assets=_digest(_canonical(assets)),
        assets_count=len(files),
        config=_digest(_canonical(config)),
        schema=_digest((app.schema_sql or "").encode()),
        secrets=None,
        migrations=_sql_digest(app),
        triggers=_triggers_digest(settings.triggers.crons or ()),
    )


def _triggers_digest(crons: tuple[str, ...]) -> str:
    """The cron triggers, in order; "" without any (so an app without them keeps the config tag it had)."""
    return _digest(_canonical(list(crons)), length=_SQL_DIGEST_LENGTH) if crons else ""


def _sql_digest(app: LocalApp) -> str:
    """seed.sql and migrations/; "" without either, as in the tags written before they existed (so an app
    without them is not redeployed by an upgrade)."""
    if app.seed is None and not app.migrations:
        return ""
    files = {"seed": app.seed.sql if app.seed else None, "migrations": [[m.name, m.file.sql] for m in app.migrations]}
    return _digest(_canonical(files), length=_SQL_DIGEST_LENGTH)
