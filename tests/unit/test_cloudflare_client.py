"""The Cloudflare client: envelope, error mapping and retries (HTTP served by an injected transport)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import stamina

from deployer.cloudflare import CloudflareClient
from deployer.cloudflare.client import _backoff, _Retryable
from deployer.errors import (
    ApiValidationError,
    AuthenticationError,
    CloudflareAPIError,
    CloudflareError,
    DatabaseLimitError,
    NoWorkersSubdomainError,
    SqlError,
    TransportError,
    UploadTokenError,
)

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    """Retries happen at full count but without sleeping."""
    with stamina.set_testing(True, attempts=5, cap=True):
        yield


def client_for(handler: Handler) -> CloudflareClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return CloudflareClient(base_url="https://api.test/client/v4", api_token="tok", account_id="acc", http=http)


def envelope_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}
    return httpx.Response(status, json=body, headers=headers)


def ok(result: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"success": True, "errors": [], "messages": [], "result": result})


async def test_success_returns_result_whatever_the_status() -> None:
    """`success: true` yields `result`, even on a 201 or 202."""
    response = await client_for(lambda request: ok({"jwt": "x"}, status=202)).call("POST", "/p")
    assert response.result == {"jwt": "x"}
    assert response.status == 202


async def test_the_token_is_sent_as_bearer_and_never_in_the_url() -> None:
    """Every call carries `Authorization: Bearer <token>`."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(None)

    await client_for(handler).call("GET", "/accounts/acc/workers/subdomain")
    assert seen[0].headers["authorization"] == "Bearer tok"
    assert "tok" not in str(seen[0].url)


@pytest.mark.parametrize(
    ("code", "status"),
    [pytest.param(10000, 403, id="10000"), pytest.param(9106, 400, id="9106"), pytest.param(9109, 403, id="9109")],
)
async def test_auth_codes_become_a_token_message(code: int, status: int) -> None:
    """Authentication codes say to check the token, its account and its scopes."""
    client = client_for(lambda request: envelope_error(status, code, "Authentication error"))
    with pytest.raises(AuthenticationError) as caught:
        await client.call("GET", "/accounts/acc/d1/database")
    assert "CLOUDFLARE_API_TOKEN" in str(caught.value)
    assert "D1 · Edit" in str(caught.value)
    assert caught.value.codes == (code,)


async def test_10007_on_the_account_subdomain_says_to_claim_it_with_the_exact_call() -> None:
    """No workers.dev subdomain: the message gives the PUT to run once."""
    client = client_for(lambda request: envelope_error(404, 10007, "workers.api.error.subdomain_not_found"))
    with pytest.raises(NoWorkersSubdomainError) as caught:
        await client.call("GET", "/accounts/acc/workers/subdomain")
    text = str(caught.value)
    assert "Claim your workers.dev subdomain first" in text
    assert "curl -X PUT 'https://api.test/client/v4/accounts/acc/workers/subdomain'" in text


async def test_10007_elsewhere_is_a_plain_not_found() -> None:
    """10007 on a script path is "not found", not the subdomain advice."""
    client = client_for(lambda request: envelope_error(404, 10007, "workers.api.error.script_not_found"))
    with pytest.raises(CloudflareAPIError) as caught:
        await client.call("GET", "/accounts/acc/workers/scripts/x/secrets")
    assert not isinstance(caught.value, NoWorkersSubdomainError)


async def test_10021_carries_the_api_validation_text() -> None:
    """A refused upload shows Cloudflare's own text."""
    text = "binding DB of type d1 must have a valid `id` specified"
    client = client_for(lambda request: envelope_error(400, 10021, text))
    with pytest.raises(ApiValidationError, match="must have a valid `id` specified"):
        await client.call("PUT", "/accounts/acc/workers/scripts/x")


async def test_7500_is_an_sql_error() -> None:
    """D1's SQL failures are typed as SqlError."""
    client = client_for(lambda request: envelope_error(400, 7500, 'near "TABL": syntax error: SQLITE_ERROR'))
    with pytest.raises(SqlError, match="syntax error"):
        await client.call("POST", "/accounts/acc/d1/database/u/query", json_body={"sql": "x"})


async def test_a_non_json_error_body_is_reported_with_its_status() -> None:
    """An HTML error page becomes a message with the status and an excerpt."""
    client = client_for(lambda request: httpx.Response(404, text="<html>nope</html>"))
    with pytest.raises(CloudflareAPIError, match="HTTP 404: <html>nope</html>"):
        await client.call("GET", "/x")


async def test_429_and_5xx_are_retried_until_success() -> None:
    """Transient answers are retried; the caller only sees the final success."""
    answers = iter(
        [envelope_error(429, 971, "rate limited", {"retry-after": "2"}), envelope_error(502, 0, "bad gateway"), ok(7)]
    )
    response = await client_for(lambda request: next(answers)).call("GET", "/p")
    assert response.result == 7


