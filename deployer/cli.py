"""The command line: `python -m deployer deploy [APP_DIR] [--name NAME] …`.

A boring dispatcher: parse flags, build `Settings`, run the command, turn errors into one clear message and an
exit code (0 done, 1 a `DeployError`, 2 bad usage, 3 an unexpected error, 130 interrupted).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import structlog

from deployer._logging import configure_logging
from deployer.deploy import DeployResult, deploy, make_client
from deployer.errors import DeployError
from deployer.github.runner import error_command, is_runner, write_outputs
from deployer.settings import Settings, parse_var_flags

__all__ = ["main"]

log = structlog.get_logger("deployer")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deployer",
        description="Deploy a Worker + static assets + D1 app to Cloudflare.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    deploy_cmd = commands.add_parser("deploy", help="deploy the app (the six API steps)")
    deploy_cmd.add_argument(
        "app_dir", nargs="?", type=Path, help="the app folder (default: input app-dir or .)"
    )
    deploy_cmd.add_argument(
        "--name", help="the Worker's name (default: app.yml name, else the folder's name)"
    )
    deploy_cmd.add_argument("--account-id", help="Cloudflare account id (env CLOUDFLARE_ACCOUNT_ID)")
    deploy_cmd.add_argument("--api-base-url", help="API base URL (env CLOUDFLARE_API_BASE_URL)")
    deploy_cmd.add_argument("--compatibility-date", help="the Workers compatibility date, YYYY-MM-DD")
    deploy_cmd.add_argument(
        "--var", action="append", default=[], metavar="NAME=VALUE", help="a plain-text variable (repeatable)"
    )
    deploy_cmd.add_argument("--json-logs", action="store_true", help="machine-readable JSON log lines")
    deploy_cmd.add_argument("-v", "--verbose", action="store_true", help="log every API request")
    return parser


def _cli_values(args: argparse.Namespace) -> dict[str, Any]:
    values: dict[str, Any] = {
        "app_dir": args.app_dir,
        "name": args.name,
        "account_id": args.account_id,
        "api_base_url": args.api_base_url,
        "compatibility_date": args.compatibility_date,
        "json_logs": True if args.json_logs else None,
    }
    if args.var:
        values["vars"] = parse_var_flags(args.var)
    return values


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    args = _parser().parse_args(argv)
    configure_logging(json_logs=bool(args.json_logs), verbose=bool(args.verbose))
    try:
        settings = Settings.load(cli=_cli_values(args), environ=environ)
        result = asyncio.run(_deploy(settings))
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
    _report_success(result, environ)
    return 0


async def _deploy(settings: Settings) -> DeployResult:
    async with make_client(settings) as client:
        return await deploy(settings, client=client)


def _report_success(result: DeployResult, environ: Mapping[str, str]) -> None:
    log.info(
        "deployed",
        script=result.script_name,
        url=result.url,
        database_created=result.database_created,
        assets_uploaded=result.assets_uploaded,
        asset_bytes_uploaded=result.asset_bytes_uploaded,
    )
    output_file = environ.get("GITHUB_OUTPUT")
    if output_file:
        write_outputs(
            Path(output_file),
            {"url": result.url, "script-name": result.script_name, "database-id": result.database_id},
        )
    print(result.url)


def _report_error(exc: DeployError, environ: Mapping[str, str]) -> None:
    print(f"error: {exc}", file=sys.stderr)
    if is_runner(environ):
        file = str(exc.file) if exc.file else None
        print(error_command(str(exc), title=exc.title, file=file, line=exc.line), flush=True)
