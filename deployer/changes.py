"""What a deploy changes, as a typed value: the one place that knows how "nothing" and "first-deploy" are said.

A deploy compares six kinds of input with what the Worker records (`deployer.state`): its code, its assets,
its configuration (compatibility, vars, the D1, KV and R2 bindings), its schema, its secrets and its cron
triggers (set with an endpoint of their own: a change of them alone uploads no new version). `Changes` holds which of
them changed and why the deploy runs at all; `str(changes)` is the `changed` output
(`first-deploy`, `nothing`, or e.g. `code,assets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["ALL_KINDS", "ChangeKind", "Changes", "Reason"]

ChangeKind = Literal["code", "assets", "config", "schema", "secrets", "triggers"]
ALL_KINDS: tuple[ChangeKind, ...] = ("code", "assets", "config", "schema", "secrets", "triggers")
Reason = Literal["first", "forced", "update", "nothing"]


@dataclass(frozen=True, slots=True)
class Changes:
    """Why a deploy runs (`reason`) and which kinds of input it changes, in `ALL_KINDS` order."""

    reason: Reason
    kinds: tuple[ChangeKind, ...] = ()

    @classmethod
    def first(cls) -> Changes:
        return cls("first", ALL_KINDS)

    @classmethod
    def forced(cls) -> Changes:
        return cls("forced", ALL_KINDS)

    @classmethod
    def of(cls, kinds: set[ChangeKind] | frozenset[ChangeKind]) -> Changes:
        """An update of `kinds`, or nothing when the set is empty."""
        ordered = tuple(kind for kind in ALL_KINDS if kind in kinds)
        return cls("update" if ordered else "nothing", ordered)

    @property
    def nothing(self) -> bool:
        return self.reason == "nothing"

    def __contains__(self, kind: object) -> bool:
        return kind in self.kinds

    def __str__(self) -> str:
        if self.reason == "first":
            return "first-deploy"
        if self.reason == "nothing":
            return "nothing"
        return ",".join(self.kinds)