async def test_retry_after_becomes_the_wait_before_the_next_attempt() -> None:
    """A 429 with `Retry-After: 2` asks the retry loop to wait 2 s (seconds or an HTTP date); without it, 1 s."""
    client = client_for(lambda request: envelope_error(429, 971, "rate limited", {"retry-after": "2"}))
    with pytest.raises(_Retryable) as caught:
        await client._send_once("GET", "/p", json_body=None, content=None, content_type=None, params=None, bearer=None)
    assert caught.value.wait == 2.0
    assert _backoff(caught.value) == 2.0
    bare = client_for(lambda request: envelope_error(429, 971, "rate limited"))
    with pytest.raises(_Retryable) as caught:
        await bare._send_once("GET", "/p", json_body=None, content=None, content_type=None, params=None, bearer=None)
    assert caught.value.wait == 1.0


async def test_a_full_account_is_a_database_limit_error_with_the_way_out() -> None:
    """7406 on creating a D1 database: its own class (a preview adds its previews to it), the limit, the fix."""
    client = client_for(_always(envelope_error(400, 7406, "You have reached the maximum number of D1 databases")))
    with pytest.raises(DatabaseLimitError) as caught:
        await client.call("POST", "/accounts/a/d1/database", json_body={"name": "x"})
    assert caught.value.message == (
        "Cloudflare refused to create a D1 database: the account has as many as its plan allows (You have reached "
        "the maximum number of D1 databases [code: 7406])"
    )
    assert caught.value.hint == (
        "Delete D1 databases the account no longer needs (wrangler d1 list / wrangler d1 delete NAME), or move to "
        "a plan with more: Free allows 10."
    )
    assert (caught.value.status, caught.value.codes, caught.value.path) == (400, (7406,), "/accounts/a/d1/database")


async def test_an_http_200_that_says_success_false_is_an_error() -> None:
    """The envelope decides, not the status: `success: false` with HTTP 200 raises, with Cloudflare's message."""
    body = {"success": False, "errors": [{"code": 10021, "message": "refused"}], "messages": [], "result": None}
    with pytest.raises(ApiValidationError, match=r"refused \[code: 10021\]"):
        await client_for(lambda request: httpx.Response(200, json=body)).call("PUT", "/p")


async def test_network_errors_are_retried_then_reported_as_transport_errors() -> None:
    """A connection that keeps failing ends as TransportError naming the base URL."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TransportError, match=r"https://api\.test/client/v4"):
        await client_for(handler).call("GET", "/p")
    assert calls == 5


async def test_client_errors_are_not_retried() -> None:
    """A 400 is final: it is raised after one attempt."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return envelope_error(400, 10021, "bad")

    with pytest.raises(ApiValidationError):
        await client_for(handler).call("PUT", "/p")
    assert calls == 1


async def test_retry_after_over_a_minute_fails_at_once() -> None:
    """When Cloudflare asks for a long wait, the deploy fails now instead of hanging the job."""
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return envelope_error(429, 971, "Please wait", {"retry-after": "300"})

    with pytest.raises(CloudflareAPIError, match="Please wait") as caught:
        await client_for(handler).call("GET", "/p")
    assert calls == 1
    assert "asks to wait 300 s" in caught.value.message
    assert "Run the deploy again after" in (caught.value.hint or "")


API_ERROR = CloudflareAPIError("x", method="GET", path="/p", status=500, errors=())


