"""Checking the live app after a deploy (answers served by an injected transport; tests/e2e runs them for real)."""

from __future__ import annotations

import httpx
import pytest

from deployer.commands._verify import GATED_CHECKS, SERVER_ERROR_TRIES, verify_app, verify_url
from deployer.errors import VerifyError


def answering(*statuses: int) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(queue.pop(0) if len(queue) > 1 else queue[0])

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), seen


async def test_a_redirect_to_the_login_counts_as_up() -> None:
    """A password-gated app answering 302 is up; no redirect is followed."""
    http, seen = answering(302)
    assert await verify_url("https://app.demo.workers.dev", http=http) == 302
    assert len(seen) == 1


async def test_a_server_error_that_passes_is_tried_again() -> None:
    """503, then 200: a second try succeeds."""
    http, seen = answering(503, 200)
    assert await verify_url("https://app.demo.workers.dev", http=http, patience=5) == 200
    assert len(seen) == 2


async def test_an_app_that_keeps_failing_fails_fast_with_its_status_and_body() -> None:
    """A steady 500 is not waited on for a minute: three tries, then the status and the start of the body."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500, text="Error 1101: Worker threw exception")

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    with pytest.raises(VerifyError, match=r"answers HTTP 500 \(3 tries\): Error 1101: Worker threw exception"):
        await verify_url("https://app.demo.workers.dev", http=http, patience=60)
    assert len(seen) == SERVER_ERROR_TRIES


async def test_a_url_that_does_not_connect_yet_is_waited_for() -> None:
    """First-deploy DNS: connection errors are retried until the patience runs out, then named."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) < 3:
            raise httpx.ConnectError("Name or service not known")
        return httpx.Response(200)

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Name or service not known")

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    assert await verify_url("https://app.demo.workers.dev", http=http, patience=10) == 200
    assert len(seen) == 3
    never = httpx.AsyncClient(transport=httpx.MockTransport(unreachable))
    with pytest.raises(VerifyError, match=r"did not answer within 0 s .*does not resolve"):
        await verify_url("https://app.demo.workers.dev", http=never, patience=0.3)


def gated_app(*, login_status: int = 200, api_type: str = "application/json") -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/":
            return httpx.Response(302, headers={"location": "/login.html"})
        if request.url.path == "/login.html":
            return httpx.Response(login_status, text="<form>")
        return httpx.Response(401, headers={"content-type": api_type}, text='{"error":"unauthorized"}')

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_a_password_gated_app_passes_the_seeds_logged_out_checks() -> None:
    results = await verify_app("https://app.demo.workers.dev", gated=True, http=gated_app())
    assert [r.name for r in results] == [check.name for check in GATED_CHECKS]
    assert all(r.ok for r in results)


async def test_a_gate_that_misbehaves_fails_naming_each_check() -> None:
    """/login.html behind the gate (the seed's classic mistake) and an HTML 401: both named, with what was seen."""
    with pytest.raises(VerifyError) as caught:
        await verify_app(
            "https://app.demo.workers.dev", gated=True, http=gated_app(login_status=302, api_type="text/html")
        )
    message = caught.value.message
    assert "2 of 3 checks of the live app failed" in message
    assert "FAIL /login.html answers without a session: HTTP 302" in message
    assert "FAIL /api/items without a session is 401 JSON: HTTP 401" in message


async def test_localhost_names_go_to_loopback_with_their_host_header() -> None:
    """`*.localhost` is requested from 127.0.0.1 with the original Host, as RFC 6761 allows."""
    http, seen = answering(200)
    await verify_url("http://app.demo.workers.dev.localhost:8787/", http=http)
    assert seen[0].url.host == "127.0.0.1"
    assert seen[0].headers["host"] == "app.demo.workers.dev.localhost:8787"
