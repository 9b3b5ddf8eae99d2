"""`python -m cfemu serve …`: run the Cloudflare API emulator.

By default deployed Workers run in workerd (through the npm package miniflare, see `cfemu.miniflare_runtime`)
and answer at `http://{script}.{subdomain}.workers.dev.localhost:{port}`; `--no-runtime` serves the API only.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from cfemu.context import EmulatorConfig
from cfemu.faults import FaultRule, Faults, add_fault_arguments
from cfemu.network import add_network_arguments, network_from_args

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cfemu", description="A local emulator of the Cloudflare API v4.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API under /client/v4")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8799, help="port; 0 picks a free one (default 8799)")
    serve.add_argument("--data-dir", type=Path, required=True, help="directory holding all state")
    serve.add_argument("--account-id", required=True, help="the one account id the emulator serves")
    serve.add_argument("--api-token", required=True, help="the API token clients must send as Bearer")
    serve.add_argument(
        "--subdomain",
        default=None,
        help="the account's workers.dev subdomain (omit for an account without one)",
    )
    serve.add_argument(
        "--no-runtime",
        action="store_true",
        help="serve the API only: accept uploads without running them (no Node/workerd needed)",
    )
    serve.add_argument(
        "--max-databases",
        type=int,
        default=10,
        help="D1 databases the account may hold; creating one more answers 7406 (default 10, the Free plan's)",
    )
    serve.add_argument(
        "--max-asset-files",
        type=int,
        default=20_000,
        help="asset files one Worker version may have; an upload session for more is refused "
        "(default 20000, the Free plan's; Workers Paid has 100000)",
    )
    serve.add_argument(
        "--max-crons",
        type=int,
        default=5,
        help="Cron Triggers the account may hold (all scripts); a PUT of schedules beyond it answers 10072 "
        "(default 5, the Free plan's; Workers Paid has 250)",
    )
    serve.add_argument(
        "--run-crons",
        action="store_true",
        help="also fire each deployed Worker's Cron Triggers on their schedule (UTC), as Cloudflare does",
    )
    add_network_arguments(serve)
    add_fault_arguments(serve)
    return parser


def _faults(rules: list[FaultRule]) -> Faults:
    faults = Faults()
    for rule in rules:
        faults.add(rule)
    return faults


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` and run the chosen command; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        from cfemu.server import serve

        serve(
            EmulatorConfig(
                host=args.host,
                port=args.port,
                data_dir=args.data_dir.resolve(),
                account_id=args.account_id,
                api_token=args.api_token,
                subdomain=args.subdomain,
                run_workers=not args.no_runtime,
                max_databases=args.max_databases,
                max_asset_files=args.max_asset_files,
                max_crons=args.max_crons,
                run_crons=args.run_crons,
            ),
            network=network_from_args(args),
            faults=_faults(args.fault),
        )
        return 0
    raise AssertionError(f"unhandled command {args.command!r}")


if __name__ == "__main__":
    raise SystemExit(main())