async def test_a_persistent_5xx_says_it_is_on_cloudflares_side() -> None:
    """Every attempt answered 502: the message names the status and says the app is not at fault."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return envelope_error(502, 7500, "upstream unavailable")

    with pytest.raises(CloudflareAPIError) as caught:
        await client_for(handler).call("POST", "/d1/database/x/query")
    assert len(seen) == 5
    assert not isinstance(caught.value, SqlError)  # a 5xx is never "fix the SQL"
    assert "HTTP 502 on every attempt" in caught.value.message
    assert "on Cloudflare's side" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("result", "call"),
    [
        pytest.param([1, 2], "mapping", id="a-list-where-an-object-belongs"),
        pytest.param({"a": 1}, "items", id="an-object-where-a-list-belongs"),
        pytest.param("text", "require", id="a-string"),
    ],
)
async def test_an_answer_of_an_unexpected_shape_is_a_message(result: object, call: str) -> None:
    response = await client_for(lambda request: ok(result)).call("GET", "/accounts/acc/workers/subdomain")
    read: dict[str, Callable[[], object]] = {
        "mapping": response.mapping,
        "items": response.items,
        "require": lambda: response.require("subdomain"),
    }
    with pytest.raises(CloudflareError, match="Cloudflare's answer to GET /accounts/acc/workers/subdomain") as caught:
        read[call]()
    assert "result:" in caught.value.message


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        pytest.param(_Retryable(API_ERROR, wait=3.0), 3.0, id="retry-after-is-the-backoff"),
        pytest.param(_Retryable(API_ERROR, wait=None), True, id="5xx-uses-exponential-backoff"),
        pytest.param(httpx.ReadTimeout("t"), True, id="network-errors-retry"),
        pytest.param(ValueError("x"), False, id="other-errors-do-not"),
    ],
)
def test_backoff_hook_honours_retry_after(exc: Exception, expected: bool | float) -> None:
    """The retry hook returns Retry-After as the wait, True for default backoff, False for no retry."""
    assert _backoff(exc) == expected


def _always(answer: httpx.Response) -> Handler:
    return lambda request: answer


async def test_every_error_says_where_and_what_word_for_word() -> None:
    """The messages the mapping writes, exactly: the call, Cloudflare's text with its code, and the fix."""
    cases = {
        "auth": (envelope_error(403, 10000, "Authentication error"), AuthenticationError),
        "validation": (envelope_error(400, 10021, "bad binding"), ApiValidationError),
        "sql": (envelope_error(400, 7500, "no such table"), SqlError),
        "other": (envelope_error(409, 10041, "conflict"), CloudflareAPIError),
        "empty": (httpx.Response(418), CloudflareAPIError),
        "old-style": (httpx.Response(400, json={"code": 7003, "error": "No route"}), CloudflareAPIError),
    }
    seen: dict[str, CloudflareAPIError] = {}
    for name, (answer, kind) in cases.items():
        with pytest.raises(kind) as caught:
            await client_for(_always(answer)).call("GET", "/accounts/acc/p")
        seen[name] = caught.value
    assert seen["auth"].message == (
        "Cloudflare rejected the API token (Authentication error [code: 10000]) on GET /accounts/acc/p"
    )
    assert seen["auth"].hint == (
        "Check CLOUDFLARE_API_TOKEN (input api-token) and CLOUDFLARE_ACCOUNT_ID (acc): the token must be active, "
        "belong to this account and have Account · Workers Scripts · Edit and Account · D1 · Edit."
    )
    assert (seen["auth"].method, seen["auth"].path, seen["auth"].status) == ("GET", "/accounts/acc/p", 403)
    assert seen["validation"].message == "Cloudflare refused the upload: bad binding [code: 10021]"
    assert seen["validation"].hint == (
        "Fix what the message names (bindings, Worker code or metadata); this upload changed nothing."
    )
    assert seen["sql"].message == "D1 refused the SQL: no such table [code: 7500]"
    assert seen["sql"].api_text == "no such table [code: 7500]"
    assert seen["other"].message == "Cloudflare API error on GET /accounts/acc/p: conflict [code: 10041]"
    assert seen["other"].codes == (10041,)
    assert seen["empty"].message == "Cloudflare API error on GET /accounts/acc/p: HTTP 418: (empty body)"
    assert seen["empty"].api_text == "HTTP 418"
    assert seen["old-style"].codes == (7003,)
    assert "No route [code: 7003]" in seen["old-style"].message


async def test_an_asset_upload_refused_is_about_the_session_token_not_the_api_token() -> None:
    client = client_for(lambda request: envelope_error(401, 10000, "Authentication error: token expired"))
    with pytest.raises(UploadTokenError) as caught:
        await client.call("POST", "/accounts/acc/workers/assets/upload", bearer="session-jwt")
    assert caught.value.message.startswith("Cloudflare refused the asset upload session's token")
    assert caught.value.hint == "Deploy again: the files already uploaded are kept and will not be sent twice."


async def test_requests_carry_json_the_user_agent_and_the_bearer_of_the_call() -> None:
    """JSON bodies are compact and typed; an asset upload is authorised by its session JWT, not the token."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({})

    client = CloudflareClient(base_url="https://api.test/client/v4/", api_token="tok", account_id="acc")
    client._http._transport = httpx.MockTransport(handler)
    async with client:
        await client.call("POST", "/p", json_body={"a": [1, 2]}, params={"page": 2})
        await client.call("POST", "/q", content=b"raw", content_type="multipart/form-data; boundary=x", bearer="jwt")
    assert seen[0].url == "https://api.test/client/v4/p?page=2"
    assert (seen[0].content, seen[0].headers["content-type"]) == (b'{"a":[1,2]}', "application/json")
    assert seen[0].headers["user-agent"] == "cf-stateful-deployer/0.1"
    assert (seen[1].headers["authorization"], seen[1].headers["content-type"]) == (
        "Bearer jwt",
        "multipart/form-data; boundary=x",
    )
    assert client.account_path == "/accounts/acc"


async def test_a_transport_failure_names_the_kind_of_failure_and_the_fix() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(TransportError) as caught:
        await client_for(handler).call("GET", "/p")
    assert caught.value.message == (
        "Could not reach the Cloudflare API at https://api.test/client/v4 (ConnectError: connection refused)"
    )
    assert caught.value.hint == (
        "Check the network and CLOUDFLARE_API_BASE_URL (input api-base-url); the call was retried."
    )


@pytest.mark.parametrize("path", ["/r2/buckets/b/objects/../../../../workers/scripts/victim", "/a/./b", "/x/..?y=1"])
async def test_a_path_with_a_dot_segment_is_never_sent(path: str) -> None:
    """HTTP clients resolve `..`: a name from outside (an R2 key a Worker wrote) must not retarget a call."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return ok({})

    with pytest.raises(CloudflareError, match=r"has a '\.' or '\.\.' segment"):
        await client_for(handler).call("DELETE", path)
    assert sent == []
