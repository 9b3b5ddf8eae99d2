"""What every command shares: the result it returns, the hooks a front end watches it through, a client.

A command is a function `run(settings, client, options) -> CommandResult` in a module of its own. It does the
work and returns a typed result; it prints nothing and writes no file. The front ends (`deployer.cli`,
`deployer.action`) turn the result into stdout and an exit code, or into outputs, a summary, a PR comment and
a GitHub Deployment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from deployer.changes import Changes
from deployer.cloudflare import CloudflareClient
from deployer.errors import ConfigError
from deployer.previews import DatabaseMode
from deployer.rotation import Mode
from deployer.settings import Settings

if TYPE_CHECKING:
    from deployer.commands.plan import Prepared

__all__ = ["CommandResult", "Hooks", "Options", "Status", "make_client"]

# Every status a run can end with: the commands' own (see the registry) plus "failed", "rolled-back" (failed, after
# going back to the version live before) and "skipped".
Status = Literal[
    "deployed",
    "unchanged",
    "planned",
    "inspected",
    "restored",
    "removed",
    "absent",
    "swept",
    "rotated",
    "rolled-back",
    "failed",
    "skipped",
]


def _ignore(_: object) -> None:
    return None


def _no_group(_: str) -> AbstractContextManager[object]:
    return nullcontext()


@dataclass(frozen=True, slots=True)
class Hooks:
    """How a front end follows a command: `mask` sees every secret value before it is used (a runner hides
    it: `::add-mask::`), `group(title)` wraps each phase (a runner folds it: `::group::`), `on_plan` sees the
    plan and the URL before the first write (so a later failure can still report them), `warn` gets each
    warning (a runner annotates it: `::warning::`)."""

    mask: Callable[[str], None] = _ignore
    group: Callable[[str], AbstractContextManager[object]] = _no_group
    on_plan: Callable[[Prepared], None] = _ignore
    warn: Callable[[str], None] = _ignore  # something the user should know; the command goes ahead


@dataclass(frozen=True, slots=True)
class Options:
    """The switches a command takes besides `Settings` (each command reads the ones it knows)."""

    force: bool = False  # deploy / plan: everything, whatever the recorded state says
    verify: bool = False  # deploy: check the live app afterwards (the CLI and the action switch it on by default)
    # deploy: when the checks fail after a new version was uploaded, go back to the version live before it
    rollback_on_failure: bool = False
    rollback_to: str | None = None  # rollback: the version to go back to (None: the one before)
    allow_destructive: bool = False  # deploy / plan: apply a migration that can lose rows (after a bookmark)
    allow_new_database: bool = False  # deploy / plan: bind the Worker to another database than its current one
    bookmark: str | None = None  # restore: the Time Travel bookmark to go back to
    pull_request: int | None = None  # preview / teardown: the pull request's number
    preview_database: DatabaseMode = "isolated"  # preview / teardown / sweep: a database per preview, or one shared
    dry_run: bool = False  # sweep: say what would be removed, remove nothing
    max_age: dt.timedelta | None = None  # sweep: also remove previews not deployed for longer than this
    # sweep: the state of a pull request ("open", "closed"; None when it cannot be read), from the front end's
    # GitHub client; without it only `max_age` tells a preview is stale
    pull_request_state: Callable[[int], Awaitable[str | None]] | None = None
    owner_tag: str | None = None  # deploy: the Worker must carry this tag or not exist yet; it is kept (previews)
    rotate: tuple[str, ...] = ()  # rotate: the secrets to rotate (none: SESSION_SECRET)
    rotate_mode: Mode | None = None  # rotate: SESSION_SECRET's mode (None: graceful)
    # rotate: the password the live app has now, to sign in before and check afterwards (needed when APP_PASSWORD
    # itself is rotated; otherwise the given APP_PASSWORD is the current one)
    current_password: str | None = None
    hooks: Hooks = field(default_factory=Hooks)


@dataclass(frozen=True, kw_only=True)
class CommandResult:
    """What a command did: its status, the app it acted on and where it lives.

    `text` is what the command shows a person (the CLI's stdout); `details` is the block a job summary shows
    under its table (empty when the table says it all); `outputs()` are the step's `GITHUB_OUTPUT` values.
    """

    command: str
    status: Status
    script_name: str
    url: str = ""
    changes: Changes | None = None
    text: str = ""
    # Set when part of the work failed after other parts were done (a sweep that removed some previews): the
    # front ends report what was done, then fail with this message.
    incomplete: str = ""

    @property
    def details(self) -> str:
        return self.text

    def changed_words(self) -> str:
        """What changed, in words, for the summary table and the PR comment."""
        return str(self.changes) if self.changes else ""

    def report_rows(self) -> tuple[tuple[str, str], ...]:
        """Rows the PR comment shows below "What changed" (name, value); none by default."""
        return ()

    def as_json(self) -> object:
        """What `--json` prints (the outputs, unless the command has a richer report)."""
        return self.outputs()

    def outputs(self) -> dict[str, str]:
        values = {"url": self.url, "script-name": self.script_name, "status": self.status}
        if self.changes is not None:
            values["changed"] = str(self.changes)
        return values


def make_client(settings: Settings) -> CloudflareClient:
    """A client for the configured account; `ConfigError` naming what is missing when credentials are not set."""
    missing = [
        label
        for label, value in (
            ("CLOUDFLARE_API_TOKEN (input api-token)", settings.api_token),
            ("CLOUDFLARE_ACCOUNT_ID (input account-id, flag --account-id)", settings.account_id),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"Missing {' and '.join(missing)}",
            hint="Create an API token with Workers Scripts:Edit and D1:Edit at dash.cloudflare.com/profile/api-tokens.",
        )
    assert settings.api_token is not None and settings.account_id is not None
    return CloudflareClient(
        base_url=settings.api_base_url,
        api_token=settings.api_token.get_secret_value(),
        account_id=settings.account_id,
    )
