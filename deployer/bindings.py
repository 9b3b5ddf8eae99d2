"""The Worker's bindings, one definition per kind: configured, sent, read back, drift-checked and shown here.

A set of bindings is a `Bindings` mapping, `{kind key: {binding name: value}}`: what a deploy sends (values
included) or what a settings read shows (`GET …/scripts/{name}/settings`; secret values never come back, so
they read as ""). Each `BindingKind` says, for its kind:

| method      | what it answers                                                                          |
|-------------|------------------------------------------------------------------------------------------|
| `wanted`    | which bindings this deploy wants, from `Settings` and the app (how the kind is configured) |
| `encode`    | one entry of the upload metadata's `bindings` list                                        |
| `decode`    | the value kept from an entry of the settings read                                        |
| `drifted`   | whether the deployed Worker lacks what this deploy wants (a change someone else made)    |
| `show`      | one line for `inspect`                                                                   |

and which `ChangeKind` a drift counts as (the planner then redeploys that kind). `KINDS` is the registry, in
the order entries are sent. Adding a kind is one class here plus its setting; docs/ARCHITECTURE.md walks through
it (KV and R2 were added that way).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from deployer.changes import ChangeKind
from deployer.errors import ConfigError
from deployer.settings import Settings

__all__ = [
    "ASSETS_BINDING",
    "KINDS",
    "AssetsBinding",
    "BindingKind",
    "Bindings",
    "D1Binding",
    "KVBinding",
    "PlainTextBinding",
    "R2Binding",
    "SecretBinding",
    "Wanted",
    "check_unique",
    "deployed_bindings",
    "drifted_kinds",
    "kind_of",
    "metadata_bindings",
    "unbound_references",
    "wanted_bindings",
]

Bindings = Mapping[str, Mapping[str, str]]
ASSETS_BINDING = "ASSETS"


@dataclass(frozen=True, slots=True)
class Wanted:
    """What a deploy binds beyond `Settings`: whether it has assets, its database, the secret values it sends."""

    settings: Settings
    has_assets: bool
    database_id: str = ""  # "" while not yet known (before step 1)
    secret_values: Mapping[str, str] = field(default_factory=dict)
    kv_ids: Mapping[str, str] = field(default_factory=dict)  # binding → namespace id found in step 1 ("": unknown)


class BindingKind(ABC):
    """One kind of binding; see the module docstring for what each method answers."""

    key: ClassVar[str]  # the key in a `Bindings` mapping
    types: ClassVar[tuple[str, ...]]  # Cloudflare's binding types read back as this kind; the first is sent
    change: ClassVar[ChangeKind]  # what a drift of this kind counts as

    @abstractmethod
    def wanted(self, wanted: Wanted) -> dict[str, str]: ...

    @abstractmethod
    def encode(self, name: str, value: str) -> dict[str, Any]: ...

    def decode(self, entry: Mapping[str, Any]) -> str:
        return ""

    @abstractmethod
    def drifted(self, wanted: Mapping[str, str], deployed: Mapping[str, str]) -> bool: ...

    def show(self, name: str, value: str) -> str:
        return f"{name}: {self.types[0]}"


class D1Binding(BindingKind):
    """The app's D1 database (`d1: {name, binding}` in app.yml); the value is the database id."""

    key = "d1"
    types = ("d1",)
    change: ClassVar[ChangeKind] = "config"

    def wanted(self, wanted: Wanted) -> dict[str, str]:
        return {wanted.settings.d1.binding: wanted.database_id}

    def encode(self, name: str, value: str) -> dict[str, Any]:
        return {"type": "d1", "name": name, "id": value}

    def decode(self, entry: Mapping[str, Any]) -> str:
        return str(entry.get("id") or entry.get("database_id") or "")

    def drifted(self, wanted: Mapping[str, str], deployed: Mapping[str, str]) -> bool:
        # The id is known only after step 1; a binding without an id is as good as none.
        return any(not deployed.get(name) for name in wanted)

    def show(self, name: str, value: str) -> str:
        return f"{name}: d1 ({value})" if value else f"{name}: d1"


