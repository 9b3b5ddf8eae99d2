"""The Cloudflare client's messages, word for word: error envelopes in every form, and answers of the wrong shape."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import stamina

from deployer.cloudflare import CloudflareClient
from deployer.cloudflare.client import none_if_missing
from deployer.errors import AuthenticationError, CloudflareAPIError, CloudflareError, NoWorkersSubdomainError

REPORT_HINT = "Run the deploy again; if it persists, the API may have changed: please report it with this line."


@pytest.fixture(autouse=True)
def no_backoff() -> Iterator[None]:
    with stamina.set_testing(True, attempts=5, cap=True):
        yield


def client_for(answer: httpx.Response) -> CloudflareClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: answer))
    return CloudflareClient(base_url="https://api.test/client/v4", api_token="tok", account_id="acc", http=http)


async def error_for(answer: httpx.Response, path: str = "/accounts/acc/p") -> CloudflareAPIError:
    with pytest.raises(CloudflareAPIError) as caught:
        await client_for(answer).call("GET", path)
    return caught.value


@pytest.mark.parametrize(
    ("body", "api_text"),
    [
        pytest.param(
            {"success": False, "errors": [{"code": 10041, "message": "a"}, {"code": 10042, "message": "b"}]},
            "a [code: 10041]; b [code: 10042]",
            id="every-error-of-the-envelope",
        ),
        pytest.param({"success": False, "errors": [{"message": "no code"}]}, "no code [code: 0]", id="no-code"),
        pytest.param({"success": False, "errors": [{"code": 10041}]}, " [code: 10041]", id="no-message"),
        pytest.param({"code": 7003, "error": "No route"}, "No route [code: 7003]", id="old-form"),
        pytest.param({"code": 7003}, " [code: 7003]", id="old-form-code-only"),
        pytest.param({"error": "No route"}, "No route [code: 0]", id="old-form-error-only"),
        pytest.param({"code": "n/a", "error": "odd"}, "odd [code: 0]", id="old-form-code-not-a-number"),
        pytest.param(
            {"success": False, "errors": [], "code": 7003, "error": "No route"},
            "No route [code: 7003]",
            id="empty-errors-then-the-old-form",
        ),
        pytest.param(
            {"success": False, "errors": "broken", "code": 7003, "error": "No route"},
            "No route [code: 7003]",
            id="errors-not-a-list-then-the-old-form",
        ),
        pytest.param({"message": "nope"}, 'HTTP 409: {"message":"nope"}', id="json-that-is-no-envelope"),
    ],
)
async def test_cloudflares_own_text_is_quoted_in_every_form_it_comes(body: object, api_text: str) -> None:
    """Each error of the envelope (or of the older top-level form) with its code; otherwise the raw body."""
    error = await error_for(httpx.Response(409, json=body))
    assert error.message == f"Cloudflare API error on GET /accounts/acc/p: {api_text}"


async def test_a_long_error_page_is_cut_to_200_characters() -> None:
    error = await error_for(httpx.Response(409, text="x" * 300))
    assert error.message == f"Cloudflare API error on GET /accounts/acc/p: HTTP 409: {'x' * 200}"


@pytest.mark.parametrize("status", [401, 403])
async def test_a_bare_401_or_403_is_about_the_token(status: int) -> None:
    """Without an envelope, the status alone says the token was refused."""
    error = await error_for(httpx.Response(status))
    assert isinstance(error, AuthenticationError)
    assert error.message == f"Cloudflare rejected the API token (HTTP {status}: (empty body)) on GET /accounts/acc/p"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(404, None, id="a-bare-404"),
        pytest.param(402, None, id="a-bare-402"),
        pytest.param(403, {"success": False, "errors": [{"code": 10041, "message": "no"}]}, id="403-with-another-code"),
    ],
)
async def test_other_refusals_are_not_about_the_token(status: int, body: object) -> None:
    """A 403 whose envelope names another code is that code's error, not a token problem."""
    error = await error_for(httpx.Response(status, json=body) if body else httpx.Response(status))
    assert type(error) is CloudflareAPIError


