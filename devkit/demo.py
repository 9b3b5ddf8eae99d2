"""The newcomer demo (`scripts/demo` runs `python -m devkit.demo`): items-app live on the local emulator.

1. starts cfemu (the local Cloudflare API emulator, running Workers in workerd) on 127.0.0.1:8787, or on a
   free port if 8787 is taken, with its state in `.cfemu/demo` (kept between runs; delete it to start over);
2. deploys examples/items-app with the real CLI (`python -m deployer deploy`), exactly as against Cloudflare;
3. runs the seed's verification checklist (`devkit.checklist`) against the URL and prints each check;
4. prints the URL and the demo password, and keeps everything up until Ctrl-C, then stops cfemu (which
   stops every workerd it started).
Nothing here talks to the real Cloudflare: the deploy gets only the emulator's credentials (`devkit.cli`).
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

import httpx

from cfemu.launcher import Emulator, running_emulator
from devkit.checklist import ApiAccess, format_results, run_checklist
from devkit.cli import run_cli
from devkit.example import EXAMPLE_APP, REPO, copy_example
from devkit.processes import runtime_group, wait_until_gone

ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
API_TOKEN = "demo-token-for-the-local-emulator"
SUBDOMAIN = "demo"


def _port_or_free(preferred: int) -> int:
    """`preferred` if nothing listens on it on 127.0.0.1, else a free port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
    print(f"Port {preferred} is in use; using {port} instead.")
    return port


def _password(data_dir: Path) -> str:
    """The demo password, made up on the first run and kept next to the emulator's state."""
    path = data_dir / "demo-password.txt"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(9) + "\n", encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def _deploy(emu: Emulator, app_dir: Path, password: str, *, quiet: bool = False) -> str:
    """`python -m deployer deploy app_dir` against the emulator; returns the URL it prints (exits on failure)."""
    run = run_cli(emu, "deploy", str(app_dir), env={"APP_PASSWORD": password}, show_log=not quiet)
    if run.returncode != 0:
        sys.exit(f"The deploy failed (exit {run.returncode}).{run.stderr or ''}")
    return run.stdout.strip()


def _code_only_redeploy(emu: Emulator, password: str, scratch: Path) -> str:
    """Deploy items-app with a comment added to worker.js (a new version, same data); describe it."""
    shutil.rmtree(scratch / EXAMPLE_APP.name, ignore_errors=True)
    copy = copy_example(scratch)
    with (copy / "worker.js").open("a", encoding="utf-8") as worker:
        worker.write(f"\n// demo redeploy at {time.strftime('%H:%M:%S')}\n")
    _deploy(emu, copy, password, quiet=True)
    return "redeployed worker.js with a comment added"


def _serve_until_interrupted(emu: Emulator) -> int:
    """Wait for Ctrl-C (returns 0), or for the emulator to stop answering (returns 1)."""
    try:
        while True:
            time.sleep(2)
            try:
                httpx.get(f"{emu.root_url}/__emulator/health", timeout=5, trust_env=False).raise_for_status()
            except httpx.HTTPError as exc:
                print(f"\ncfemu stopped answering ({exc}); see the messages above.")
                return 1
    except KeyboardInterrupt:
        print("\nStopping cfemu…")
        return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the demo (see the module docstring); the exit code."""
    # cfemu runs in a session of its own (a Ctrl-C reaches only this process, which then stops it in
    # order), so closing the terminal or a SIGTERM must stop it the same way.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=8787, help="port for cfemu (default 8787, else a free one)")
    parser.add_argument("--data-dir", type=Path, default=REPO / ".cfemu" / "demo", help="cfemu's state")
    parser.add_argument("--fresh", action="store_true", help="delete the state of earlier runs first")
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir.resolve()
    if args.fresh:
        shutil.rmtree(data_dir, ignore_errors=True)
    password = _password(data_dir)
    port = _port_or_free(args.port)

    print(f"Starting cfemu, the local Cloudflare emulator, on 127.0.0.1:{port} (state in {data_dir})…")
    with (
        tempfile.TemporaryDirectory(prefix="cfemu-demo-") as scratch,
        running_emulator(
            data_dir / "cfemu",
            subdomain=SUBDOMAIN,
            account_id=ACCOUNT_ID,
            api_token=API_TOKEN,
            run_workers=True,
            port=port,
            new_session=True,
        ) as emu,
    ):
        print("Deploying examples/items-app with `python -m deployer deploy examples/items-app`…")
        url = _deploy(emu, EXAMPLE_APP, password)
        group = runtime_group(emu.pid)  # the Node supervisor running the Workers, to check it stops too

        print(f"\nRunning the seed's verification checklist against {url}:")
        results = run_checklist(
            url,
            password,
            api=ApiAccess(emu.api_base_url, emu.account_id, emu.api_token),
            redeploy=lambda: _code_only_redeploy(emu, password, Path(scratch)),
        )
        _deploy(emu, EXAMPLE_APP, password, quiet=True)  # serve the repository's own code again
        print(format_results(results))
        failed = [r for r in results if not r.ok]
        print(f"{len(results) - len(failed)} of {len(results)} checks passed.")

        print(
            f"\n  items-app is running on the local emulator.\n\n"
            f"    URL:       {url}\n"
            f"    Password:  {password}\n\n"
            f"  Open the URL in a browser (any *.localhost name reaches this machine), sign in, add an item.\n"
            f"  The emulated Cloudflare API is at {emu.api_base_url} (token {API_TOKEN}).\n"
            f"  Data stays in {data_dir} between runs (scripts/demo --fresh starts over).\n\n"
            f"  Press Ctrl-C to stop.",
            flush=True,
        )
        code = _serve_until_interrupted(emu)
    left = wait_until_gone(group, 10.0)
    print("cfemu stopped; no Worker is left running." if not left else f"Processes still running: {left}")
    return 1 if code or failed or left else 0


if __name__ == "__main__":
    raise SystemExit(main())
