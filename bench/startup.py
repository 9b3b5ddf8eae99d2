"""Start-up of the action: from process (or container) start to its first API request.

    .venv/bin/python -m bench.startup [--runs 15] [--container IMAGE] [--markdown]

A stub HTTP server on 127.0.0.1 stands in for both APIs (Cloudflare and GitHub) and notes the wall-clock time
of the first request it receives; it answers every request with a Cloudflare authentication error, so the
action stops right after. Measured:

- **python**: `python entrypoint.py` started on this machine with a runner's environment (a push event, a
  deploy of examples/items-app); start = just before the process is spawned. This is the Python part the
  0.3 s budget is about: interpreter start, imports, settings, event, the first request.
- **python in the container** (`--container IMAGE`): the image's entrypoint, exec'd in the container right
  after a first Python prints the clock (the same kernel clock as the stub's), so container creation is
  excluded and the entrypoint's whole interpreter start is included.
- **container**: from `docker run` to the first request, container creation included (depends on the engine
  and storage driver more than on this code).

Also printed: the slowest imports of `deployer.action` (`python -X importtime`), the usual suspect.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from devkit.example import EXAMPLE_APP, REPO

BUDGET_S = 0.3
# Print the clock, then replace this process by the image's entrypoint (a shell would drop the INPUT_* variables
# whose names hold hyphens; exec keeps the environment as it is).
_CLOCK_THEN_EXEC = (
    "import os, time; print(time.time_ns(), flush=True); "
    "os.execv('/usr/local/bin/python', ['/usr/local/bin/python', '/app/entrypoint.py'])"
)
_AUTH_ERROR = (
    b'{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}'
)


@dataclass
class Stub:
    """The stub server: its URL and the first-request times seen so far."""

    url: str
    first_request: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.first_request = None

    def wait(self, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.first_request is not None:
                    return self.first_request
            time.sleep(0.002)
        return None


@contextmanager
def stub_server() -> Iterator[Stub]:
    """Serve the stub on a free 127.0.0.1 port for the duration of the block."""
    stub = Stub(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            arrived = time.time()
            with stub.lock:
                if stub.first_request is None:
                    stub.first_request = arrived
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(_AUTH_ERROR)))
            self.end_headers()
            self.wfile.write(_AUTH_ERROR)

        do_GET = do_POST = do_PUT = do_PATCH = _answer

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: Any, client_address: Any) -> None:
            """A client that hangs up early (the action exiting) is not news."""

    server = QuietServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


def runner_environment(stub: Stub, workspace: str) -> dict[str, str]:
    """A push event's variables and the action's inputs; both APIs point at the stub."""
    inputs = {
        "api-token": "bench-token-not-a-secret",
        "account-id": "0123456789abcdef0123456789abcdef",
        "app-dir": "app",
        "command": "deploy",
        "github-token": "",
        "app-password": "bench password",
        "api-base-url": f"{stub.url}/client/v4",
        "verify": "false",
    }
    return {
        "PATH": os.environ.get("PATH", ""),
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_EVENT_PATH": str(REPO / "tests" / "fixtures" / "events" / "push.main.json"),
        "GITHUB_REPOSITORY": "octo-org/hello-apps",
        "GITHUB_SHA": "6dcb09b5b57875f334f61aebed695e2e4193db5e",
        "GITHUB_API_URL": stub.url,
        "GITHUB_WORKSPACE": workspace,
        **{"INPUT_" + name.upper(): value for name, value in inputs.items()},
    }


def measure_python(stub: Stub, workspace: Path, runs: int) -> list[float]:
    """Seconds from spawning `python entrypoint.py` here to the stub's first request."""
    environ = runner_environment(stub, str(workspace))
    times: list[float] = []
    for _ in range(runs):
        stub.reset()
        started = time.time()
        process = subprocess.Popen(
            [sys.executable, str(REPO / "entrypoint.py")],
            cwd=workspace,
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        first = stub.wait(timeout=30)
        process.wait(timeout=60)
        if first is None:
            raise RuntimeError("the action made no request within 30 s")
        times.append(first - started)
    return times


def measure_container(stub: Stub, workspace: Path, image: str, runs: int) -> tuple[list[float], list[float]]:
    """(Python part inside the container, whole `docker run`) to the first request, in seconds."""
    environ = runner_environment(stub, "/github/workspace")
    environ["GITHUB_EVENT_PATH"] = "/github/workflow/event.json"
    workflow = workspace.parent / "workflow"
    workflow.mkdir(exist_ok=True)
    shutil.copyfile(REPO / "tests" / "fixtures" / "events" / "push.main.json", workflow / "event.json")
    args = ["docker", "run", "--rm", "--network", "host", "--workdir", "/github/workspace"]
    args += ["--volume", f"{workspace}:/github/workspace", "--volume", f"{workflow}:/github/workflow"]
    for name in environ:
        if name != "PATH":
            args += ["--env", name]
    inside: list[float] = []
    whole: list[float] = []
    docker_env = {**os.environ, **{k: v for k, v in environ.items() if k != "PATH"}}
    for _ in range(runs):
        stub.reset()
        started = time.time()
        command = [*args, "--entrypoint", "/usr/local/bin/python", image, "-c", _CLOCK_THEN_EXEC]
        completed = subprocess.run(command, env=docker_env, capture_output=True, text=True, timeout=120, check=False)
        first = stub.wait(timeout=1)
        if first is None:
            raise RuntimeError(f"the container made no request: {completed.stdout[-2000:]} {completed.stderr[-2000:]}")
        python_started = int(completed.stdout.splitlines()[0]) / 1e9
        inside.append(first - python_started)
        whole.append(first - started)
    return inside, whole


def slowest_imports(count: int = 8) -> list[tuple[str, float]]:
    """The `count` largest cumulative import times under `import deployer.action`, in seconds."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import deployer.action"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows: list[tuple[str, float]] = []
    for line in completed.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((parts[2].rstrip(), int(parts[1]) / 1e6))
    return sorted(rows, key=lambda row: row[1], reverse=True)[:count]


def describe(name: str, times: Sequence[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    verdict = (
        ""
        if name == "container"
        else (" (within budget)" if statistics.median(times) <= BUDGET_S else " (OVER BUDGET)")
    )
    return f"| {name} | {len(times)} | {statistics.median(times):.3f} | {ordered[0]:.3f} | {p90:.3f} |{verdict}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--container", metavar="IMAGE", help="also measure this image (needs a Docker engine)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch, stub_server() as stub:
        workspace = Path(scratch) / "workspace"
        shutil.copytree(EXAMPLE_APP, workspace / "app", ignore=shutil.ignore_patterns("wrangler.toml"))
        print(f"Start-up to first API request, seconds (budget for the Python part: {BUDGET_S} s)\n")
        print("| measured | runs | median | min | p90 |")
        print("|---|---|---|---|---|")
        print(describe("python (host)", measure_python(stub, workspace, args.runs)))
        if args.container:
            inside, whole = measure_container(stub, workspace, args.container, args.runs)
            print(describe("python in the container", inside))
            print(describe("container", whole))
    print("\nSlowest imports of deployer.action (cumulative, host):\n")
    for module, seconds in slowest_imports():
        print(f"- {module.strip()}: {seconds * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
