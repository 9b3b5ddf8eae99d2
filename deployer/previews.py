"""Pull request previews, the pure part: their names, the tag that marks a Worker as one, and which are stale.

A preview of pull request N is the app deployed under names of its own, so a reviewer's clicks never reach
production's Worker or rows:

| what                  | name                                             | example (app `items-app`, PR 7) |
|-----------------------|--------------------------------------------------|---------------------------------|
| Worker                | `{app}-pr-{N}` (a DNS label, at most 63)         | `items-app-pr-7`                |
| D1 database, isolated | `{database}-pr-{N}` (at most 64)                 | `items-app-db-pr-7`             |
| D1 database, shared   | `{database}-previews`, one for every preview     | `items-app-db-previews`         |
| KV namespace          | `{Worker}-{binding}` (at most 512)               | `items-app-pr-7-cache`          |
| R2 bucket             | `{Worker}-{binding}` (at most 63)                | `items-app-pr-7-files`          |
| GitHub environment    | `preview/pr-{N}`                                 | `preview/pr-7`                  |

KV namespaces and R2 buckets are always the preview's own (also with a shared database, and whatever titles,
ids or bucket names production uses), named after the preview's Worker and the binding (wrangler's
provisioned name): a preview's code never writes production's keys or objects, and two apps' previews never
share one. Cron triggers are not set on previews.

A name that would be too long keeps its end (`-pr-N`) and shortens its start, which then ends with six hex
digits of a hash of the whole start: two long app names that share their first 50 characters still get two
names, and the same app always gets the same one.

The preview's Worker carries the tag `dspv-{app key}-{N}` (the app key: 10 hex digits of a hash of the
production Worker's name). `teardown` and `sweep` only touch a Worker that carries the tag of this app (and, for
`teardown`, of this PR), and only the database that Worker is bound to: a Worker or database that merely has the
right name is never deleted. `preview` refuses to take over a Worker of that name without the tag.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from deployer.settings import dns_label

__all__ = [
    "DatabaseMode",
    "Preview",
    "PreviewNames",
    "Stale",
    "app_key",
    "fit_name",
    "parse_age",
    "preview_names",
    "preview_of",
    "preview_storage_name",
    "preview_tag",
    "stale_previews",
]

DatabaseMode = Literal["isolated", "shared"]
# Not `ds1-`: those are the state tags every deploy rewrites (`deployer.state`); this one is kept like a user's.
TAG_PREFIX = "dspv-"
_WORKER_LIMIT = 63  # one DNS label
_DATABASE_LIMIT = 64  # GUESS, as in deployer.settings: D1 names of at most 64 characters
_KV_TITLE_LIMIT = 512  # GUESS, as in deployer._settings_models
_BUCKET_LIMIT = 63  # R2 bucket names: 3 to 63 characters
_HASH = 6
_TAG = re.compile(rf"^{TAG_PREFIX}(?P<app>[0-9a-f]{{10}})-(?P<number>[1-9][0-9]*)$")


def _hash(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def fit_name(start: str, end: str, limit: int) -> str:
    """`start + end` when it fits in `limit` characters; else `start` cut short and marked with a hash of it
    (`{cut}-{6 hex}{end}`), so the result is stable, at most `limit` long, and still ends with `end`."""
    if len(start) + len(end) <= limit:
        return start + end
    room = limit - len(end) - _HASH - 1
    cut = start[:room].rstrip("-_")
    return f"{cut}-{_hash(start, _HASH)}{end}" if cut else f"{_hash(start, _HASH)}{end}"


def app_key(app: str) -> str:
    """The 10 hex digits that stand for the production Worker `app` in its previews' tags."""
    return _hash(app, 10)


def preview_tag(app: str, number: int) -> str:
    """The tag that marks a Worker as the preview of `app` for pull request `number`."""
    return f"{TAG_PREFIX}{app_key(app)}-{number}"


def preview_of(tags: tuple[str, ...] | list[str], app: str) -> int | None:
    """The pull request number in a preview tag of `app` among `tags`, or None (not a preview of `app`)."""
    for tag in tags:
        match = _TAG.match(tag)
        if match and match["app"] == app_key(app):
            return int(match["number"])
    return None


@dataclass(frozen=True, slots=True)
class PreviewNames:
    """Where the preview of one pull request lives."""

    number: int
    script: str
    database: str
    environment: str  # the GitHub environment of its Deployments
    tag: str
    shared_database: bool


def preview_names(app: str, database: str, number: int, *, mode: DatabaseMode = "isolated") -> PreviewNames:
    """The preview of pull request `number` of the app whose Worker is `app` and database `database`.

    `app` may be any text (a repository's name with upper case or `_`): it is made a DNS label first."""
    if number < 1:
        msg = f"a pull request number is 1 or more, not {number}"
        raise ValueError(msg)
    label = dns_label(app) or "app"
    base_database = re.sub(r"[^A-Za-z0-9_-]+", "-", database).strip("-_") or label
    shared = mode == "shared"
    return PreviewNames(
        number=number,
        script=fit_name(label, f"-pr-{number}", _WORKER_LIMIT),
        database=fit_name(base_database, "-previews" if shared else f"-pr-{number}", _DATABASE_LIMIT),
        environment=f"preview/pr-{number}",
        tag=preview_tag(app, number),
        shared_database=shared,
    )


def preview_storage_name(script: str, binding: str, *, bucket: bool) -> str:
    """The preview Worker `script`'s own KV namespace title or R2 bucket name for `binding`: `items-app-pr-7` and
    `USER_FILES` make `items-app-pr-7-user-files` (shortened at its start, as `fit_name` does, when too long)."""
    end = "-" + binding.lower().replace("_", "-")
    return fit_name(script, end, _BUCKET_LIMIT if bucket else _KV_TITLE_LIMIT)


@dataclass(frozen=True, slots=True)
class Preview:
    """A preview Worker found in the account (`sweep` lists them)."""

    script: str
    number: int
    modified: dt.datetime | None  # when it was last deployed (UTC), if Cloudflare said


@dataclass(frozen=True, slots=True)
class Stale:
    """A preview to remove, and why."""

    preview: Preview
    reason: str


def stale_previews(
    previews: list[Preview],
    *,
    states: Mapping[int, str | None],
    now: dt.datetime,
    max_age: dt.timedelta | None,
) -> list[Stale]:
    """The previews to remove: those whose pull request is closed (`states[n] == "closed"`; a state that could
    not be read is None and keeps the preview) or, with `max_age`, that were not deployed for longer than that."""
    found: list[Stale] = []
    for preview in sorted(previews, key=lambda p: p.number):
        if states.get(preview.number) == "closed":
            found.append(Stale(preview, f"pull request #{preview.number} is closed"))
        elif max_age is not None and preview.modified is not None and now - preview.modified > max_age:
            days = (now - preview.modified) / dt.timedelta(days=1)
            found.append(Stale(preview, f"not deployed for {days:.1f} days (more than {_age(max_age)})"))
    return found


def _age(age: dt.timedelta) -> str:
    days = age / dt.timedelta(days=1)
    if days >= 1:
        return f"{days:g} day{'' if days == 1 else 's'}"
    return f"{age / dt.timedelta(hours=1):g} hours"


def parse_age(text: str) -> dt.timedelta:
    """`7d`, `36h`, `90m` or a bare number of days as a duration; ValueError otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*", text.lower())
    if not match:
        msg = f"{text!r} is not an age such as 7d, 36h or 90m"
        raise ValueError(msg)
    value, unit = float(match[1]), match[2] or "d"
    return dt.timedelta(**{{"d": "days", "h": "hours", "m": "minutes"}[unit]: value})
