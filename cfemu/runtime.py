"""The seam between the control plane and whatever runs uploaded Workers.

Handlers that change what a script *serves* (script upload, a deployment, a secret change, a settings
PATCH, a version deploy) build the new `ScriptState` and call `Runtime.activate(state)` **before**
committing anything. If the runtime raises `WorkerStartupError`, the request fails with HTTP 400 code
10021 carrying the runtime's message, and the new version is not stored. Deleting a script calls
`stop(name)` after the delete is committed; shutting the server down calls `close()`.

Uploading a version without deploying it (`POST .../versions`) does not call the runtime: nothing starts
serving it until a deployment activates it.

If the runtime itself is broken (e.g. Node is missing, or its supervisor died) it raises
`RuntimeUnavailableError` instead: an emulator problem, not the Worker's fault (HTTP 503, see `cfemu.workers`).

`NullRuntime` accepts everything and runs nothing (`python -m cfemu serve --no-runtime`);
`cfemu.miniflare_runtime.MiniflareRuntime` runs each deployed version in workerd (the default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "AssetFile",
    "ModuleFile",
    "NullRuntime",
    "Runtime",
    "RuntimeResult",
    "RuntimeUnavailableError",
    "ScheduledResult",
    "ScriptState",
    "WorkerStartupError",
]


@dataclass(frozen=True, slots=True)
class ModuleFile:
    """One uploaded module part: its name, Content-Type and bytes."""

    name: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class AssetFile:
    """One static asset of a version: its URL path, hash, stored bytes and Content-Type (None = none)."""

    path: str
    hash: str
    size: int
    content_type: str | None
    file: Path


@dataclass(frozen=True, slots=True)
class ScriptState:
    """Everything needed to run one deployed version of a script (secret values included)."""

    script_name: str
    version_id: str
    main_module: str | None
    modules: tuple[ModuleFile, ...]
    bindings: tuple[dict[str, Any], ...]
    compatibility_date: str
    compatibility_flags: tuple[str, ...]
    assets: tuple[AssetFile, ...] = ()
    asset_config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuntimeResult:
    """What the runtime learned while starting a version; `handlers=None` means "not known"."""

    startup_time_ms: int = 0
    handlers: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class ScheduledResult:
    """How a scheduled event ended, as workerd reports it (`Fetcher.scheduled()`): `outcome` is "ok",
    "exception", "exceededCpu", …; `no_retry` is true when the handler called `controller.noRetry()`."""

    outcome: str
    no_retry: bool


class WorkerStartupError(Exception):
    """The version failed to start (e.g. a syntax error); the message is shown to the API client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RuntimeUnavailableError(RuntimeError):
    """The runtime could not be started or died: an emulator problem, not the Worker's fault."""


class Runtime(Protocol):
    """Runs the deployed version of each script."""

    async def activate(self, state: ScriptState) -> RuntimeResult:
        """Start serving `state` for its script (replacing any previous version), or raise WorkerStartupError."""
        ...

    async def stop(self, script_name: str) -> None:
        """Stop serving `script_name` (it was deleted)."""
        ...

    async def close(self) -> None:
        """Stop everything; the server is shutting down."""
        ...


class NullRuntime:
    """A runtime that runs nothing and accepts every version."""

    async def activate(self, state: ScriptState) -> RuntimeResult:
        """Accept `state` without running it."""
        return RuntimeResult()

    async def stop(self, script_name: str) -> None:
        """Nothing to stop."""

    async def close(self) -> None:
        """Nothing to close."""
