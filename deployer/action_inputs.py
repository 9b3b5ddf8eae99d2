"""The action's inputs, read for one command: `INPUT_*` as `Options` (only the switches its flags name).

Booleans are YAML 1.2 ones (`true`, `True`, `TRUE`, …); anything else is a `ConfigError` naming the input, as
is a malformed age, mode or pull request number. `deployer.action` calls `command_options` once per run.
"""

from __future__ import annotations

import datetime as dt
import re

from deployer.commands import CommandSpec, Hooks, Options
from deployer.errors import ConfigError
from deployer.github.api import GitHubClient
from deployer.github.event import Event
from deployer.github.publish import state_reader
from deployer.github.runner import Runner
from deployer.previews import parse_age
from deployer.rotation import parse_mode
from deployer.settings import parse_secret_names

__all__ = ["bool_input", "command_options", "pull_request_input"]


def command_options(
    runner: Runner, spec: CommandSpec, event: Event, *, github: GitHubClient | None, hooks: Hooks
) -> Options:
    """The command's switches from the inputs (only those its flags name) and the event."""
    flags = spec.flags
    mode = runner.input("preview-database", "isolated").lower()
    if "preview" in flags and mode not in ("isolated", "shared"):
        raise ConfigError(
            f"Input preview-database must be isolated or shared, not {mode!r}",
            hint="isolated: a D1 database per preview; shared: one for all of the app's previews.",
        )

    def flag(name: str, input_name: str, default: bool) -> bool:
        return bool_input(runner, input_name, default=default) if name in flags else False

    return Options(
        force=flag("force", "force", False),
        verify=flag("verify", "verify", True),
        rollback_to=runner.input("version") or None if "to" in flags else None,
        rollback_on_failure=flag("rollback", "rollback-on-failure", spec.rollback_by_default),
        allow_destructive=flag("data", "allow-destructive", False),
        allow_new_database=flag("data", "allow-new-database", False),
        bookmark=runner.input("bookmark") or None if "bookmark" in flags else None,
        pull_request=event.pull_request.number if "pr" in flags and event.pull_request else None,
        preview_database="shared" if "preview" in flags and mode == "shared" else "isolated",
        dry_run=flag("sweep", "dry-run", False),
        max_age=_max_age(runner) if "sweep" in flags else None,
        pull_request_state=state_reader(github, warn=runner.warning) if github and "sweep" in flags else None,
        rotate=tuple(parse_secret_names(runner.input("secrets"))) if "rotate" in flags else (),
        rotate_mode=parse_mode(runner.input("mode"), source="input mode") if "rotate" in flags else None,
        current_password=runner.input("current-app-password") or None if "rotate" in flags else None,
        hooks=hooks,
    )


def bool_input(runner: Runner, name: str, *, default: bool) -> bool:
    """Input `name` as a boolean (`default` when empty); `ConfigError` for anything else."""
    value = runner.bool_input(name, default=default)
    if value is None:
        raise ConfigError(
            f"Input {name} must be true or false, not {runner.input(name)!r}",
            hint="Write true or false (YAML 1.2 booleans: true, True, TRUE, false, False, FALSE).",
        )
    return value


def _max_age(runner: Runner) -> dt.timedelta | None:
    raw = runner.input("max-age")
    if not raw:
        return None
    try:
        return parse_age(raw)
    except ValueError as exc:
        raise ConfigError(f"Input max-age: {exc}", hint="Write a number and a unit: 7d, 36h or 90m.") from None


def pull_request_input(runner: Runner) -> int | None:
    """The `pull-request` input (for a `workflow_run`), or None when empty."""
    raw = runner.input("pull-request")
    if not raw:
        return None
    if not re.fullmatch(r"#?[1-9][0-9]*", raw):
        raise ConfigError(f"Input pull-request must be a pull request number (1 or more), not {raw!r}")
    return int(raw.removeprefix("#"))
