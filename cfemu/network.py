"""The network model: injected latency and bandwidth on API traffic, and a log of when each request ran.

cfemu answers over loopback in about a millisecond, so a client that makes ten requests one after another and a
client that makes them all at once look equally fast against it. Against Cloudflare they are not: every request
pays a round trip. `NetworkShaper` gives API traffic that shape, set at start with
`python -m cfemu serve --latency-ms 50 --bandwidth 10MB`.

The model, per API request (a path under `/client/v4`; `/__emulator/*` and workers.dev traffic are never shaped):

- **Latency is a round trip per request** (RTT), split in two legs: half of it passes before the request reaches
  the emulator's handlers, the other half before the response's first byte leaves. A response therefore arrives
  at least `latency` after the request was sent, plus whatever the handler took (server time adds to the
  network's, as it does against the real API). Connection set-up (TCP and TLS handshakes, 1–2 more round trips
  per new connection) is not modelled: it would charge each client by how many connections it opens, which
  this model leaves out on purpose.
- **Bandwidth is one shared link per direction** (bytes per second, `None` = unlimited): every request-body
  chunk takes `len(chunk) / bandwidth` seconds of the upstream link and every response-body chunk the same of
  the downstream link. Chunks are given link time in the order they arrive, so concurrent transfers share the
  link instead of each getting the full rate (opening more connections does not buy more bandwidth).

Every API request also gets an entry `{n, method, path, started, finished}` (seconds on the emulator's monotonic
clock, from its arrival to its last response byte), served at `GET /__emulator/network[?since=N]` together with
the model. Benchmarks use it to count **dependent rounds**: `dependent_rounds()` groups requests that overlap in
time; a client that waits for one answer before sending the next request opens a new round each time.

Clock and sleep are injectable, so the arithmetic is tested without waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cfemu.requestlog import API_PREFIX

__all__ = [
    "NETWORK_LOG_PATH",
    "NetworkLog",
    "NetworkModel",
    "NetworkShaper",
    "add_network_arguments",
    "dependent_rounds",
    "network_from_args",
    "parse_bandwidth",
]

NETWORK_LOG_PATH = "/__emulator/network"

_BANDWIDTH_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([kmg]?)(?:b)?(?:/s)?\s*$", re.IGNORECASE)
_MULTIPLIERS = {"": 1, "k": 1_000, "m": 1_000_000, "g": 1_000_000_000}

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def parse_bandwidth(text: str) -> float:
    """Bytes per second from `text`: a number with an optional decimal suffix K, M or G (10³, 10⁶, 10⁹).

    A trailing `B` and `/s` are allowed and the case does not matter, so `10MB`, `10m`, `10 MB/s` and `10000000`
    are the same rate. The value is always bytes, never bits. Raises `ValueError` for anything else or for zero.
    """
    match = _BANDWIDTH_RE.match(text)
    if match is None:
        msg = f"bandwidth {text!r} is not a number of bytes per second such as 500K, 10MB or 1.5G"
        raise ValueError(msg)
    value = float(match.group(1)) * _MULTIPLIERS[match.group(2).lower()]
    if value <= 0:
        msg = f"bandwidth {text!r} must be more than zero"
        raise ValueError(msg)
    return value


@dataclass(frozen=True, slots=True)
class NetworkModel:
    """The shape of the emulated network: a round-trip latency per request and an optional shared bandwidth."""

    latency_ms: float = 0.0
    bandwidth: float | None = None  # bytes per second in each direction; None: unlimited

    def __post_init__(self) -> None:
        if not math.isfinite(self.latency_ms) or self.latency_ms < 0:
            msg = f"latency_ms must be a finite number ≥ 0, got {self.latency_ms}"
            raise ValueError(msg)
        if self.bandwidth is not None and not (math.isfinite(self.bandwidth) and self.bandwidth > 0):
            msg = f"bandwidth must be a finite number > 0 or None, got {self.bandwidth}"
            raise ValueError(msg)

    @property
    def leg_seconds(self) -> float:
        """One leg of the round trip: half the latency, in seconds."""
        return self.latency_ms / 2000.0

    def transfer_seconds(self, size: int) -> float:
        """How long `size` bytes occupy a link (0 when the bandwidth is unlimited)."""
        return 0.0 if self.bandwidth is None else size / self.bandwidth

    def describe(self) -> dict[str, Any]:
        """The model as JSON (for `GET /__emulator/network`)."""
        return {"latency_ms": self.latency_ms, "bandwidth": self.bandwidth}


@dataclass(slots=True)
class NetworkLog:
    """When each API request arrived and when its last response byte left (emulator clock, seconds)."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, *, method: str, path: str, started: float, finished: float) -> None:
        """Record one finished request; `n` counts from 1 in the order requests finish."""
        self.entries.append(
            {"n": len(self.entries) + 1, "method": method, "path": path, "started": started, "finished": finished}
        )

    def since(self, n: int) -> list[dict[str, Any]]:
        """Entries numbered above `n`."""
        return self.entries[max(n, 0) :]


