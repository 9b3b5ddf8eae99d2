"""The GitHub Action's run (`entrypoint.py` calls `main()`), top to bottom:

1. Mask every secret value given as an input or a conventional variable, before anything else is printed.
2. Read the event. A pull request from a fork, or a pull request run without the Cloudflare token (GitHub
   withholds secrets from forks and from Dependabot), ends here: a notice, success, nothing deployed.
3. Load `Settings` from the inputs (`INPUT_*`) and `app.yml`.
4. Run the command named by the input `command`, through the registry (`deployer.commands`); commands the
   registry lists as planned fail with "not available yet".
5. Report: outputs (also those known before a failure), the job summary, the sticky PR comment and the GitHub
   Deployment. GitHub reporting that fails (say, a missing permission) is a warning: the app is deployed.

Everything is logged to stdout inside `::group::` sections, one stream so the runner keeps the order.
Exit code: 0 done or skipped; 1 a `DeployError` (an `::error` annotation, on the file and line it names);
3 a bug (with its traceback); 130 interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import time
import traceback
from collections.abc import Awaitable, Mapping
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import NoReturn, TextIO, TypeVar

import structlog

from deployer._logging import configure_logging
from deployer.action_inputs import bool_input, command_options, pull_request_input
from deployer.commands import COMMANDS, CommandResult, CommandSpec, Hooks, Options, execute
from deployer.commands._previews import preview_target
from deployer.commands.plan import Prepared
from deployer.commands.sweep import SweepResult
from deployer.commands.teardown import TeardownResult
from deployer.errors import CloudflareError, ConfigError, DeployError, GitHubAPIError, RolledBackError
from deployer.github.api import GitHubClient
from deployer.github.event import PULL_REQUEST_EVENTS, Event, load_event
from deployer.github.publish import (
    Deployment,
    check_pull_request_head,
    retire_environment,
    update_comment,
    upsert_comment,
)
from deployer.github.report import RunReport, Status, comment_body, comment_marker, summary_markdown
from deployer.github.runner import Runner
from deployer.settings import Settings, parse_secret_names, worker_name_from

__all__ = ["main"]

log = structlog.get_logger("deployer.action")
T = TypeVar("T")

_SECRET_INPUTS = ("api-token", "github-token", "app-password", "session-secret")
_SECRET_VARIABLES = ("CLOUDFLARE_API_TOKEN", "GITHUB_TOKEN", "APP_PASSWORD", "SESSION_SECRET")

FORK_NOTICE = (
    "Pull request #{number} comes from the fork {head}. GitHub gives pull_request runs from forks no secrets "
    "and a read-only token, so nothing was deployed. To preview pull requests from forks, deploy from a separate "
    "workflow_run workflow that never runs the pull request's code with secrets (README: Pull requests from forks)."
)
FORK_TARGET_NOTICE = (
    "Pull request #{number} comes from the fork {head}, and this is a pull_request_target run, which has this "
    "repository's secrets: deploying the fork's code from it would hand them to that code, so nothing was "
    "deployed. Use the workflow_run pattern instead (README: Pull requests from forks)."
)
NO_TOKEN_NOTICE = (
    "No Cloudflare API token in this {event} run (GitHub withholds secrets from pull requests from forks and "
    "from Dependabot), so nothing was deployed."
)


def main(environ: Mapping[str, str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the action with the runner's environment; returns the exit code."""
    started = time.monotonic()
    runner = Runner(os.environ if environ is None else environ, stdout)
    mask_given_secrets(runner)
    logging_before = structlog.get_config()
    configure_logging(json_logs=False, verbose=runner.environ.get("RUNNER_DEBUG") == "1")
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(file=runner.stdout))
    # A cancelled job stops the container with SIGTERM: end like Ctrl-C, with a line saying so.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return asyncio.run(ActionRun(runner, started=started).run())
    except KeyboardInterrupt:
        runner.error("Interrupted (the job was cancelled)", title="Cancelled")
        return 130
    except Exception:
        runner.error(
            "An unexpected error occurred (a bug in cf-stateful-deployer); the traceback follows in the log.",
            title="Unexpected error",
        )
        traceback.print_exc(file=runner.stdout)
        return 3
    finally:
        signal.signal(signal.SIGTERM, previous)
        structlog.configure(**logging_before)


