"""Which secrets a deploy may send: only what the workflow put there, never the deployer's own credentials.

The app folder is untrusted input (a fork's preview deploys someone else's `app.yml`), and `secrets:` names
environment variables whose values become Worker secrets that the Worker can hand to anyone. So:

- a secret may not be named after the deployer's or the runner's own variables: `CLOUDFLARE_*`, `CF_*`,
  `GITHUB_*`, `ACTIONS_*`, `RUNNER_*`, `INPUT_*`;
- a value equal to the Cloudflare API token or a GitHub token of the run is never sent, whatever its name;
- on a `workflow_run` run (the fork-preview pattern, whose app folder comes from a pull request's artifact)
  `app.yml` may not declare secrets at all: only the action's `secrets` input (the workflow's own file) names them.
  Nor may it name the Worker, the database, a KV namespace or an R2 bucket (`name`, `d1.name`, `kv`/`r2`
  titles, ids and bucket names; each binding then gets the default name made from the input `name`): a
  preview's names, and the tag that marks which previews `teardown` and `sweep` may delete, are made from them,
  so a fork that chose them could take over another app's or another pull request's preview (or its data). The
  workflow names the app with the input `name`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path

from pydantic import SecretStr

from deployer.errors import ConfigError

__all__ = [
    "RESERVED_PREFIXES",
    "check_secret_values",
    "check_untrusted_app_yml",
    "drop_untrusted_wrangler_names",
    "reserved_names",
]

RESERVED_PREFIXES = ("CLOUDFLARE_", "CF_", "GITHUB_", "ACTIONS_", "RUNNER_", "INPUT_")
# Variables that hold the run's credentials (inputs keep their hyphens: INPUT_API-TOKEN).
_CREDENTIALS = (
    "CLOUDFLARE_API_TOKEN",
    "INPUT_API-TOKEN",
    "GITHUB_TOKEN",
    "INPUT_GITHUB-TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
)
_UNTRUSTED_EVENTS = frozenset({"workflow_run"})


def reserved_names(names: Collection[str]) -> list[str]:
    """The names among `names` that belong to the deployer or the runner."""
    return [name for name in names if re.match("|".join(RESERVED_PREFIXES), name.upper())]


def check_secret_values(values: Mapping[str, SecretStr], environ: Mapping[str, str]) -> None:
    """Refuse to send a credential of this run as a Worker secret (the value is never shown)."""
    credentials = {environ.get(name, "").strip() for name in _CREDENTIALS} - {""}
    leaked = sorted(name for name, value in values.items() if value.get_secret_value().strip() in credentials)
    if leaked:
        raise ConfigError(
            f"The value given for the secret {', '.join(leaked)} is this run's Cloudflare API token or GitHub "
            "token; it is not sent to the Worker",
            hint="Give the secret its own value (a secret of its own in the workflow's env: or inputs).",
        )


def drop_untrusted_wrangler_names(
    values: dict[str, object], origins: dict[str, str], environ: Mapping[str, str], config: Path
) -> tuple[str, ...]:
    """On a run whose app folder comes from an untrusted source, a wrangler file's `name`, `account_id` and D1
    `database_name` are left out (the workflow's inputs name the app, its database and the account): nearly every
    wrangler file has them, so they are dropped with a note rather than refused as app.yml's are."""
    event = environ.get("GITHUB_EVENT_NAME", "")
    if event not in _UNTRUSTED_EVENTS:
        return ()
    dropped = [key for key in ("name", "account_id") if values.pop(key, None) is not None]
    for key in dropped:
        origins.pop(key, None)
    d1 = values.get("d1")
    if isinstance(d1, dict) and d1.pop("name", None) is not None:
        dropped.append("d1_databases.database_name")
    for key, wrangler_key, fields in (("kv", "kv_namespaces", ("id",)), ("r2", "r2_buckets", ("bucket",))):
        entries = values.get(key)
        if isinstance(entries, dict):
            for binding, entry in entries.items():
                if isinstance(entry, dict) and any([entry.pop(field, None) is not None for field in fields]):
                    dropped.append(f"{wrangler_key} {binding}'s {'id' if key == 'kv' else 'bucket_name'}")
    if not dropped:
        return ()
    return (
        f"{config.name}: {', '.join(dropped)} not used on this {event} run (the pull request's files do not choose "
        "the Worker, its database or the account; the workflow's inputs do)",
    )


def check_untrusted_app_yml(values: Mapping[str, object], environ: Mapping[str, str], app_yml: Path) -> None:
    """On a run whose app folder comes from an untrusted source, its configuration (`app.yml`, or a wrangler
    file's settings) may not declare secrets nor name the Worker, its database or the account."""
    event = environ.get("GITHUB_EVENT_NAME", "")
    if event not in _UNTRUSTED_EVENTS:
        return
    if values.get("secrets"):
        raise ConfigError(
            f"{app_yml} declares secrets, but this is a {event} run, whose app folder comes from a pull request "
            "(the fork-preview pattern): its app.yml may not choose which secrets it receives",
            hint="Name the secrets in the action's secrets input (the workflow file is yours), and remove "
            "secrets: from app.yml for these runs.",
            file=app_yml,
        )
    d1 = values.get("d1")
    named = [
        key
        for key, given in (
            ("name", values.get("name")),
            ("d1.name", isinstance(d1, dict) and d1.get("name")),
            ("account_id", values.get("account_id")),  # a wrangler file's: the workflow names the account
        )
        if given
    ] + _named_storage(values)
    if named:
        raise ConfigError(
            f"{app_yml} sets {' and '.join(named)}, but this is a {event} run, whose app folder comes from a pull "
            "request (the fork-preview pattern): its app.yml may not choose which Worker and database it deploys to",
            hint="Name the app with the action's input name (the workflow file is yours), and remove name:, "
            "d1.name: and the kv/r2 names from the app.yml of these runs (each binding gets <name>-<binding>).",
            file=app_yml,
        )


def _named_storage(values: Mapping[str, object]) -> list[str]:
    """The KV and R2 bindings whose namespace or bucket the configuration names (a title, an id, a bucket)."""
    named = []
    for key in ("kv", "r2"):
        entries = values.get(key)
        if isinstance(entries, dict):
            named += [f"{key}.{binding}" for binding, entry in entries.items() if entry not in (None, {})]
    return named
