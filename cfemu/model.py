"""The records of the Workers control plane: scripts, versions and deployments (plain values, no I/O).

See `cfemu.workers` for how they are stored and changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from cfemu.runtime import ModuleFile

__all__ = ["AUTHOR_EMAIL", "DEFAULT_SCRIPT_SETTINGS", "Deployment", "Script", "Version", "modules_etag"]

# GUESS: the emulated account has no user; deployments and versions name this author.
AUTHOR_EMAIL = "cfemu@example.com"
DEFAULT_SCRIPT_SETTINGS: dict[str, Any] = {
    "tags": [],
    "logpush": False,
    "observability": {"enabled": False},
    "tail_consumers": None,
}


@dataclass(frozen=True, slots=True)
class Script:
    """The non-versioned state of one script."""

    name: str
    tag: str
    created_on: str
    modified_on: str
    settings: dict[str, Any]
    subdomain_enabled: bool
    previews_enabled: bool
    last_deployed_from: str


@dataclass(frozen=True, slots=True)
class Version:
    """One immutable version of a script."""

    id: str
    script_name: str
    number: int
    created_on: str
    source: str
    main_module: str | None
    body_part: str | None
    modules: tuple[ModuleFile, ...]
    bindings: tuple[dict[str, Any], ...]
    compatibility_date: str
    compatibility_flags: tuple[str, ...]
    assets_manifest: dict[str, dict[str, Any]] | None = None
    asset_config: dict[str, Any] | None = None
    limits: dict[str, Any] | None = None
    placement: dict[str, Any] | None = None
    annotations: dict[str, Any] = field(default_factory=dict)
    handlers: tuple[str, ...] = ()
    startup_time_ms: int = 0
    etag: str = ""

    @property
    def has_modules(self) -> bool:
        """True for ES-module Workers (a `main_module`)."""
        return self.main_module is not None

    @property
    def has_assets(self) -> bool:
        """True when the version serves static assets."""
        return self.assets_manifest is not None

    def _data(self) -> dict[str, Any]:
        return {
            "main_module": self.main_module,
            "body_part": self.body_part,
            "bindings": list(self.bindings),
            "compatibility_date": self.compatibility_date,
            "compatibility_flags": list(self.compatibility_flags),
            "assets_manifest": self.assets_manifest,
            "asset_config": self.asset_config,
            "limits": self.limits,
            "placement": self.placement,
            "annotations": self.annotations,
            "handlers": list(self.handlers),
            "startup_time_ms": self.startup_time_ms,
            "etag": self.etag,
        }


@dataclass(frozen=True, slots=True)
class Deployment:
    """One deployment: which versions get which share of traffic."""

    id: str
    script_name: str
    created_on: str
    source: str
    strategy: str
    annotations: dict[str, Any]
    versions: tuple[dict[str, Any], ...]

    def as_json(self) -> dict[str, Any]:
        """The API shape of this deployment."""
        return {
            "id": self.id,
            "source": self.source,
            "strategy": self.strategy,
            "author_email": AUTHOR_EMAIL,
            "created_on": self.created_on,
            "annotations": self.annotations,
            "versions": list(self.versions),
        }


def modules_etag(modules: tuple[ModuleFile, ...]) -> str:
    """A content hash of `modules`, used as the version's `etag` (Cloudflare's is opaque)."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(module.name.encode() + b"\0" + module.content_type.encode() + b"\0")
        digest.update(hashlib.sha256(module.content).digest())
    return digest.hexdigest()