def _interrupt(signum: int, frame: FrameType | None) -> NoReturn:
    raise KeyboardInterrupt


def mask_given_secrets(runner: Runner) -> None:
    """`::add-mask::` every secret value the step was given, before any other output."""
    for name in _SECRET_INPUTS:
        runner.mask(runner.input(name))
    for variable in _SECRET_VARIABLES:
        runner.mask(runner.environ.get(variable, ""))
    for name in parse_secret_names(runner.input("secrets")):
        runner.mask(runner.environ.get(name, ""))


class ActionRun:
    """One run: the state a failure report needs (what is known so far) and the steps."""

    def __init__(self, runner: Runner, *, started: float) -> None:
        self.runner = runner
        self.started = started
        self.command = runner.input("command", "deploy").lower()
        self.app_dir = runner.input("app-dir", ".").strip("/").removeprefix("./") or "."
        self.event: Event | None = None
        self.settings: Settings | None = None
        self.github: GitHubClient | None = None
        self.deployment: Deployment | None = None
        self.deployment_started: asyncio.Task[int | None] | None = None
        self.url = ""
        self.preview_script = ""  # the Worker a preview or teardown acts on, shown instead of the app's

    async def run(self) -> int:
        async with contextlib.AsyncExitStack() as stack:
            try:
                return await self._run(stack)
            except DeployError as exc:
                await self._fail(exc)
                return 1
            except Exception:
                await self._settle_after_bug()
                raise
            finally:
                # Nothing may outlive the GitHub client (closed when the stack unwinds).
                if self.deployment_started is not None and not self.deployment_started.done():
                    self.deployment_started.cancel()
                    await asyncio.gather(self.deployment_started, return_exceptions=True)

    async def _settle_after_bug(self) -> None:
        """Cleanup before a bug propagates: a started GitHub Deployment is marked failed, as best it can be."""
        if self.deployment_started is not None:
            await asyncio.gather(self.deployment_started, return_exceptions=True)
        if self.deployment is not None:
            with contextlib.suppress(Exception):  # the bug itself is what gets reported
                await self.deployment.finish(success=False, url="", description="Failed: unexpected error")

    async def _run(self, stack: contextlib.AsyncExitStack) -> int:
        self.event = event = load_event(self.runner.environ, pull_request_number=pull_request_input(self.runner))
        self._check_command()
        log.info("start", command=self.command, app_dir=self.app_dir, trigger=event.name or "-", commit=event.sha[:12])
        skip = self._skip_reason(event)
        if skip:
            self.runner.notice(skip, title="Nothing deployed")
            self.runner.set_outputs({"status": "skipped"})
            self.runner.summary(summary_markdown(self._report("skipped", changed="nothing (skipped)", error=skip)))
            return 0
        with self.runner.group("Settings"):
            self.settings = settings = self._load_settings()
            log.info("settings", app_dir=str(settings.app_dir), worker=settings.script_name, api=settings.api_base_url)
        self.runner.set_outputs({"script-name": settings.script_name})
        token = self.runner.input("github-token")
        if token and event.repository:
            self.github = await stack.enter_async_context(
                GitHubClient(token=token, repository=event.repository, api_url=event.api_url)
            )
        return await self._command(COMMANDS[self.command], settings, event)

    # --- the command ----------------------------------------------------------------------------------------

    async def _command(self, spec: CommandSpec, settings: Settings, event: Event) -> int:
        options = self._options(spec, event)
        # A preview's Deployments go to its own environment (preview/pr-N), which teardown retires.
        preview = preview_target(settings, options, spec.name) if "pr" in spec.flags else None
        self.preview_script = preview.script if preview else ""
        if preview is not None and event.name == "workflow_run":
            # The number comes from the build's artifact (the fork's files): it must be this build's.
            await check_pull_request_head(self.github, preview.number, event.sha)
        if spec.records_deployment and self.github and event.sha and self._bool("github-deployment", default=True):
            self.deployment = Deployment(
                self.github,
                ref=event.sha,
                environment=preview.environment if preview else self.runner.input("environment", "production"),
                production=preview is None,
                log_url=event.run_url,
            )
            script = preview.script if preview else settings.script_name
            self.deployment_started = asyncio.create_task(
                self._quietly("GitHub Deployment", self.deployment.start(f"Deploying {script}"))
            )
        result = await execute(spec.name, settings, options)
        self.url = result.url
        self.runner.set_outputs({name: value for name, value in result.outputs().items() if name != "status"})
        if result.details:
            print(result.details, file=self.runner.stdout, flush=True)
        report = self._report(result.status, changed=result.changed_words(), rows=result.report_rows())
        await self._publish(report, success=True, result=result)
        if isinstance(result, TeardownResult):
            await self._retire(result.environment)
        elif isinstance(result, SweepResult):
            await self._retire_swept(result)
        if result.incomplete:
            raise CloudflareError(result.incomplete, hint="Run it again: what was removed stays removed.")
        return 0

    def _options(self, spec: CommandSpec, event: Event) -> Options:
        """The command's switches from the inputs (only those its flags name) and the event."""
        hooks = Hooks(mask=self.runner.mask, group=self.runner.group, on_plan=self._planned, warn=self.runner.warning)
        return command_options(self.runner, spec, event, github=self.github, hooks=hooks)

    async def _retire(self, environment: str) -> None:
        """A removed preview's Deployments become inactive, so GitHub stops linking to its URL."""
        if self.github and self._bool("github-deployment", default=True):
            await self._quietly(
                "GitHub Deployment", retire_environment(self.github, environment, description="Preview removed")
            )

    async def _retire_swept(self, result: SweepResult) -> None:
        """For each preview a sweep removed: its Deployments inactive, and its pull request's comment edited."""
        for removal in result.removals:
            await self._retire(removal.environment)
            if self.github and self._bool("pr-comment", default=True):
                report = replace(self._report("removed", changed=removal.words()), url="", commit="", commit_url="")
                await self._quietly(
                    "PR comment",
                    update_comment(
                        self.github,
                        removal.number,
                        marker=comment_marker(self.app_dir),
                        body=self.runner.scrub(comment_body(report)),
                    ),
                )

    def _planned(self, prepared: Prepared) -> None:
        """Outputs known before the first write are written at once, so a later failure still has them."""
        self.url = prepared.url
        self.runner.set_outputs(
            {"url": prepared.url, "script-name": prepared.plan.script, "changed": str(prepared.plan.changes)}
        )

    # --- reporting ------------------------------------------------------------------------------------------

    async def _fail(self, exc: DeployError) -> None:
        """Annotate the failure, write what is known, and tell GitHub (summary, comment, deployment)."""
        file, line = _annotation_place(exc)
        self.runner.error(str(exc), title=exc.title, file=file, line=line)
        status: Status = "rolled-back" if isinstance(exc, RolledBackError) else "failed"
        self.runner.set_outputs({"status": status, "error": exc.message})
        report = self._report(status, changed="", error=f"{exc.title}: {exc.message}", hint=exc.hint or "")
        note = (
            f"Rolled back to {exc.rolled_back_label}: the new version failed its checks"
            if isinstance(exc, RolledBackError)
            else ""
        )
        await self._publish(report, success=False, description=note)

    async def _publish(
        self, report: RunReport, *, success: bool, result: CommandResult | None = None, description: str = ""
    ) -> None:
        self.runner.set_outputs({"status": report.status})
        with self.runner.group("Report"):
            details = f"\n```text\n{result.details}\n```\n" if result and result.details else ""
            self.runner.summary(summary_markdown(report) + details)
            if self.deployment_started is not None:
                await self.deployment_started
            if self.deployment is not None:
                await self._quietly(
                    "GitHub Deployment",
                    self.deployment.finish(
                        success=success, url=report.url, description=description or report.status_text
                    ),
                )
            event = self.event
            pull_request = event.pull_request if event else None
            spec = COMMANDS.get(self.command)
            comments = spec is not None and spec.comments
            if self.github and pull_request and comments and self._bool("pr-comment", default=True):
                done = await self._quietly(
                    "PR comment",
                    upsert_comment(
                        self.github,
                        pull_request.number,
                        marker=comment_marker(self.app_dir),
                        body=self.runner.scrub(comment_body(report)),
                    ),
                )
                if done is not None:
                    comment, created = done
                    log.info("pr comment " + ("created" if created else "updated"), url=comment.url or comment.id)

    async def _quietly(self, what: str, call: Awaitable[T]) -> T | None:
        """Await a GitHub call; its failure becomes a warning (with the fix), not a failed deploy."""
        try:
            return await call
        except GitHubAPIError as exc:
            self.runner.warning(str(exc), title=f"{what} not recorded")
            return None

    def _report(
        self, status: Status, *, changed: str, error: str = "", hint: str = "", rows: tuple[tuple[str, str], ...] = ()
    ) -> RunReport:
        event = self.event
        app = self.preview_script or (
            self.settings.script_name if self.settings else (self.runner.input("name") or self.app_dir)
        )
        return RunReport(
            app=app,
            app_dir=self.app_dir,
            command=self.command,
            status=status,
            url=self.url,
            commit=event.sha if event else "",
            commit_url=event.commit_url() if event else "",
            changed=changed,
            duration_s=time.monotonic() - self.started,
            run_url=event.run_url if event else "",
            finished=dt.datetime.now(dt.UTC),
            error=error,
            hint=hint,
            rows=rows,
        )

    # --- inputs ---------------------------------------------------------------------------------------------

    def _check_command(self) -> None:
        if self.command not in COMMANDS:
            raise ConfigError(
                f"Unknown command {self.command!r} (input command)", hint=f"Use one of: {', '.join(COMMANDS)}."
            )

    def _skip_reason(self, event: Event) -> str | None:
        if event.name not in PULL_REQUEST_EVENTS:
            return None
        pull_request = event.pull_request
        if pull_request is not None and event.untrusted_pull_request:
            template = FORK_TARGET_NOTICE if event.name == "pull_request_target" else FORK_NOTICE
            return template.format(number=pull_request.number, head=pull_request.head_repository or "(deleted)")
        if not (self.runner.input("api-token") or self.runner.environ.get("CLOUDFLARE_API_TOKEN")):
            return NO_TOKEN_NOTICE.format(event=event.name)
        return None

    def _load_settings(self) -> Settings:
        """`Settings` from the environment; an app at the repository root is named after the repository."""
        settings = Settings.load(environ=self.runner.environ)
        workspace = self.runner.environ.get("GITHUB_WORKSPACE") or os.getcwd()
        repository = self.event.repository if self.event else ""
        if settings.name is None and repository and settings.app_dir.resolve() == Path(workspace).resolve():
            label = worker_name_from(repository.rsplit("/", 1)[-1], source="the repository's name")
            settings = settings.model_copy(update={"name": label})
        return settings

    def _bool(self, name: str, *, default: bool) -> bool:
        return bool_input(self.runner, name, default=default)


def _annotation_place(exc: DeployError) -> tuple[str | None, int | None]:
    """The file (relative to the workspace, as annotations want it) and line an error points at."""
    if exc.file is None:
        return None, None
    path = exc.file
    with contextlib.suppress(ValueError):
        path = path.resolve().relative_to(Path.cwd().resolve())
    return path.as_posix(), exc.line
