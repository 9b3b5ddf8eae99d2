"""The Cloudflare client's retries: how long it waits, how often it tries, and what it says when it gives up."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
import stamina
import stamina.instrumentation
import structlog.testing

from deployer.cloudflare import CloudflareClient
from deployer.errors import CloudflareAPIError, TransportError

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    with stamina.set_testing(True, attempts=5, cap=True):
        yield


def client_for(handler: Handler, base_url: str = "https://api.test/client/v4") -> CloudflareClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return CloudflareClient(base_url=base_url, api_token="tok", account_id="acc", http=http)


def envelope_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}
    return httpx.Response(status, json=body, headers=headers)


async def final_error(handler: Handler) -> CloudflareAPIError:
    with pytest.raises(CloudflareAPIError) as caught:
        await client_for(handler).call("POST", "/d1/database/x/query")
    return caught.value


@pytest.mark.parametrize("status", [500, 503])
async def test_a_5xx_on_every_attempt_is_on_cloudflares_side(status: int) -> None:
    """From 500 up, the message names the status and the hint says the app is not at fault (even for SQL codes)."""
    error = await final_error(lambda request: envelope_error(status, 7500, "upstream unavailable"))
    assert type(error) is CloudflareAPIError
    assert error.message == (
        f"Cloudflare API error on POST /d1/database/x/query: upstream unavailable [code: 7500] "
        f"(HTTP {status} on every attempt)"
    )
    assert error.hint == (
        "This is on Cloudflare's side, not in your app: the call was retried with backoff. Run the deploy again in "
        "a few minutes (www.cloudflarestatus.com shows incidents); what was deployed before still serves."
    )


async def test_a_429_on_every_attempt_says_to_run_again_later() -> None:
    error = await final_error(lambda request: envelope_error(429, 971, "Please slow down", {"retry-after": "3"}))
    assert error.message == "Cloudflare API error on POST /d1/database/x/query: Please slow down [code: 971]"
    assert error.hint == ("Cloudflare kept rate-limiting this account through every retry; run the deploy again later.")


def clock_in(seconds: float) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + seconds))


async def test_a_wait_over_a_minute_says_when_to_run_the_deploy_again() -> None:
    """The hint gives the clock time Cloudflare asked for (Retry-After: 300 is five minutes from now)."""
    earliest = clock_in(300)
    error = await final_error(lambda request: envelope_error(429, 971, "Please wait", {"retry-after": "300"}))
    latest = clock_in(300)
    assert error.message == (
        "Cloudflare API error on POST /d1/database/x/query: Please wait [code: 971]; "
        "Cloudflare asks to wait 300 s before the next request"
    )
    assert error.hint in {
        f"Cloudflare is rate-limiting this account. Run the deploy again after {until}; nothing more was sent. "
        "If it happens often, fewer deploys (or runs) at once help."
        for until in (earliest, latest)
    }


def http_date_in(seconds: float) -> str:
    return email.utils.formatdate(time.time() + seconds, usegmt=True)


@pytest.fixture
def waits() -> Iterator[list[stamina.instrumentation.RetryDetails]]:
    """Real backoff (not the testing mode): each scheduled retry is recorded, then stops the call before it sleeps."""
    seen: list[stamina.instrumentation.RetryDetails] = []

    def record(details: stamina.instrumentation.RetryDetails) -> None:
        seen.append(details)
        raise StopBeforeSleeping

    hooks = stamina.instrumentation.get_on_retry_hooks()
    stamina.instrumentation.set_on_retry_hooks([record])
    try:
        with stamina.set_testing(False):
            yield seen
    finally:
        stamina.instrumentation.set_on_retry_hooks(hooks)


class StopBeforeSleeping(Exception):
    pass


@pytest.mark.parametrize(
    ("retry_after", "low", "high"),
    [
        pytest.param("2", 2.0, 2.0, id="seconds"),
        pytest.param("0.2", 1.0, 1.0, id="at-least-a-second"),
        pytest.param("60", 60.0, 60.0, id="a-minute-is-still-waited"),
        pytest.param(30.0, 28.0, 30.0, id="an-http-date"),
        pytest.param(-30.0, 1.0, 1.0, id="an-http-date-gone-by"),
        pytest.param("soon", 1.0, 1.0, id="neither-is-one-second"),
    ],
)
async def test_a_429_waits_what_retry_after_asks(
    waits: list[stamina.instrumentation.RetryDetails], retry_after: str | float, low: float, high: float
) -> None:
    """Seconds or an HTTP date (given here as seconds from now), at least one second; anything else is one second."""
    header = retry_after if isinstance(retry_after, str) else http_date_in(retry_after)
    answer = envelope_error(429, 971, "slow down", {"retry-after": header})
    with pytest.raises(StopBeforeSleeping):
        await client_for(lambda request: answer).call("GET", "/p")
    assert low <= waits[0].wait_for <= high
    assert str(waits[0].caused_by) == "Cloudflare API error on GET /p: slow down [code: 971]"


async def test_an_http_date_over_a_minute_away_fails_at_once() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return envelope_error(429, 971, "Please wait", {"retry-after": http_date_in(600)})

    error = await final_error(handler)
    assert len(calls) == 1
    assert re.fullmatch(
        r".*: Please wait \[code: 971\]; Cloudflare asks to wait (599|600) s before the next request", error.message
    )


async def test_a_5xx_backs_off_from_half_a_second_with_up_to_a_second_of_jitter(
    waits: list[stamina.instrumentation.RetryDetails],
) -> None:
    client = client_for(lambda request: envelope_error(502, 0, "bad gateway"))
    for _ in range(20):
        with pytest.raises(StopBeforeSleeping):
            await client.call("GET", "/p")
    assert min(wait.wait_for for wait in waits) >= 0.5
    assert max(wait.wait_for for wait in waits) <= 1.5


async def test_a_client_tries_five_times_by_default() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return envelope_error(503, 0, "unavailable")

    with stamina.set_testing(True, attempts=10, cap=True):
        await final_error(handler)
    assert len(calls) == 5


async def test_a_request_that_cannot_be_sent_is_not_retried_and_its_text_is_not_shown() -> None:
    """A protocol error's text can quote the request's headers (the token): only its kind is named."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.LocalProtocolError("Illegal header value b'Bearer tok\\n'")

    with pytest.raises(TransportError) as caught:
        await client_for(handler).call("GET", "/p")
    assert (
        caught.value.message == "Could not reach the Cloudflare API at https://api.test/client/v4 (LocalProtocolError)"
    )
    assert len(calls) == 1


