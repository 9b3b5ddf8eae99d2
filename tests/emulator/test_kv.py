"""Workers KV namespaces over HTTP: create, list, rename, delete, their errors, and `kv_namespace` bindings on upload
(see `cfemu.kv` and `cfemu.bindings` for the sources). What a running Worker writes is in test_kv_r2_worker.py."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from cfemu.launcher import Emulator
from tests.emulator.helpers import account_client, create_namespace, errors, put_script, result

TAKEN = (10014, "a namespace with this account ID and title already exists")
NOT_FOUND = (10013, "namespace not found")


def _namespaces(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get("/storage/kv/namespaces", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _titles(api: httpx.Client, **params: Any) -> list[str]:
    return [namespace["title"] for namespace in _namespaces(api, **params)["result"]]


def test_a_namespace_is_created_read_and_listed(api: httpx.Client) -> None:
    created = result(api.post("/storage/kv/namespaces", json={"title": "app-cache"}))
    assert re.fullmatch(r"[0-9a-f]{32}", created["id"])
    assert created == {"id": created["id"], "title": "app-cache", "supports_url_encoding": True}
    assert result(api.get(f"/storage/kv/namespaces/{created['id']}")) == created
    body = _namespaces(api)
    assert body["result"] == [created]
    assert body["result_info"] == {"page": 1, "per_page": 20, "count": 1, "total_count": 1, "total_pages": 1}


def test_a_jurisdiction_is_kept_and_a_bad_one_refused(api: httpx.Client) -> None:
    created = result(api.post("/storage/kv/namespaces", json={"title": "eu-cache", "jurisdiction": "eu"}))
    assert created["jurisdiction"] == "eu"
    response = api.post("/storage/kv/namespaces", json={"title": "mars-cache", "jurisdiction": "mars"})
    assert response.status_code == 400
    assert [code for code, _ in errors(response)] == [10011]


def test_a_title_the_account_has_is_10014(api: httpx.Client) -> None:
    create_namespace(api, "app-cache")
    response = api.post("/storage/kv/namespaces", json={"title": "app-cache"})
    assert response.status_code == 400
    assert errors(response) == [TAKEN]
    assert _titles(api) == ["app-cache"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="missing"),
        pytest.param({"title": ""}, id="empty"),
        pytest.param({"title": 7}, id="not-a-string"),
        pytest.param({"title": "x" * 513}, id="513-characters"),
    ],
)
def test_a_bad_title_is_refused(api: httpx.Client, body: dict[str, Any]) -> None:
    response = api.post("/storage/kv/namespaces", json=body)
    assert response.status_code == 400
    assert [code for code, _ in errors(response)] == [10011]
    assert _titles(api) == []


def test_a_title_of_512_characters_is_taken(api: httpx.Client) -> None:
    create_namespace(api, "x" * 512)
    assert _titles(api) == ["x" * 512]


def test_the_list_pages_and_orders_as_asked(api: httpx.Client) -> None:
    ids = {title: create_namespace(api, title) for title in ("cherry", "apple", "banana")}
    assert _titles(api) == ["cherry", "apple", "banana"]  # oldest first
    assert _titles(api, order="title") == ["apple", "banana", "cherry"]
    assert _titles(api, order="title", direction="desc") == ["cherry", "banana", "apple"]
    by_id = sorted(ids, key=ids.__getitem__)
    assert _titles(api, order="id", direction="asc") == by_id
    second = _namespaces(api, order="title", per_page=2, page=2)
    assert [namespace["title"] for namespace in second["result"]] == ["cherry"]
    assert second["result_info"] == {"page": 2, "per_page": 2, "count": 1, "total_count": 3, "total_pages": 2}
    beyond = _namespaces(api, per_page=1000, page=2)
    assert beyond["result"] == []
    assert beyond["result_info"]["total_count"] == 3


def test_wranglers_listing_reads_every_namespace(api: httpx.Client) -> None:
    """wrangler asks for 100 a page, by title, and stops at a short page (`listKVNamespaces`)."""
    for index in range(3):
        create_namespace(api, f"ns-{index}")
    assert _titles(api, per_page=100, order="title", direction="asc", page=1) == ["ns-0", "ns-1", "ns-2"]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"per_page": 0}, id="per_page-0"),
        pytest.param({"per_page": 1001}, id="per_page-1001"),
        pytest.param({"per_page": "ten"}, id="per_page-text"),
        pytest.param({"page": 0}, id="page-0"),
        pytest.param({"order": "created"}, id="order-unknown"),
        pytest.param({"direction": "up"}, id="direction-unknown"),
    ],
)
def test_list_parameters_out_of_bounds_are_refused(api: httpx.Client, params: dict[str, Any]) -> None:
    response = api.get("/storage/kv/namespaces", params=params)
    assert response.status_code == 400
    assert [code for code, _ in errors(response)] == [10011]


def test_a_namespace_is_renamed(api: httpx.Client) -> None:
    first = create_namespace(api, "first")
    create_namespace(api, "second")
    renamed = result(api.put(f"/storage/kv/namespaces/{first}", json={"title": "first-renamed"}))
    assert renamed == {"id": first, "title": "first-renamed", "supports_url_encoding": True}
    assert result(api.put(f"/storage/kv/namespaces/{first}", json={"title": "first-renamed"}))["title"] == (
        "first-renamed"
    )
    taken = api.put(f"/storage/kv/namespaces/{first}", json={"title": "second"})
    assert (taken.status_code, errors(taken)) == (400, [TAKEN])
    assert _titles(api, order="title") == ["first-renamed", "second"]


def test_a_deleted_namespace_is_gone(api: httpx.Client) -> None:
    namespace_id = create_namespace(api, "doomed")
    deleted = api.delete(f"/storage/kv/namespaces/{namespace_id}")
    assert deleted.status_code == 200
    assert result(deleted) == {}
    for response in (
        api.get(f"/storage/kv/namespaces/{namespace_id}"),
        api.delete(f"/storage/kv/namespaces/{namespace_id}"),
        api.get(f"/storage/kv/namespaces/{namespace_id}/keys"),
        api.put(f"/storage/kv/namespaces/{namespace_id}", json={"title": "back"}),
    ):
        assert (response.status_code, errors(response)) == (404, [NOT_FOUND])
    assert _titles(api) == []
    create_namespace(api, "doomed")  # the title is free again


@pytest.mark.parametrize("bad_id", ["not-a-namespace", "0123456789ABCDEF0123456789ABCDEF", "0" * 31])
def test_an_id_that_is_not_32_hex_digits_is_10011(api: httpx.Client, bad_id: str) -> None:
    response = api.get(f"/storage/kv/namespaces/{bad_id}")
    assert response.status_code == 400
    assert [code for code, _ in errors(response)] == [10011]


def test_an_unused_namespace_has_no_keys_and_no_values(api: httpx.Client) -> None:
    namespace_id = create_namespace(api, "empty")
    body = api.get(f"/storage/kv/namespaces/{namespace_id}/keys").json()
    assert (body["result"], body["result_info"]) == ([], {"count": 0, "cursor": ""})
    missing = api.get(f"/storage/kv/namespaces/{namespace_id}/values/anything")
    assert (missing.status_code, errors(missing)) == (404, [(10009, "get: 'key not found'")])
    for params in ({"limit": 9}, {"limit": 1001}, {"cursor": "%%%"}):
        refused = api.get(f"/storage/kv/namespaces/{namespace_id}/keys", params=params)
        assert [code for code, _ in errors(refused)] == [10011]


def _upload(api: httpx.Client, bindings: list[dict[str, Any]]) -> httpx.Response:
    return put_script(api, "kv-app", {"main_module": "index.js", "bindings": bindings})


def test_a_kv_binding_to_a_namespace_of_the_account_is_read_back(api: httpx.Client) -> None:
    namespace_id = create_namespace(api, "app-cache")
    result(_upload(api, [{"type": "kv_namespace", "name": "CACHE", "namespace_id": namespace_id}]))
    expected = [{"type": "kv_namespace", "name": "CACHE", "namespace_id": namespace_id}]
    assert result(api.get("/workers/scripts/kv-app/settings"))["bindings"] == expected
    assert result(api.get("/workers/scripts/kv-app/bindings")) == expected


@pytest.mark.parametrize(
    ("binding", "shown"),
    [
        pytest.param(
            {"namespace_id": "0123456789abcdef0123456789abcdef"}, "0123456789abcdef0123456789abcdef", id="unknown"
        ),
        pytest.param({"namespace_id": "placeholder-kv-id"}, "placeholder-kv-id", id="malformed"),
        pytest.param({"id": "0123456789abcdef0123456789abcdef"}, "", id="no-namespace_id"),
    ],
)
def test_a_kv_binding_to_no_namespace_of_the_account_is_10042(
    api: httpx.Client, binding: dict[str, str], shown: str
) -> None:
    create_namespace(api, "app-cache")
    response = _upload(api, [{"type": "kv_namespace", "name": "CACHE", **binding}])
    assert response.status_code == 400
    message = f"KV namespace '{shown}' is not valid. Please verify the namespace_id in your configuration."
    assert errors(response) == [(10042, message)]
    assert api.get("/workers/scripts/kv-app/settings").status_code == 404  # nothing was stored


def test_a_deleted_namespace_can_no_longer_be_bound(api: httpx.Client) -> None:
    namespace_id = create_namespace(api, "app-cache")
    result(api.delete(f"/storage/kv/namespaces/{namespace_id}"))
    response = _upload(api, [{"type": "kv_namespace", "name": "CACHE", "namespace_id": namespace_id}])
    assert [code for code, _ in errors(response)] == [10042]


def test_kv_calls_are_authenticated_logged_and_take_faults(emulator: Emulator) -> None:
    """As every other account endpoint: a wrong token is 403, each call is logged, an injected fault fires."""
    with account_client(emulator, token="wrong-token") as intruder:
        denied = intruder.get("/storage/kv/namespaces")
    assert (denied.status_code, [code for code, _ in errors(denied)]) == (403, [10000])
    emulator.add_fault("500", method="POST", path="/storage/kv/namespaces")
    with account_client(emulator) as api:
        failed = api.post("/storage/kv/namespaces", json={"title": "retried"})
        assert (failed.status_code, errors(failed)) == (500, [(10013, "An unknown error has occurred")])
        namespace_id = create_namespace(api, "retried")
        assert _titles(api) == ["retried"]
        emulator.add_fault("502", method="DELETE", path="/storage/kv/namespaces/*", after=True)
        assert api.delete(f"/storage/kv/namespaces/{namespace_id}").status_code == 502
        assert _titles(api) == []  # the delete was carried out, its answer lost
    logged = [(entry["method"], entry["path"], entry["status"]) for entry in emulator.requests()]
    account = f"/client/v4/accounts/{emulator.account_id}/storage/kv/namespaces"
    assert (("POST", account, 500)) in logged
    assert ("POST", account, 200) in logged
    assert ("DELETE", f"{account}/{namespace_id}", 502) in logged
