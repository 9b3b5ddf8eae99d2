"""The parts of `deployer.settings.Settings` that are models of their own: how assets are served, the D1
database, KV namespaces, R2 buckets and cron triggers. Each validates its own values; where Cloudflare's rule is
not documented the check is marked GUESS.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from deployer.cron import cron_problem

__all__ = ["BINDING_NAME", "R2_BUCKET_NAME", "AssetsConfig", "D1Config", "KVConfig", "R2Config", "TriggersConfig"]

BINDING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# GUESS: D1 accepts letters, digits, '-' and '_' (wrangler does not validate; the API refuses others).
_D1_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
# R2: "lowercase letters (a-z), numbers (0-9), and hyphens (-)", 3 to 63 characters, not starting or ending with
# a hyphen (Cloudflare's R2 docs, "Bucket names"; wrangler's `isValidR2BucketName` checks the same).
R2_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_KV_TITLE_MAX = 512  # GUESS: the dashboard and the API refuse longer titles (not documented)
_KV_ID = re.compile(r"^[0-9a-f]{32}$")


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
        if not BINDING_NAME.match(value):
            msg = "a binding name is a JavaScript identifier such as DB"
            raise ValueError(msg)
        return value


def _short_form(value: Any, field: str) -> Any:
    """app.yml's short forms of a storage binding: `NAME:` (no value) takes the defaults, `NAME: text` is `field`;
    a mapping is the long form, validated as it is."""
    if value is None:
        return {}
    return {field: value} if isinstance(value, str) else value


class KVConfig(BaseModel):
    """A KV namespace: found (or created) by `title`, or wrangler's `id` bound as it is.

    app.yml: `kv: {CACHE: items-cache}` (a title), `kv: {CACHE: }` (the default title, `<worker>-cache`);
    a wrangler file's `[[kv_namespaces]]` gives `id` (wrangler binds that namespace, so does this deployer).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str | None = None
    id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return _short_form(value, "title")

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        if value is not None and not (0 < len(value) <= _KV_TITLE_MAX and value.isprintable()):
            msg = f"a namespace title is 1 to {_KV_TITLE_MAX} printable characters"
            raise ValueError(msg)
        return value

    @field_validator("id")
    @classmethod
    def _id(cls, value: str | None) -> str | None:
        if value is not None and not _KV_ID.match(value):
            msg = "a KV namespace id is 32 hexadecimal characters (wrangler kv namespace list shows them)"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _one_way(self) -> KVConfig:
        if self.title is not None and self.id is not None:
            msg = "give the namespace's title or its id, not both"
            raise ValueError(msg)
        return self


class R2Config(BaseModel):
    """An R2 bucket, found (or created) by name. app.yml: `r2: {FILES: items-files}`, or `r2: {FILES: }`
    (the default name, `<worker>-files`); a wrangler file's `[[r2_buckets]]` `bucket_name`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return _short_form(value, "bucket")

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and not R2_BUCKET_NAME.match(value):
            msg = (
                f"{value!r} is not a valid R2 bucket name: 3 to 63 lower-case letters, digits and '-', "
                "not starting or ending with '-'"
            )
            raise ValueError(msg)
        return value


class TriggersConfig(BaseModel):
    """Cron triggers: `triggers: {crons: ["*/30 * * * *"]}` in app.yml, `[triggers] crons` in wrangler's file.
    Set with the schedules endpoint after the Worker upload (`deployer.commands._schedules`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # None: the app says nothing, and cron triggers it never declared are left alone (as wrangler does when
    # `triggers` is absent); an empty list removes them.
    crons: tuple[str, ...] | None = None

    @field_validator("crons")
    @classmethod
    def _crons(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        problems = [problem for problem in map(cron_problem, value) if problem]
        if problems:
            raise ValueError("; ".join(problems))
        if len(set(value)) != len(value):
            msg = "a cron expression is listed twice"
            raise ValueError(msg)
        return value