def dependent_rounds(intervals: Iterable[tuple[float, float]]) -> int:
    """The number of dependent rounds in `(started, finished)` intervals.

    A round is a maximal group of requests that overlap in time (in start order, a request joins the current
    round when it starts before every request so far in that round has finished). A request that starts only
    once the others have finished, as one that needs their answers must, begins a new round. With a round-trip
    latency L, a client needs at least `rounds × L`, however fast everything else is.
    """
    rounds = 0
    round_end = -math.inf
    for started, finished in sorted(intervals):
        if started >= round_end:
            rounds += 1
            round_end = finished
        else:
            round_end = max(round_end, finished)
    return rounds


class _Link:
    """One direction of the shared link: gives each chunk its slot of link time, first come first served."""

    def __init__(self, model: NetworkModel, clock: Clock, sleep: Sleep) -> None:
        self.model = model
        self.clock = clock
        self.sleep = sleep
        self.free_at = -math.inf

    async def carry(self, size: int) -> None:
        """Wait until `size` bytes have crossed the link after everything queued before them."""
        if self.model.bandwidth is None or size <= 0:
            return
        now = self.clock()
        done = max(now, self.free_at) + self.model.transfer_seconds(size)
        self.free_at = done
        await self.sleep(done - now)


class NetworkShaper:
    """ASGI middleware applying a `NetworkModel` to `/client/v4` requests and serving `/__emulator/network`.

    Install it inside the workers.dev router (so Worker traffic never reaches it) and outside the request log.
    Requests to other paths, and non-HTTP scopes (lifespan), pass through untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        model: NetworkModel | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        log: NetworkLog | None = None,
    ) -> None:
        self.app = app
        self.model = model or NetworkModel()
        self.clock = clock
        self.sleep = sleep
        self.log = log if log is not None else NetworkLog()
        self._up = _Link(self.model, clock, sleep)
        self._down = _Link(self.model, clock, sleep)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif path == NETWORK_LOG_PATH:
            await self._serve_log(scope, send)
        elif path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            await self._shaped(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            await self.sleep(seconds)

    async def _shaped(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = self.clock()
        leg = self.model.leg_seconds
        answered = False

        async def shaped_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                await self._up.carry(len(message.get("body", b"")))
            return message

        async def shaped_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                await self._pause(leg)  # the way back
            elif message["type"] == "http.response.body":
                await self._down.carry(len(message.get("body", b"")))
            await send(message)

        try:
            await self._pause(leg)  # the way in
            await self.app(scope, shaped_receive, shaped_send)
        finally:
            self.log.add(method=scope.get("method", ""), path=scope["path"], started=started, finished=self.clock())

    async def _serve_log(self, scope: Scope, send: Send) -> None:
        """`GET /__emulator/network[?since=N]`: the model and the entries numbered above N (not shaped)."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        try:
            since = int(query.get("since", ["0"])[0])
        except ValueError:
            since = 0
        body = json.dumps({**self.model.describe(), "requests": self.log.since(since)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _latency(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"latency {text!r} is not a number of milliseconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"latency {text!r} must be a number of milliseconds ≥ 0")
    return value


def _bandwidth(text: str) -> float:
    try:
        return parse_bandwidth(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `--latency-ms` and `--bandwidth` to the `serve` command's parser."""
    parser.add_argument(
        "--latency-ms",
        type=_latency,
        default=0.0,
        metavar="MS",
        help="round-trip latency added to every /client/v4 request (default 0)",
    )
    parser.add_argument(
        "--bandwidth",
        type=_bandwidth,
        default=None,
        metavar="RATE",
        help="bytes per second each way, shared by all API requests, e.g. 500K, 10MB, 1G (decimal; default unlimited)",
    )


def network_from_args(args: argparse.Namespace) -> NetworkModel:
    """The `NetworkModel` the parsed `--latency-ms` / `--bandwidth` flags ask for."""
    return NetworkModel(latency_ms=float(args.latency_ms), bandwidth=args.bandwidth)