async def test_each_request_is_logged_once_with_its_status_ray_and_duration() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        time.sleep(0.02)
        return httpx.Response(200, json={"success": True, "result": None}, headers={"cf-ray": "8f0a-LHR"})

    with structlog.testing.capture_logs() as logs:
        await client_for(handler).call("GET", "/p")
    [entry] = [line for line in logs if line["event"] == "cloudflare.request"]
    ms = entry.pop("ms")
    assert entry == {
        "event": "cloudflare.request",
        "log_level": "debug",
        "method": "GET",
        "path": "/p",
        "status": 200,
        "ray": "8f0a-LHR",
    }
    assert isinstance(ms, float)
    assert 20 <= ms < 10_000
    assert ms == round(ms, 1)


async def test_only_trailing_slashes_are_dropped_from_the_base_url() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"success": True, "result": None})

    await client_for(handler, base_url="https://gateway.test/CFX//").call("GET", "/p")
    assert str(seen[0].url) == "https://gateway.test/CFX/p"


async def test_the_clients_own_connection_pool_and_timeouts() -> None:
    """60 s for an answer, 15 s to connect, up to 16 connections kept open."""
    async with CloudflareClient(base_url="https://api.test", api_token="tok", account_id="acc") as client:
        assert client._http.timeout == httpx.Timeout(60.0, connect=15.0)
        pool = client._http._transport._pool  # type: ignore[attr-defined]
        assert (pool._max_connections, pool._max_keepalive_connections) == (16, 16)


class Clock:
    """The retry loop's clock, moved on by the server: each answer takes a minute and a quarter of a second."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now


async def test_retries_stop_once_two_minutes_have_gone_by(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second answer comes 120.5 s after the start: past the two-minute budget, so no third attempt."""
    clock = Clock()
    monkeypatch.setattr("tenacity.time", clock)
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        clock.now += 60.25
        return envelope_error(429, 971, "slow down", {"retry-after": "0"})  # waits one real second

    with stamina.set_testing(False):
        await final_error(handler)
    assert len(calls) == 2
