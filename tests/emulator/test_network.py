"""The network model (`cfemu.network`): parsing, the shaping arithmetic with a fake clock, and a real server.

The middleware tests inject a clock and a `sleep` that only records what it was asked to wait, so they check
the model exactly and wait for nothing. One test starts a real emulator with a small latency; it checks that
the injected delay is there (a lower bound, which the sleep guarantees), never how fast anything is.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from cfemu.launcher import running_emulator
from cfemu.network import (
    NETWORK_LOG_PATH,
    NetworkModel,
    NetworkShaper,
    add_network_arguments,
    dependent_rounds,
    network_from_args,
    parse_bandwidth,
)

API_PATH = "/client/v4/accounts/abc/workers/subdomain"


class FakeTime:
    """A clock that moves only when told to, and a `sleep` that records its argument and returns at once."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 9))
        await asyncio.sleep(0)


def http_scope(path: str, method: str = "POST") -> Scope:
    return {"type": "http", "method": method, "path": path, "query_string": b"", "headers": []}


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the whole body, answers 200 with 1,000 bytes in two chunks."""
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body", False))
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"x" * 600, "more_body": True})
    await send({"type": "http.response.body", "body": b"y" * 400})


async def call(app: Any, scope: Scope, body_chunks: list[bytes]) -> list[Message]:
    """Run one request through `app`; returns the messages it sent."""
    incoming: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": index < len(body_chunks) - 1}
        for index, chunk in enumerate(body_chunks)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10MB", 10_000_000),
        ("10m", 10_000_000),
        ("10 MB/s", 10_000_000),
        ("500K", 500_000),
        ("1.5G", 1_500_000_000),
        ("1000000", 1_000_000),
        (".5kb", 500),
    ],
)
def test_bandwidth_takes_decimal_suffixes(text: str, expected: float) -> None:
    assert parse_bandwidth(text) == expected


@pytest.mark.parametrize("text", ["", "fast", "10MiB", "-1M", "0", "10 T", "1e6"])
def test_bandwidth_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError, match="bandwidth"):
        parse_bandwidth(text)


def test_flags_build_the_model() -> None:
    parser = argparse.ArgumentParser()
    add_network_arguments(parser)
    assert network_from_args(parser.parse_args([])) == NetworkModel(0.0, None)
    args = parser.parse_args(["--latency-ms", "50", "--bandwidth", "10MB"])
    assert network_from_args(args) == NetworkModel(latency_ms=50.0, bandwidth=10_000_000.0)


@pytest.mark.parametrize("argv", [["--latency-ms", "-5"], ["--latency-ms", "soon"], ["--bandwidth", "lots"]])
def test_flags_refuse_bad_values(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    add_network_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(argv)


def test_model_refuses_negative_or_infinite_values() -> None:
    with pytest.raises(ValueError, match="latency"):
        NetworkModel(latency_ms=-1)
    with pytest.raises(ValueError, match="bandwidth"):
        NetworkModel(bandwidth=0)
    with pytest.raises(ValueError, match="latency"):
        NetworkModel(latency_ms=float("inf"))


def test_rounds_group_overlapping_requests() -> None:
    assert dependent_rounds([]) == 0
    # two concurrent reads, then one write that needed them, then three overlapping uploads, then the last call
    intervals = [(0.0, 1.0), (0.1, 0.9), (1.2, 2.0), (2.1, 3.0), (2.2, 3.5), (3.4, 4.0), (4.1, 5.0)]
    assert dependent_rounds(intervals) == 4
    assert dependent_rounds(reversed(intervals)) == 4  # order of the log does not matter
    assert dependent_rounds([(0.0, 1.0), (1.0, 2.0)]) == 2  # starting as the other finishes is waiting for it


async def test_latency_is_half_on_the_way_in_and_half_on_the_way_out() -> None:
    fake = FakeTime()
    shaper = NetworkShaper(echo_app, NetworkModel(latency_ms=50), clock=fake.clock, sleep=fake.sleep)
    sent = await call(shaper, http_scope(API_PATH), [b"{}"])
    assert fake.sleeps == [0.025, 0.025]
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body", "http.response.body"]
    assert shaper.log.entries == [{"n": 1, "method": "POST", "path": API_PATH, "started": 100.0, "finished": 100.0}]


async def test_bandwidth_charges_each_body_chunk_in_both_directions() -> None:
    fake = FakeTime()
    model = NetworkModel(latency_ms=0, bandwidth=1000)  # 1,000 bytes/s: a byte costs 1 ms
    shaper = NetworkShaper(echo_app, model, clock=fake.clock, sleep=fake.sleep)
    await call(shaper, http_scope(API_PATH), [b"a" * 200, b"b" * 300])
    # upstream: 200 then 300 bytes queue on the link; downstream: 600 then 400 bytes
    assert fake.sleeps == [0.2, 0.5, 0.6, 1.0]


async def test_latency_and_bandwidth_add_up() -> None:
    fake = FakeTime()
    shaper = NetworkShaper(echo_app, NetworkModel(latency_ms=10, bandwidth=10_000), clock=fake.clock, sleep=fake.sleep)
    await call(shaper, http_scope(API_PATH), [b"z" * 100])
    assert fake.sleeps == [0.005, 0.01, 0.005, 0.06, 0.1]


async def test_concurrent_requests_share_the_link() -> None:
    """Two requests sending at the same moment: the second waits for the first's bytes (one link, not two)."""
    fake = FakeTime()
    shaper = NetworkShaper(echo_app, NetworkModel(bandwidth=1000), clock=fake.clock, sleep=fake.sleep)
    await asyncio.gather(
        call(shaper, http_scope(API_PATH), [b"a" * 100]), call(shaper, http_scope(API_PATH), [b"b" * 100])
    )
    assert sorted(fake.sleeps)[:2] == [0.1, 0.2]
    assert len(shaper.log.entries) == 2