async def test_no_workers_subdomain_gives_the_message_and_the_call_to_claim_one() -> None:
    answer = httpx.Response(404, json={"success": False, "errors": [{"code": 10007, "message": "not found"}]})
    error = await error_for(answer, "/accounts/acc/workers/subdomain")
    assert isinstance(error, NoWorkersSubdomainError)
    assert error.message == "This account has no workers.dev subdomain yet (not found [code: 10007])"
    assert error.hint == (
        "Claim your workers.dev subdomain first (once per account, then wait 30-60 s for DNS):\n"
        "  curl -X PUT 'https://api.test/client/v4/accounts/acc/workers/subdomain' "
        "-H 'Authorization: Bearer $CLOUDFLARE_API_TOKEN' -H 'Content-Type: application/json' "
        """-d '{"subdomain": "<your-handle>"}'"""
    )


@pytest.mark.parametrize("code", [10007, 10090, 7404])
async def test_none_if_missing_turns_not_found_into_none(code: int) -> None:
    """A missing script (10007), service (10090) or D1 database (7404) is None."""
    answer = httpx.Response(404, json={"success": False, "errors": [{"code": code, "message": "not found"}]})
    assert await none_if_missing(client_for(answer).call("GET", "/p")) is None


async def test_none_if_missing_lets_any_other_error_through() -> None:
    answer = httpx.Response(409, json={"success": False, "errors": [{"code": 10041, "message": "conflict"}]})
    with pytest.raises(CloudflareAPIError, match=r"conflict \[code: 10041\]"):
        await none_if_missing(client_for(answer).call("GET", "/p"))


def ok(result: object) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "errors": [], "messages": [], "result": result})


@pytest.mark.parametrize(
    ("result", "read", "what", "excerpt"),
    [
        pytest.param([1, 2], "mapping", "is a list where an object was expected", "[1, 2]", id="mapping-of-a-list"),
        pytest.param("text", "mapping", "is a str where an object was expected", '"text"', id="mapping-of-a-str"),
        pytest.param({"a": 1}, "items", "is not a list of objects", '{"a": 1}', id="items-of-an-object"),
        pytest.param([1, 2], "items", "is not a list of objects", "[1, 2]", id="items-of-a-list-of-numbers"),
        pytest.param({"a": 1}, "require", "has no `subdomain`", '{"a": 1}', id="require-a-missing-key"),
        pytest.param(None, "require", "has no `subdomain`", "null", id="require-of-null"),
    ],
)
async def test_an_answer_of_the_wrong_shape_says_what_it_is_and_quotes_it(
    result: object, read: str, what: str, excerpt: str
) -> None:
    response = await client_for(ok(result)).call("GET", "/accounts/acc/workers/subdomain")
    reader: dict[str, Callable[[], object]] = {
        "mapping": response.mapping,
        "items": response.items,
        "require": lambda: response.require("subdomain"),
    }
    with pytest.raises(CloudflareError) as caught:
        reader[read]()
    assert caught.value.message == (
        f"Cloudflare's answer to GET /accounts/acc/workers/subdomain {what} (HTTP 200; result: {excerpt})"
    )
    assert caught.value.hint == REPORT_HINT


async def test_the_quoted_answer_is_cut_to_120_characters() -> None:
    response = await client_for(ok("y" * 200)).call("GET", "/p")
    with pytest.raises(CloudflareError) as caught:
        response.items()
    assert (
        caught.value.message
        == f"Cloudflare's answer to GET /p is not a list of objects (HTTP 200; result: \"{'y' * 119})"
    )


async def test_answers_of_the_right_shape_are_returned_as_they_are() -> None:
    assert (await client_for(ok([{"id": 1}])).call("GET", "/p")).items() == [{"id": 1}]
    assert (await client_for(ok(None)).call("GET", "/p")).items() == []
    assert (await client_for(ok(None)).call("GET", "/p")).mapping() == {}
    assert (await client_for(ok({"subdomain": "me"})).call("GET", "/p")).require("subdomain") == "me"


async def test_result_info_is_kept_when_it_is_an_object() -> None:
    """The paging block comes along with the result; anything but an object is dropped."""
    paged = {"success": True, "result": [], "result_info": {"page": 1, "total_pages": 3}}
    assert (await client_for(httpx.Response(200, json=paged)).call("GET", "/p")).result_info == {
        "page": 1,
        "total_pages": 3,
    }
    odd = {"success": True, "result": [], "result_info": [1]}
    assert (await client_for(httpx.Response(200, json=odd)).call("GET", "/p")).result_info is None
