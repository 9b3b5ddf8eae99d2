"""The health check after a deploy."""

from __future__ import annotations

import httpx
import pytest

from deployer.errors import VerifyError
from deployer.github.verify import verify_url


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


async def test_server_errors_are_retried_until_the_app_answers() -> None:
    """503, 503, then 200: the check waits and succeeds."""
    http, seen = answering(503, 503, 200)
    assert await verify_url("https://app.demo.workers.dev", http=http, patience=5) == 200
    assert len(seen) == 3


async def test_an_app_that_keeps_failing_is_an_error() -> None:
    """Only 5xx until the patience runs out: VerifyError with the last status."""
    http, _ = answering(500)
    with pytest.raises(VerifyError, match=r"did not answer within 0 s \(last: HTTP 500\)"):
        await verify_url("https://app.demo.workers.dev", http=http, patience=0.3)


async def test_localhost_names_go_to_loopback_with_their_host_header() -> None:
    """`*.localhost` is requested from 127.0.0.1 with the original Host, as RFC 6761 allows."""
    http, seen = answering(200)
    await verify_url("http://app.demo.workers.dev.localhost:8787/", http=http)
    assert seen[0].url.host == "127.0.0.1"
    assert seen[0].headers["host"] == "app.demo.workers.dev.localhost:8787"
