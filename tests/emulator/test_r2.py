"""R2 buckets over HTTP: create, list, get, delete, name rules, jurisdictions, and `r2_bucket` bindings on upload (see
`cfemu.r2` and `cfemu.bindings` for the sources). A bucket holding objects is in test_kv_r2_worker.py."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from cfemu.launcher import Emulator
from tests.emulator.helpers import account_client, create_bucket, errors, put_script, result

EXISTS = (10004, "The bucket you tried to create already exists, and you own it.")
NO_SUCH_BUCKET = (10006, "The specified bucket does not exist.")
INVALID_NAME = (10005, "The specified bucket name is not valid.")
EU = {"cf-r2-jurisdiction": "eu"}


def _listed(api: httpx.Client, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    response = api.get("/r2/buckets", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _names(api: httpx.Client, headers: dict[str, str] | None = None, **params: Any) -> list[str]:
    return [bucket["name"] for bucket in _listed(api, headers, **params)["result"]["buckets"]]


def test_a_bucket_is_created_read_and_listed(api: httpx.Client) -> None:
    created = create_bucket(api, "app-files")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", created["creation_date"])
    assert created == {
        "name": "app-files",
        "creation_date": created["creation_date"],
        "location": "enam",
        "storage_class": "Standard",
        "jurisdiction": "default",
    }
    assert result(api.get("/r2/buckets/app-files")) == created
    body = _listed(api)
    assert body["result"] == {"buckets": [created]}
    assert body["result_info"] == {"per_page": 20}


def test_a_location_hint_and_a_storage_class_are_kept(api: httpx.Client) -> None:
    body = {"name": "eu-files", "locationHint": "WEUR", "storageClass": "InfrequentAccess"}
    created = result(api.post("/r2/buckets", json=body))
    assert (created["location"], created["storage_class"]) == ("weur", "InfrequentAccess")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"name": "files", "locationHint": "moon"}, id="location"),
        pytest.param({"name": "files", "storageClass": "Glacier"}, id="storage-class"),
    ],
)
def test_an_unknown_location_or_storage_class_is_refused(api: httpx.Client, body: dict[str, str]) -> None:
    response = api.post("/r2/buckets", json=body)
    assert response.status_code == 400
    assert [code for code, _ in errors(response)] == [10040]
    assert _names(api) == []


def test_a_name_the_account_has_is_10004(api: httpx.Client) -> None:
    create_bucket(api, "app-files")
    response = api.post("/r2/buckets", json={"name": "app-files"})
    assert (response.status_code, errors(response)) == (409, [EXISTS])
    assert _names(api) == ["app-files"]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("ab", id="2-characters"),
        pytest.param("a" * 64, id="64-characters"),
        pytest.param("App-Files", id="upper-case"),
        pytest.param("app_files", id="underscore"),
        pytest.param("app.files", id="dot"),
        pytest.param("-app-files", id="leading-hyphen"),
        pytest.param("app-files-", id="trailing-hyphen"),
        pytest.param("", id="empty"),
        pytest.param(None, id="missing"),
    ],
)
def test_a_name_breaking_the_rules_is_10005(api: httpx.Client, name: str | None) -> None:
    response = api.post("/r2/buckets", json={} if name is None else {"name": name})
    assert (response.status_code, errors(response)) == (400, [INVALID_NAME])
    assert _names(api) == []


@pytest.mark.parametrize("name", ["abc", "a" * 63, "0-9", "files-2024"])
def test_names_within_the_rules_are_taken(api: httpx.Client, name: str) -> None:
    assert create_bucket(api, name)["name"] == name


def test_the_list_is_cursor_paged_in_name_order(api: httpx.Client) -> None:
    for name in ("delta", "alpha", "charlie", "bravo", "echo"):
        create_bucket(api, name)
    first = _listed(api, per_page=2)
    assert [bucket["name"] for bucket in first["result"]["buckets"]] == ["alpha", "bravo"]
    assert set(first["result_info"]) == {"cursor", "per_page"}
    seen = ["alpha", "bravo"]
    cursor = first["result_info"]["cursor"]
    while cursor:
        page = _listed(api, per_page=2, cursor=cursor)
        seen += [bucket["name"] for bucket in page["result"]["buckets"]]
        cursor = page["result_info"].get("cursor")
    assert seen == ["alpha", "bravo", "charlie", "delta", "echo"]
    assert page["result_info"] == {"per_page": 2}  # the last page has no cursor
    assert _names(api, direction="desc", order="name") == ["echo", "delta", "charlie", "bravo", "alpha"]
    assert _names(api, start_after="bravo") == ["charlie", "delta", "echo"]
    assert _names(api, start_after="charlie", direction="desc") == ["bravo", "alpha"]
    assert _names(api, name_contains="r") == ["bravo", "charlie"]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"per_page": 0}, id="per_page-0"),
        pytest.param({"per_page": 1001}, id="per_page-1001"),
        pytest.param({"order": "creation_date"}, id="order-unknown"),
        pytest.param({"direction": "up"}, id="direction-unknown"),
        pytest.param({"cursor": "%%%"}, id="cursor-garbled"),
    ],
)
def test_list_parameters_out_of_bounds_are_refused(api: httpx.Client, params: dict[str, Any]) -> None:
    response = api.get("/r2/buckets", params=params)
    assert response.status_code == 400
    assert [code for code, _ in errors(response)] == [10040]


def test_a_missing_bucket_is_10006(api: httpx.Client) -> None:
    for response in (api.get("/r2/buckets/nowhere"), api.delete("/r2/buckets/nowhere")):
        assert (response.status_code, errors(response)) == (404, [NO_SUCH_BUCKET])


def test_an_empty_bucket_is_deleted(api: httpx.Client) -> None:
    create_bucket(api, "app-files")
    deleted = api.delete("/r2/buckets/app-files")
    assert deleted.status_code == 200
    assert result(deleted) == {}
    gone = api.get("/r2/buckets/app-files")
    assert (gone.status_code, errors(gone)) == (404, [NO_SUCH_BUCKET])
    assert _names(api) == []
    create_bucket(api, "app-files")  # the name is free again


def test_jurisdictions_hold_buckets_of_their_own(api: httpx.Client) -> None:
    create_bucket(api, "app-files")
    in_eu = result(api.post("/r2/buckets", json={"name": "app-files"}, headers=EU))
    assert in_eu["jurisdiction"] == "eu"
    assert _names(api) == ["app-files"]
    assert _names(api, EU) == ["app-files"]
    result(api.delete("/r2/buckets/app-files", headers=EU))
    missing = api.get("/r2/buckets/app-files", headers=EU)
    assert errors(missing) == [NO_SUCH_BUCKET]
    assert result(api.get("/r2/buckets/app-files"))["jurisdiction"] == "default"
    refused = api.get("/r2/buckets", headers={"cf-r2-jurisdiction": "mars"})
    assert [code for code, _ in errors(refused)] == [10040]


def test_the_objects_of_an_unused_bucket(api: httpx.Client) -> None:
    """Listed empty, a delete of a key it does not hold answered all the same; Workers write objects, see
    test_kv_r2_worker.py."""
    create_bucket(api, "app-files")
    body = api.get("/r2/buckets/app-files/objects", params={"prefix": "docs/"}).json()
    assert (body["result"], body["result_info"]) == ([], {"count": 0, "per_page": 1000})
    assert result(api.delete("/r2/buckets/app-files/objects/docs/a.txt")) == {"key": "docs/a.txt"}
    for params in ({"delimiter": "/"}, {"per_page": 1001}, {"cursor": "%%%"}):
        refused = api.get("/r2/buckets/app-files/objects", params=params)
        assert [code for code, _ in errors(refused)] == [10040]
    for response in (api.get("/r2/buckets/nowhere/objects"), api.delete("/r2/buckets/nowhere/objects/a")):
        assert (response.status_code, errors(response)) == (404, [NO_SUCH_BUCKET])
    in_eu = api.get("/r2/buckets/app-files/objects", headers=EU)
    assert errors(in_eu) == [NO_SUCH_BUCKET]


def _upload(api: httpx.Client, bindings: list[dict[str, Any]]) -> httpx.Response:
    return put_script(api, "r2-app", {"main_module": "index.js", "bindings": bindings})


def test_an_r2_binding_to_a_bucket_of_the_account_is_read_back(api: httpx.Client) -> None:
    create_bucket(api, "app-files")
    result(api.post("/r2/buckets", json={"name": "eu-files"}, headers=EU))
    bindings = [
        {"type": "r2_bucket", "name": "FILES", "bucket_name": "app-files"},
        {"type": "r2_bucket", "name": "EU_FILES", "bucket_name": "eu-files", "jurisdiction": "eu"},
    ]
    result(_upload(api, bindings))
    assert result(api.get("/workers/scripts/r2-app/settings"))["bindings"] == bindings


@pytest.mark.parametrize(
    ("binding", "shown"),
    [
        pytest.param({"bucket_name": "other-files"}, "other-files", id="unknown"),
        pytest.param({"bucket_name": "app-files", "jurisdiction": "eu"}, "app-files", id="other-jurisdiction"),
        pytest.param({"bucket": "app-files"}, "", id="no-bucket_name"),
    ],
)
def test_an_r2_binding_to_no_bucket_of_the_account_is_10085(
    api: httpx.Client, binding: dict[str, str], shown: str
) -> None:
    create_bucket(api, "app-files")
    response = _upload(api, [{"type": "r2_bucket", "name": "FILES", **binding}])
    assert response.status_code == 400
    message = f"R2 bucket '{shown}' not found. Please use a different name and try again."
    assert errors(response) == [(10085, message)]
    assert api.get("/workers/scripts/r2-app/settings").status_code == 404  # nothing was stored


def test_an_r2_binding_with_an_unknown_jurisdiction_is_refused(api: httpx.Client) -> None:
    create_bucket(api, "app-files")
    response = _upload(api, [{"type": "r2_bucket", "name": "FILES", "bucket_name": "app-files", "jurisdiction": "x"}])
    assert [code for code, _ in errors(response)] == [10021]


def test_r2_calls_are_authenticated_logged_and_take_faults(emulator: Emulator) -> None:
    """As every other account endpoint: a wrong token is 403, each call is logged, an injected fault fires."""
    with account_client(emulator, token="wrong-token") as intruder:
        denied = intruder.post("/r2/buckets", json={"name": "sneaky"})
    assert (denied.status_code, [code for code, _ in errors(denied)]) == (403, [10000])
    emulator.add_fault("429", method="GET", path="/r2/buckets/*", retry_after=3)
    with account_client(emulator) as api:
        create_bucket(api, "app-files")
        limited = api.get("/r2/buckets/app-files")
        assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
        assert result(api.get("/r2/buckets/app-files"))["name"] == "app-files"
        assert _names(api) == ["app-files"]
    logged = [(entry["method"], entry["path"], entry["status"]) for entry in emulator.requests()]
    account = f"/client/v4/accounts/{emulator.account_id}/r2/buckets"
    assert logged[-4:] == [
        ("POST", account, 200),
        ("GET", f"{account}/app-files", 429),
        ("GET", f"{account}/app-files", 200),
        ("GET", account, 200),
    ]
    assert ("POST", account, 403) in logged