class KVBinding(BindingKind):
    """KV namespaces (`kv:` in app.yml, wrangler's `[[kv_namespaces]]`); the value is the namespace id, found or
    created by title in step 1 (or wrangler's `id`, bound as given)."""

    key = "kv"
    types = ("kv_namespace",)
    change: ClassVar[ChangeKind] = "config"

    def wanted(self, wanted: Wanted) -> dict[str, str]:
        return {binding: config.id or wanted.kv_ids.get(binding, "") for binding, config in wanted.settings.kv.items()}

    def encode(self, name: str, value: str) -> dict[str, Any]:
        return {"type": "kv_namespace", "name": name, "namespace_id": value}

    def decode(self, entry: Mapping[str, Any]) -> str:
        return str(entry.get("namespace_id") or "")

    def drifted(self, wanted: Mapping[str, str], deployed: Mapping[str, str]) -> bool:
        # An id found by title is known only after step 1; a binding without an id is as good as none.
        return any(not deployed.get(name) or (value and value != deployed[name]) for name, value in wanted.items())

    def show(self, name: str, value: str) -> str:
        return f"{name}: kv_namespace ({value})" if value else f"{name}: kv_namespace"


class R2Binding(BindingKind):
    """R2 buckets (`r2:` in app.yml, wrangler's `[[r2_buckets]]`); the value is the bucket's name."""

    key = "r2"
    types = ("r2_bucket",)
    change: ClassVar[ChangeKind] = "config"

    def wanted(self, wanted: Wanted) -> dict[str, str]:
        return wanted.settings.r2_buckets()

    def encode(self, name: str, value: str) -> dict[str, Any]:
        return {"type": "r2_bucket", "name": name, "bucket_name": value}

    def decode(self, entry: Mapping[str, Any]) -> str:
        return str(entry.get("bucket_name") or "")

    def drifted(self, wanted: Mapping[str, str], deployed: Mapping[str, str]) -> bool:
        return dict(wanted) != dict(deployed)

    def show(self, name: str, value: str) -> str:
        return f"{name}: r2_bucket ({value})"


class PlainTextBinding(BindingKind):
    """Plain-text variables (`vars`, `--var`, input `vars`); the value is the text, readable by anyone."""

    key = "vars"
    types = ("plain_text",)
    change: ClassVar[ChangeKind] = "config"

    def wanted(self, wanted: Wanted) -> dict[str, str]:
        return dict(wanted.settings.vars)

    def encode(self, name: str, value: str) -> dict[str, Any]:
        return {"type": "plain_text", "name": name, "text": value}

    def decode(self, entry: Mapping[str, Any]) -> str:
        return str(entry.get("text", ""))

    def drifted(self, wanted: Mapping[str, str], deployed: Mapping[str, str]) -> bool:
        return dict(wanted) != dict(deployed)


class SecretBinding(BindingKind):
    """Secrets (`secrets`, `APP_PASSWORD`, `SESSION_SECRET`): sent only when given, never read back.

    Secrets a deploy does not send are kept by Cloudflare through `keep_bindings` (these types).
    """

    key = "secrets"
    types = ("secret_text", "secret_key")
    change: ClassVar[ChangeKind] = "secrets"

    def wanted(self, wanted: Wanted) -> dict[str, str]:
        return dict(wanted.secret_values)

    def encode(self, name: str, value: str) -> dict[str, Any]:
        return {"type": "secret_text", "name": name, "text": value}

    def drifted(self, wanted: Mapping[str, str], deployed: Mapping[str, str]) -> bool:
        return not set(wanted) <= set(deployed)  # the Worker lost a secret we have a value for

    def show(self, name: str, value: str) -> str:
        return f"{name}: secret (value hidden)"