async def test_time_passes_only_once_the_link_is_free_again() -> None:
    fake = FakeTime()
    shaper = NetworkShaper(echo_app, NetworkModel(bandwidth=1000), clock=fake.clock, sleep=fake.sleep)
    await call(shaper, http_scope(API_PATH), [b"a" * 100])
    fake.sleeps.clear()
    fake.now += 10  # long after the first request's bytes crossed
    await call(shaper, http_scope(API_PATH), [b"a" * 100])
    assert fake.sleeps[0] == 0.1


@pytest.mark.parametrize("path", ["/__emulator/requests", "/__emulator/health", "/", "/client/v40/x"])
async def test_other_paths_are_neither_shaped_nor_logged(path: str) -> None:
    fake = FakeTime()
    shaper = NetworkShaper(echo_app, NetworkModel(latency_ms=50, bandwidth=10), clock=fake.clock, sleep=fake.sleep)
    sent = await call(shaper, http_scope(path, "GET"), [b""])
    assert sent[0]["status"] == 200
    assert fake.sleeps == []
    assert shaper.log.entries == []


async def test_lifespan_passes_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    fake = FakeTime()
    shaper = NetworkShaper(app, NetworkModel(latency_ms=50), clock=fake.clock, sleep=fake.sleep)
    await call(shaper, {"type": "lifespan"}, [])
    assert seen == ["lifespan"]
    assert fake.sleeps == []


async def test_the_log_is_served_with_the_model() -> None:
    fake = FakeTime()
    shaper = NetworkShaper(echo_app, NetworkModel(latency_ms=20), clock=fake.clock, sleep=fake.sleep)
    await call(shaper, http_scope(API_PATH), [b""])
    await call(shaper, http_scope(API_PATH + "/2"), [b""])
    transport = httpx.ASGITransport(app=shaper)
    async with httpx.AsyncClient(transport=transport, base_url="http://cfemu") as client:
        everything = (await client.get(NETWORK_LOG_PATH)).json()
        later = (await client.get(NETWORK_LOG_PATH, params={"since": 1})).json()
    assert everything["latency_ms"] == 20
    assert everything["bandwidth"] is None
    assert [entry["n"] for entry in everything["requests"]] == [1, 2]
    assert [entry["path"] for entry in later["requests"]] == [API_PATH + "/2"]


def test_a_real_server_delays_api_requests_and_logs_their_times(tmp_path: Path) -> None:
    """`serve --latency-ms 30`: an API answer takes at least the latency; the timings are served."""
    latency_ms = 30.0
    with running_emulator(tmp_path / "cf", extra_args=["--latency-ms", str(latency_ms), "--bandwidth", "100MB"]) as emu:
        headers = {"Authorization": f"Bearer {emu.api_token}"}
        with httpx.Client(base_url=emu.api_base_url, headers=headers, timeout=30) as client:
            before = time.monotonic()
            response = client.get(f"/accounts/{emu.account_id}/workers/subdomain")
            elapsed = time.monotonic() - before
        assert response.json()["result"] == {"subdomain": "demo"}
        assert elapsed >= latency_ms / 1000  # a lower bound the injected sleep guarantees
        network = httpx.get(f"{emu.root_url}{NETWORK_LOG_PATH}", timeout=10).json()
        assert network["latency_ms"] == latency_ms
        assert network["bandwidth"] == 100_000_000
        (entry,) = network["requests"]
        assert entry["path"].endswith("/workers/subdomain")
        assert entry["finished"] - entry["started"] >= latency_ms / 1000
        assert [e["path"] for e in emu.requests()] == [entry["path"]]  # the request log still counts it
