"""Fault injection: the chosen calls fail the way Cloudflare's do, the others are untouched."""

from __future__ import annotations

import httpx
import pytest

from cfemu.launcher import Emulator
from tests.emulator.helpers import account_client, result


def test_the_nth_matching_call_fails_then_the_rest_pass(emulator: Emulator) -> None:
    emulator.add_fault("500", method="GET", path="/d1/database", nth=2, times=1)
    with account_client(emulator) as api:
        statuses = [api.get("/d1/database").status_code for _ in range(4)]
    assert statuses == [200, 500, 200, 200]
    (rule,) = emulator.faults()
    assert (rule["seen"], rule["fired"]) == (4, 1)


@pytest.mark.parametrize(
    ("fault", "status", "json_body"),
    [
        pytest.param("429", 429, True, id="rate-limited"),
        pytest.param("500", 500, True, id="internal-error"),
        pytest.param("502", 502, False, id="bad-gateway-html"),
        pytest.param("524", 524, False, id="edge-timeout-html"),
    ],
)
def test_each_http_fault_answers_as_cloudflare_does(
    emulator: Emulator, fault: str, status: int, json_body: bool
) -> None:
    emulator.add_fault(fault, path="/workers/subdomain", retry_after=7)
    with account_client(emulator) as api:
        response = api.get("/workers/subdomain")
        assert response.status_code == status
        if json_body:
            assert response.json()["success"] is False
        else:
            assert response.headers["content-type"].startswith("text/html")
        if fault == "429":
            assert response.headers["retry-after"] == "7"
        assert api.get("/workers/subdomain").status_code == 200  # times=1: the next call passes


def test_a_reset_drops_the_connection_mid_answer(emulator: Emulator) -> None:
    emulator.add_fault("reset", path="/workers/subdomain")
    with account_client(emulator) as api:
        with pytest.raises(httpx.RemoteProtocolError):
            api.get("/workers/subdomain")
        assert api.get("/workers/subdomain").status_code == 200


def test_a_fault_after_the_call_loses_only_the_answer(emulator: Emulator) -> None:
    """`after: true` carries the call out: the database exists although the client saw a 524."""
    emulator.add_fault("524", method="POST", path="/d1/database", after=True)
    with account_client(emulator) as api:
        assert api.post("/d1/database", json={"name": "made-anyway"}).status_code == 524
        names = [database["name"] for database in result(api.get("/d1/database"))]
    assert names == ["made-anyway"]


def test_faults_can_be_cleared_and_a_bad_rule_is_refused(emulator: Emulator) -> None:
    emulator.add_fault("500", times=-1)
    emulator.clear_faults()
    with account_client(emulator) as api:
        assert api.get("/d1/database").status_code == 200
    refused = httpx.post(f"{emulator.root_url}/__emulator/faults", json={"fault": "teapot"}, timeout=10)
    assert refused.status_code == 400


def test_expired_upload_tokens_are_refused_as_cloudflare_refuses_them(emulator: Emulator) -> None:
    """`expire-tokens` issues the next upload token already expired: the bucket upload answers 401."""
    emulator.add_fault("expire-tokens", times=1)
    manifest = {"/a.txt": {"hash": "0" * 32, "size": 1}}
    with account_client(emulator) as api:

        def upload_in_a_new_session() -> httpx.Response:
            session = result(api.post("/workers/scripts/s/assets-upload-session", json={"manifest": manifest}))
            return api.post(
                "/workers/assets/upload",
                params={"base64": "true"},
                headers={"Authorization": f"Bearer {session['jwt']}"},
                files={"0" * 32: ("0" * 32, b"YQ==", "text/plain")},
            )

        refused = upload_in_a_new_session()
        assert refused.status_code == 401
        accepted = upload_in_a_new_session()
        assert accepted.status_code in (200, 201), accepted.text