class AssetsBinding(BindingKind):
    """The static assets of `public/` (or wrangler's `[assets] directory`), bound as `ASSETS` (or its `binding`)
    when the folder has files."""

    key = "assets"
    types = ("assets",)
    change: ClassVar[ChangeKind] = "assets"

    def wanted(self, wanted: Wanted) -> dict[str, str]:
        return {wanted.settings.assets_binding: ""} if wanted.has_assets else {}

    def encode(self, name: str, value: str) -> dict[str, Any]:
        return {"type": "assets", "name": name}

    def drifted(self, wanted: Mapping[str, str], deployed: Mapping[str, str]) -> bool:
        return bool(wanted) and set(wanted) != set(deployed)  # missing, or bound under another name


KINDS: tuple[BindingKind, ...] = (
    D1Binding(),
    KVBinding(),
    R2Binding(),
    PlainTextBinding(),
    SecretBinding(),
    AssetsBinding(),
)
_BY_TYPE = {type_: kind for kind in KINDS for type_ in kind.types}


def kind_of(binding_type: str) -> BindingKind | None:
    """The kind a Cloudflare binding type belongs to (None for kinds this deployer does not manage)."""
    return _BY_TYPE.get(binding_type)


def wanted_bindings(wanted: Wanted) -> dict[str, dict[str, str]]:
    """Every binding this deploy wants, by kind."""
    return {kind.key: kind.wanted(wanted) for kind in KINDS}


def check_unique(bindings: Bindings) -> None:
    """Refuse a name bound twice (a var and a secret, a var named like the D1 binding, `ASSETS` as a var…)."""
    kinds_of: dict[str, list[str]] = {}
    for kind in KINDS:
        for name in bindings.get(kind.key) or {}:
            kinds_of.setdefault(name, []).append(kind.types[0])
    clashes = {name: kinds for name, kinds in kinds_of.items() if len(kinds) > 1}
    if clashes:
        described = "; ".join(f"{name} ({' and '.join(kinds)})" for name, kinds in sorted(clashes.items()))
        raise ConfigError(
            f"A binding name is used twice: {described}",
            hint="Each name on env must be one binding: rename the var or secret (app.yml vars, secrets, d1.binding).",
        )


_ENV_REFERENCE = re.compile(r"""\benv\s*(?:\.\s*([A-Z_][A-Z0-9_]*)\b|\[\s*["']([A-Za-z_][A-Za-z0-9_]*)["']\s*\])""")


def unbound_references(code: bytes, bound: Collection[str]) -> list[str]:
    """Names the Worker reads from `env` (`env.NAME`, `env["NAME"]`) that no binding will carry.

    A heuristic over the source text (upper-case names after `env.`), so its findings are warnings.
    """
    text = code.decode(errors="replace")
    names = {dotted or quoted for dotted, quoted in _ENV_REFERENCE.findall(text)}
    return sorted(names - set(bound))


def metadata_bindings(bindings: Bindings) -> list[dict[str, Any]]:
    """The upload metadata's `bindings` list: kinds in `KINDS` order, names sorted within a kind."""
    return [
        kind.encode(name, value) for kind in KINDS for name, value in sorted((bindings.get(kind.key) or {}).items())
    ]


def deployed_bindings(entries: Iterable[Any]) -> dict[str, dict[str, str]]:
    """The settings read's `bindings` list, by kind (entries of unmanaged kinds are left out)."""
    found: dict[str, dict[str, str]] = {kind.key: {} for kind in KINDS}
    for entry in entries:
        if not isinstance(entry, Mapping) or "name" not in entry:
            continue
        kind = kind_of(str(entry.get("type")))
        if kind is not None:
            found[kind.key][str(entry["name"])] = kind.decode(entry)
    return found


def drifted_kinds(wanted: Bindings, deployed: Bindings) -> set[ChangeKind]:
    """The change kinds whose bindings the deployed Worker lacks or holds differently."""
    return {kind.change for kind in KINDS if kind.drifted(wanted.get(kind.key) or {}, deployed.get(kind.key) or {})}
