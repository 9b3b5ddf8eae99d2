"""A cfemu process for one benchmark run: started on a fresh data dir with the network model, read, stopped.

It is started by the emulator's launcher (`cfemu.launcher`) in a process group of its own, so stopping
it also stops anything it started (workerd, when the runtime is on); the bench stops exactly the groups it
created. Its stderr goes to a file in the run's directory, shown when it fails to start.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from cfemu.launcher import running_emulator
from cfemu.network import NETWORK_LOG_PATH, dependent_rounds

__all__ = ["ACCOUNT_ID", "API_TOKEN", "SUBDOMAIN", "Emulator", "RequestStats", "bench_emulator"]

ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
API_TOKEN = "bench-token-not-secret"
SUBDOMAIN = "bench"
ASSET_UPLOAD_MARK = "/workers/assets/upload"


@dataclass(frozen=True, slots=True)
class RequestStats:
    """What one deploy asked of the API, from the emulator's request log and network timings."""

    requests: int
    asset_bytes: int  # request bodies of asset uploads (base64 + multipart framing), as the request log counts them
    request_bytes: int  # every request body
    response_bytes: int
    rounds: int  # dependent rounds (`cfemu.network.dependent_rounds`)
    api_seconds: float  # from the first request's arrival to the last one's answer, on the emulator's clock
    first_started: float  # the first request's arrival (system monotonic clock; 0.0 when there was none)
    last_finished: float  # the last answer's last byte (system monotonic clock)
    calls: tuple[tuple[str, str, float, float], ...]  # (method, path, started, finished), relative to the first


@dataclass(frozen=True, slots=True)
class Emulator:
    """A running cfemu: where it listens and how to read its logs."""

    root_url: str
    data_dir: Path

    @property
    def api_base_url(self) -> str:
        return f"{self.root_url}/client/v4"

    def _get(self, path: str, since: int) -> Any:
        response = httpx.get(f"{self.root_url}{path}", params={"since": since}, timeout=30.0)
        response.raise_for_status()
        return response.json()

    def mark(self) -> tuple[int, int]:
        """Where the request log and the network log end now (pass to `stats_since`)."""
        entries = self._get("/__emulator/requests", 0)
        network = self._get(NETWORK_LOG_PATH, 0)["requests"]
        return max((int(e["seq"]) for e in entries), default=0), len(network)

    def stats_since(self, mark: tuple[int, int]) -> RequestStats:
        """Counts, bytes and rounds of the requests made after `mark`."""
        entries: list[dict[str, Any]] = self._get("/__emulator/requests", mark[0])
        timings: list[dict[str, Any]] = self._get(NETWORK_LOG_PATH, mark[1])["requests"]
        intervals = [(float(t["started"]), float(t["finished"])) for t in timings]
        origin = min((started for started, _ in intervals), default=0.0)
        calls = sorted(
            (str(t["method"]), str(t["path"]), float(t["started"]) - origin, float(t["finished"]) - origin)
            for t in timings
        )
        return RequestStats(
            requests=len(entries),
            asset_bytes=sum(int(e["request_bytes"]) for e in entries if ASSET_UPLOAD_MARK in str(e["path"])),
            request_bytes=sum(int(e["request_bytes"]) for e in entries),
            response_bytes=sum(int(e["response_bytes"]) for e in entries),
            rounds=dependent_rounds(intervals),
            api_seconds=max((finished for _, finished in intervals), default=origin) - origin,
            first_started=origin,
            last_finished=max((finished for _, finished in intervals), default=origin),
            calls=tuple(sorted(calls, key=lambda call: call[2])),
        )

    def create_database(self, name: str) -> str:
        """Create the D1 database `name` through the API; returns its id."""
        response = httpx.post(
            f"{self.api_base_url}/accounts/{ACCOUNT_ID}/d1/database",
            json={"name": name},
            headers={"Authorization": f"Bearer {API_TOKEN}"},
            timeout=30.0,
        )
        response.raise_for_status()
        return str(response.json()["result"]["uuid"])


@contextlib.contextmanager
def bench_emulator(
    run_dir: Path, *, latency_ms: float, bandwidth: str | None = None, run_workers: bool = False
) -> Iterator[Emulator]:
    """Run `python -m cfemu serve` on a fresh data dir under `run_dir` with the given network model.

    Deployed Workers are not run (`--no-runtime`) unless `run_workers`: the bench measures the API, and
    starting workerd on every upload would add the same time to both tools.
    """
    data_dir = run_dir / "cfemu-data"
    data_dir.mkdir(parents=True, exist_ok=False)
    network = ["--latency-ms", str(latency_ms), *(["--bandwidth", bandwidth] if bandwidth is not None else [])]
    stderr_path = run_dir / "cfemu.stderr"
    with stderr_path.open("w") as stderr, contextlib.ExitStack() as stack:
        try:
            emulator = stack.enter_context(
                running_emulator(
                    data_dir,
                    subdomain=SUBDOMAIN,
                    account_id=ACCOUNT_ID,
                    api_token=API_TOKEN,
                    extra_args=network,
                    run_workers=run_workers,
                    new_session=True,
                    stderr=stderr,
                )
            )
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; stderr: {stderr_path.read_text(errors='replace')[-2000:]}") from None
        yield Emulator(root_url=emulator.root_url, data_dir=data_dir)
