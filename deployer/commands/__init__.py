"""The commands, one module each, and the one registry that the CLI, the action and the report read.

| command   | module                        | does                                                        |
|-----------|-------------------------------|-------------------------------------------------------------|
| `deploy`  | `deployer.commands.deploy`    | the six steps, only what changed                            |
| `plan`    | `deployer.commands.plan`      | what a deploy would do; changes nothing                     |
| `inspect` | `deployer.commands.inspect`   | the deployed app: bindings, assets, D1 tables and migrations |
| `restore` | `deployer.commands.restore`   | the D1 database back to a Time Travel bookmark              |
| `preview` | `deployer.commands.preview`   | the app as one pull request's preview: own Worker and D1    |
| `teardown`| `deployer.commands.teardown`  | remove one pull request's preview (Worker and its D1)       |
| `sweep`   | `deployer.commands.sweep`     | remove this app's previews of closed (or old) pull requests |
| `rotate`  | `deployer.commands.rotate`    | new values for the deployed Worker's secrets, no redeploy    |
| `rollback`| `deployer.commands.rollback`  | an earlier version of the Worker back in front of all traffic |

Each module has `run(settings, client, options) -> CommandResult`. `COMMANDS` says how the front ends treat
it: which flags the CLI offers, whether it needs credentials, which statuses it ends with, whether the action
records a GitHub Deployment and keeps the PR comment for it. `execute()` makes the client and runs one;
both front ends call it. A new command is a module here plus one `CommandSpec` entry (docs/ARCHITECTURE.md).
Command modules are imported on first use, so `import deployer.commands` stays cheap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Literal, cast

from deployer.cloudflare import CloudflareClient
from deployer.commands._base import CommandResult, Hooks, Options, Status, make_client
from deployer.settings import Settings

__all__ = [
    "COMMANDS",
    "CommandResult",
    "CommandSpec",
    "Hooks",
    "Options",
    "Status",
    "execute",
    "make_client",
]

Flag = Literal[
    "app", "force", "json", "verify", "data", "bookmark", "pr", "preview", "sweep", "rotate", "rollback", "to"
]
Runner = Callable[[Settings, CloudflareClient | None, Options], Awaitable[CommandResult]]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command as the front ends see it."""

    name: str
    summary: str  # the CLI's help, and `{name}: {summary}.` in action.yml's description of `command`
    statuses: tuple[Status, ...]  # what a successful run ends with
    # "app": reads an app folder (APP_DIR, --name, --var, …); "data": --allow-destructive, --allow-new-database;
    # "bookmark": --bookmark (required); "pr": --pr N (required; the action reads the event's pull request);
    # "preview": --preview-database; "sweep": --dry-run, --max-age; "rotate": --secret NAME, --mode;
    # "rollback": --rollback-on-failure (on by default where `rollback_by_default`); "to": --to VERSION
    flags: frozenset[Flag]
    needs_credentials: bool = True  # False: runs its local part without a token (plan)
    records_deployment: bool = False  # the action records a GitHub Deployment for it
    comments: bool = False  # the action keeps the sticky PR comment for it
    rollback_by_default: bool = False  # "rollback": a failed check rolls back unless switched off

    @property
    def module(self) -> str:
        return f"deployer.commands.{self.name}"

    def load(self) -> Runner:
        return cast(Runner, import_module(self.module).run)


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec(
            "deploy",
            "deploy the app, only what changed",
            statuses=("deployed", "unchanged"),
            flags=frozenset({"app", "force", "verify", "data", "rollback"}),
            records_deployment=True,
            comments=True,
            rollback_by_default=True,
        ),
        CommandSpec(
            "plan",
            "show what a deploy would do and change nothing; the local checks need no token",
            statuses=("planned",),
            flags=frozenset({"app", "force", "data"}),
            needs_credentials=False,
        ),
        CommandSpec(
            "inspect",
            "describe the deployed app: bindings, assets, D1 tables, applied and pending migrations, URL",
            statuses=("inspected",),
            flags=frozenset({"app", "json"}),
        ),
        CommandSpec(
            "restore",
            "put the app's D1 database back to a Time Travel bookmark (the one a deploy printed before migrating)",
            statuses=("restored",),
            flags=frozenset({"app", "bookmark"}),
        ),
        CommandSpec(
            "preview",
            "deploy the app as the preview of one pull request, with its own Worker and D1 database",
            statuses=("deployed", "unchanged"),
            flags=frozenset({"app", "force", "verify", "data", "pr", "preview", "rollback"}),
            records_deployment=True,
            comments=True,
        ),
        CommandSpec(
            "teardown",
            "remove the preview of one pull request: its D1 database, then its Worker",
            statuses=("removed", "absent"),
            flags=frozenset({"app", "pr"}),
            comments=True,
        ),
        CommandSpec(
            "sweep",
            "remove this app's previews whose pull request is closed, or older than --max-age",
            statuses=("swept", "planned"),
            flags=frozenset({"app", "sweep"}),
        ),
        CommandSpec(
            "rotate",
            "give the deployed Worker's secrets new values without a redeploy (SESSION_SECRET by default, keeping "
            "sessions valid), then check the live app",
            statuses=("rotated",),
            flags=frozenset({"app", "rotate"}),
        ),
        CommandSpec(
            "rollback",
            "put an earlier version of the Worker (the one before, or --to VERSION) back in front of all traffic, "
            "then check the live app; D1 is not touched",
            statuses=("rolled-back", "unchanged"),
            flags=frozenset({"app", "force", "verify", "to"}),
        ),
    )
}


async def execute(name: str, settings: Settings, options: Options | None = None) -> CommandResult:
    """Run command `name` with a client for `settings` (none when it may run without and none is configured)."""
    spec = COMMANDS[name]
    run = spec.load()
    options = options or Options()
    if not spec.needs_credentials and (settings.api_token is None or settings.account_id is None):
        return await run(settings, None, options)
    async with make_client(settings) as client:
        return await run(settings, client, options)
