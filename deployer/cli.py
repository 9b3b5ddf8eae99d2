"""The command line: `python -m deployer COMMAND …`, an adapter over `deployer.commands`.

It parses flags (the commands and their flags come from the registry), builds `Settings`, runs the command
and turns its result into stdout (the URL, the plan, the inspection), `GITHUB_OUTPUT` values when that is
set, and an exit code: 0 done, 1 a `DeployError` (one clear message; an `::error` annotation on a runner),
2 bad usage, 3 an unexpected error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import structlog

from deployer._logging import configure_logging
from deployer.commands import COMMANDS, CommandResult, Hooks, Options, execute
from deployer.errors import CloudflareError, DeployError
from deployer.github.api import GitHubClient
from deployer.github.publish import state_reader
from deployer.github.runner import error_command, is_runner, workflow_command, write_outputs
from deployer.previews import parse_age
from deployer.rotation import MODES
from deployer.settings import Settings, parse_var_flags

__all__ = ["main"]

log = structlog.get_logger("deployer")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deployer", description="Deploy a Worker + static assets + D1 app to Cloudflare."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for spec in COMMANDS.values():
        command = commands.add_parser(spec.name, help=spec.summary, description=spec.summary)
        if "app" in spec.flags:
            command.add_argument("app_dir", nargs="?", type=Path, help="the app folder (default: input app-dir or .)")
            command.add_argument("--name", help="the Worker's name (default: app.yml name, else the folder's name)")
            command.add_argument("--compatibility-date", help="the Workers compatibility date, YYYY-MM-DD")
            command.add_argument(
                "--var", action="append", default=[], metavar="NAME=VALUE", help="a plain-text variable (repeatable)"
            )
        if "force" in spec.flags:
            force_help = (
                "go back even to a version whose secrets changed since (their old values come back)"
                if spec.name == "rollback"
                else "everything, whatever the recorded state says"
            )
            command.add_argument("--force", action="store_true", help=force_help)
        if "to" in spec.flags:
            command.add_argument(
                "--to", metavar="VERSION", help="the version: its number, id or first 8 characters (see inspect)"
            )
        if "verify" in spec.flags:
            command.add_argument(
                "--verify",
                action=argparse.BooleanOptionalAction,
                default=True,
                help="check the live app afterwards (default: on)",
            )
        if "rollback" in spec.flags:
            on = "on" if spec.rollback_by_default else "off"
            command.add_argument(
                "--rollback-on-failure",
                action=argparse.BooleanOptionalAction,
                default=None,
                help=f"when the checks fail after a new version, go back to the version live before it (default: {on})",
            )
        if "data" in spec.flags:
            command.add_argument(
                "--allow-destructive",
                action="store_true",
                help="apply migrations that can lose rows (DROP TABLE, DELETE with no WHERE, …) after a bookmark",
            )
            command.add_argument(
                "--allow-new-database",
                action="store_true",
                help="let a changed d1.name (or KV title, R2 bucket) bind the Worker to other storage than the "
                "one holding its data",
            )
        if "bookmark" in spec.flags:
            command.add_argument("--bookmark", required=True, help="the D1 Time Travel bookmark to go back to")
        if "pr" in spec.flags:
            command.add_argument("--pr", type=_number, required=True, metavar="N", help="the pull request's number")
        if "preview" in spec.flags:
            command.add_argument(
                "--preview-database",
                choices=("isolated", "shared"),
                default="isolated",
                help="a D1 database per preview (default), or one shared by every preview of the app",
            )
        if "sweep" in spec.flags:
            command.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
            command.add_argument(
                "--max-age", type=_age, metavar="AGE", help="also remove previews not deployed for longer (7d, 36h)"
            )
        if "rotate" in spec.flags:
            command.add_argument(
                "--secret",
                action="append",
                default=[],
                metavar="NAME",
                help="a secret to rotate (repeatable; default SESSION_SECRET); a new value comes from env NAME "
                "(APP_PASSWORD's too; then env CURRENT_APP_PASSWORD is the password the app has now, for the checks)",
            )
            command.add_argument(
                "--mode",
                choices=MODES,
                help="SESSION_SECRET only: graceful (default) keeps sessions valid, revoke ends every session",
            )
        if "json" in spec.flags:
            command.add_argument("--json", action="store_true", help="print JSON instead of text")
        command.add_argument("--account-id", help="Cloudflare account id (env CLOUDFLARE_ACCOUNT_ID)")
        command.add_argument("--api-base-url", help="API base URL (env CLOUDFLARE_API_BASE_URL)")
        command.add_argument("--json-logs", action="store_true", help="machine-readable JSON log lines")
        command.add_argument("-v", "--verbose", action="store_true", help="log every API request")
    return parser


def _rollback_on_failure(args: argparse.Namespace) -> bool:
    chosen = getattr(args, "rollback_on_failure", None)
    return COMMANDS[args.command].rollback_by_default if chosen is None else bool(chosen)


def _cli_values(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {
        "app_dir": getattr(args, "app_dir", None),
        "name": args.name,
        "account_id": args.account_id,
        "api_base_url": args.api_base_url,
        "compatibility_date": getattr(args, "compatibility_date", None),
    }
    if getattr(args, "var", None):
        values["vars"] = parse_var_flags(args.var)
    if getattr(args, "secret", None):  # rotate: the new values of these are read from env NAME
        values["secrets"] = list(args.secret)
    return values


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    args = _parser().parse_args(argv)
    configure_logging(json_logs=bool(args.json_logs), verbose=bool(args.verbose))
    try:
        settings = Settings.load(cli=_cli_values(args), environ=environ)
        options = Options(
            force=bool(getattr(args, "force", False)),
            verify=bool(getattr(args, "verify", False)),
            rollback_on_failure=_rollback_on_failure(args),
            rollback_to=getattr(args, "to", None),
            allow_destructive=bool(getattr(args, "allow_destructive", False)),
            allow_new_database=bool(getattr(args, "allow_new_database", False)),
            bookmark=getattr(args, "bookmark", None),
            pull_request=getattr(args, "pr", None),
            preview_database=getattr(args, "preview_database", "isolated"),
            dry_run=bool(getattr(args, "dry_run", False)),
            max_age=getattr(args, "max_age", None),
            rotate=tuple(getattr(args, "secret", None) or ()),
            rotate_mode=getattr(args, "mode", None),
            current_password=environ.get("CURRENT_APP_PASSWORD") or None if args.command == "rotate" else None,
            hooks=Hooks(warn=_warner(environ)),
        )
        result = asyncio.run(_execute(args.command, settings, options, environ))
        _report_success(result, environ, as_json=bool(getattr(args, "json", False)))
        if result.incomplete:
            raise CloudflareError(result.incomplete, hint="Run it again: what was done stays done.")
    except DeployError as exc:
        _report_error(exc, environ, as_json=bool(args.json_logs))
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception:
        print("An unexpected error occurred (a bug in the deployer):", file=sys.stderr)
        traceback.print_exc()
        return 3
    return 0


def _number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pull request number (1 or more)")
    return int(text)


def _age(text: str) -> dt.timedelta:
    try:
        return parse_age(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


async def _execute(command: str, settings: Settings, options: Options, environ: Mapping[str, str]) -> CommandResult:
    """Run `command`; `sweep` reads pull requests through GitHub when GITHUB_TOKEN and GITHUB_REPOSITORY are set."""
    token, repository = environ.get("GITHUB_TOKEN"), environ.get("GITHUB_REPOSITORY")
    if "sweep" not in COMMANDS[command].flags or not (token and repository):
        return await execute(command, settings, options)
    api_url = environ.get("GITHUB_API_URL") or "https://api.github.com"
    async with GitHubClient(token=token, repository=repository, api_url=api_url) as github:
        reader = state_reader(github, warn=options.hooks.warn)
        return await execute(command, settings, replace(options, pull_request_state=reader))


def _report_success(result: CommandResult, environ: Mapping[str, str], *, as_json: bool) -> None:
    details = {"url": result.url, "changed": str(result.changes) if result.changes else ""}
    log.info(
        result.status, command=result.command, script=result.script_name, **{k: v for k, v in details.items() if v}
    )
    output_file = environ.get("GITHUB_OUTPUT")
    if output_file:
        write_outputs(Path(output_file), result.outputs())
    print(json.dumps(result.as_json(), indent=2) if as_json else result.text)


def _warner(environ: Mapping[str, str]) -> Callable[[str], None]:
    """Warnings go to stderr, and become `::warning::` annotations on a runner."""

    def warn(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr, flush=True)
        if is_runner(environ):
            print(workflow_command("warning", message), flush=True)

    return warn


def _report_error(exc: DeployError, environ: Mapping[str, str], *, as_json: bool) -> None:
    if as_json:  # one JSON line like every other log line, so a log collector sees the failure too
        details = {"message": exc.message, "hint": exc.hint, "file": str(exc.file) if exc.file else None}
        log.error(exc.title, **{key: value for key, value in details.items() if value}, line=exc.line)
    else:
        print(f"error: {exc}", file=sys.stderr)
    if is_runner(environ):
        file = str(exc.file) if exc.file else None
        print(error_command(str(exc), title=exc.title, file=file, line=exc.line), flush=True)
