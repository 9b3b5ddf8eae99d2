"""The command line: `python -m deployer {deploy,plan,inspect} …`.

A boring dispatcher: parse flags, build `Settings`, run the command, turn errors into one clear message and an
exit code (0 done, 1 a `DeployError`, 2 bad usage, 3 an unexpected error, 130 interrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from deployer._logging import configure_logging
from deployer.app import load_app
from deployer.deploy import DeployResult, deploy, make_client, prepare
from deployer.errors import DeployError
from deployer.github.runner import error_command, is_runner, write_outputs
from deployer.settings import Settings, parse_var_flags
from deployer.state import local_digests

__all__ = ["main"]

log = structlog.get_logger("deployer")


def _add_app_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("app_dir", nargs="?", type=Path, help="the app folder (default: input app-dir or .)")
    command.add_argument("--name", help="the Worker's name (default: app.yml name, else the folder's name)")
    command.add_argument("--compatibility-date", help="the Workers compatibility date, YYYY-MM-DD")
    command.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="a plain-text variable (repeatable)"
    )


def _add_common_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--account-id", help="Cloudflare account id (env CLOUDFLARE_ACCOUNT_ID)")
    command.add_argument("--api-base-url", help="API base URL (env CLOUDFLARE_API_BASE_URL)")
    command.add_argument("--json-logs", action="store_true", help="machine-readable JSON log lines")
    command.add_argument("-v", "--verbose", action="store_true", help="log every API request")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deployer", description="Deploy a Worker + static assets + D1 app to Cloudflare."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    deploy_cmd = commands.add_parser("deploy", help="deploy the app (only what changed)")
    _add_app_options(deploy_cmd)
    _add_common_options(deploy_cmd)
    deploy_cmd.add_argument("--force", action="store_true", help="redeploy everything, whatever changed")
    plan_cmd = commands.add_parser("plan", help="show what a deploy would do (local checks work without a token)")
    _add_app_options(plan_cmd)
    _add_common_options(plan_cmd)
    plan_cmd.add_argument("--force", action="store_true", help="plan a full redeploy")
    inspect_cmd = commands.add_parser("inspect", help="describe a deployed app: bindings, assets, D1, URL")
    inspect_cmd.add_argument("--name", required=True, help="the Worker's name")
    inspect_cmd.add_argument("--json", action="store_true", help="print JSON instead of text")
    _add_common_options(inspect_cmd)
    return parser


def _cli_values(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {
        "app_dir": getattr(args, "app_dir", None),
        "name": args.name,
        "account_id": args.account_id,
        "api_base_url": args.api_base_url,
        "compatibility_date": getattr(args, "compatibility_date", None),
        "json_logs": True if args.json_logs else None,
    }
    if getattr(args, "var", None):
        values["vars"] = parse_var_flags(args.var)
    return values


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    args = _parser().parse_args(argv)
    configure_logging(json_logs=bool(args.json_logs), verbose=bool(args.verbose))
    try:
        settings = Settings.load(cli=_cli_values(args), environ=environ)
        if args.command == "deploy":
            result = asyncio.run(_deploy(settings, force=bool(args.force)))
            _report_success(result, environ)
        elif args.command == "plan":
            asyncio.run(_plan(settings, force=bool(args.force)))
        elif args.command == "inspect":
            asyncio.run(_inspect(settings, as_json=bool(args.json)))
        else:  # pragma: no cover - argparse refuses unknown commands
            raise AssertionError(f"unhandled command {args.command!r}")
    except DeployError as exc:
        _report_error(exc, environ)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception:
        print("An unexpected error occurred (a bug in the deployer):", file=sys.stderr)
        traceback.print_exc()
        return 3
    return 0


async def _deploy(settings: Settings, *, force: bool) -> DeployResult:
    async with make_client(settings) as client:
        return await deploy(settings, client=client, force=force)


async def _plan(settings: Settings, *, force: bool) -> None:
    app = load_app(settings.app_dir)  # the local checks, with or without credentials
    manifest = app.manifest
    print(f"app {settings.app_dir}: Worker {settings.script_name}, {len(app.worker_code):,} bytes of code")
    if manifest is not None:
        digest = local_digests(settings, app, secret_values={}, key="").assets  # the digest `inspect` shows
        print(f"  assets: {len(manifest.files)} files, {manifest.total_bytes:,} bytes, digest {digest}")
    print(f"  schema: {app.schema_path or 'none'}; D1 database {settings.database_name} as {settings.d1.binding}")
    if settings.api_token is None or settings.account_id is None:
        print("remote: not read (set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID to plan against Cloudflare)")
        return
    async with make_client(settings) as client:
        prepared = await prepare(settings, client=client, force=force, app=app)
    print("\n".join(prepared.plan.describe()))
    print(f"url: {prepared.url}")


async def _inspect(settings: Settings, *, as_json: bool) -> None:
    from deployer.inspect import inspect_app, render_inspection  # only this command needs it

    async with make_client(settings) as client:
        report = await inspect_app(client, settings.script_name, api_base_url=settings.api_base_url)
    print(json.dumps(report, indent=2) if as_json else render_inspection(report))


def _report_success(result: DeployResult, environ: Mapping[str, str]) -> None:
    log.info(
        "deployed" if result.changed != "nothing" else "unchanged",
        script=result.script_name,
        url=result.url,
        changed=result.changed,
        assets_uploaded=result.assets_uploaded,
        asset_bytes_uploaded=result.asset_bytes_uploaded,
    )
    output_file = environ.get("GITHUB_OUTPUT")
    if output_file:
        write_outputs(
            Path(output_file),
            {
                "url": result.url,
                "script-name": result.script_name,
                "database-id": result.database_id or "",
                "changed": result.changed,
            },
        )
    print(result.url)


def _report_error(exc: DeployError, environ: Mapping[str, str]) -> None:
    print(f"error: {exc}", file=sys.stderr)
    if is_runner(environ):
        file = str(exc.file) if exc.file else None
        print(error_command(str(exc), title=exc.title, file=file, line=exc.line), flush=True)
