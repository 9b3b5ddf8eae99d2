"""The v4 envelope, authentication and routing errors."""

from __future__ import annotations

import httpx
import pytest

from cfemu.launcher import Emulator
from tests.emulator.helpers import account_client, errors, result


def test_health_answers_ok(emulator: Emulator) -> None:
    """`/__emulator/health` answers 200."""
    assert httpx.get(f"{emulator.root_url}/__emulator/health").status_code == 200


def test_missing_authorization_is_9106(emulator: Emulator) -> None:
    """A request without Authorization gets HTTP 400 code 9106."""
    response = httpx.get(f"{emulator.api_base_url}/accounts/{emulator.account_id}/workers/scripts")
    assert response.status_code == 400
    assert errors(response) == [(9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers")]


def test_non_bearer_authorization_is_9106(emulator: Emulator) -> None:
    """A Basic Authorization header counts as missing credentials."""
    response = httpx.get(
        f"{emulator.api_base_url}/accounts/{emulator.account_id}/workers/scripts",
        headers={"Authorization": "Basic abc"},
    )
    assert response.status_code == 400
    assert errors(response)[0][0] == 9106


def test_wrong_token_is_403_10000(emulator: Emulator) -> None:
    """A wrong API token gets HTTP 403 code 10000."""
    with account_client(emulator, token="not-the-token") as client:
        response = client.get("/workers/scripts")
    assert response.status_code == 403
    assert errors(response) == [(10000, "Authentication error")]


def test_unknown_account_is_403_10000(emulator: Emulator) -> None:
    """Another account id gets HTTP 403 code 10000."""
    response = httpx.get(
        f"{emulator.api_base_url}/accounts/ffffffffffffffffffffffffffffffff/workers/scripts",
        headers={"Authorization": f"Bearer {emulator.api_token}"},
    )
    assert response.status_code == 403
    assert errors(response)[0][0] == 10000


def test_unknown_route_is_7003(api: httpx.Client, emulator: Emulator) -> None:
    """An unknown path gets HTTP 404 code 7003 with Cloudflare's text."""
    response = api.get("/workers/nothing-here")
    assert response.status_code == 404
    path = f"/client/v4/accounts/{emulator.account_id}/workers/nothing-here"
    assert errors(response) == [(7003, f"Could not route to {path}, perhaps your object identifier is invalid?")]


def test_wrong_method_is_405(api: httpx.Client) -> None:
    """A known path with the wrong method gets HTTP 405 in an envelope."""
    response = api.post("/workers/subdomain")
    assert response.status_code == 405
    assert errors(response)[0][0] == 10405


def test_success_envelope_shape(api: httpx.Client) -> None:
    """A successful answer carries success, errors, messages and result."""
    body = api.get("/workers/scripts").json()
    assert body == {"success": True, "errors": [], "messages": [], "result": []}


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]"], ids=["malformed", "not-an-object"])
def test_bad_json_body_is_an_error_envelope(api: httpx.Client, body: bytes) -> None:
    """A body that is not a JSON object gets a 400 error envelope, not a stack trace."""
    response = api.put("/workers/subdomain", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert errors(response)[0][0] == 10021


def test_every_error_has_json_content_type(api: httpx.Client) -> None:
    """Errors are JSON envelopes with a JSON content type."""
    response = api.get("/d1/database/nope")
    assert response.headers["content-type"].startswith("application/json")
    assert result(api.get("/d1/database")) == []


def test_global_api_key_is_rejected(emulator: Emulator) -> None:
    """X-Auth-Email + X-Auth-Key (not emulated) gets HTTP 403 code 10000."""
    response = httpx.get(
        f"{emulator.api_base_url}/accounts/{emulator.account_id}/workers/scripts",
        headers={"X-Auth-Email": "me@example.com", "X-Auth-Key": emulator.api_token},
    )
    assert response.status_code == 403
    assert errors(response)[0][0] == 10000
