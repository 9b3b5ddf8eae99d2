"""Inherit bindings with `version_id`: a binding taken from a named version of the script (or "latest"), on
the script PUT, the version upload and the settings PATCH; and the deployer's fallback built from it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.emulator.helpers import errors, put_script, result, script_form

Bindings = list[dict[str, Any]]


def _plain(name: str, text: str) -> dict[str, str]:
    return {"type": "plain_text", "name": name, "text": text}


def _version_bindings(api: httpx.Client, version_id: str) -> dict[str, str]:
    """{name: text} of a version's plain_text bindings (secrets are never shown)."""
    version = result(api.get(f"/workers/scripts/app/versions/{version_id}"))
    return {b["name"]: b["text"] for b in version["resources"]["bindings"] if b["type"] == "plain_text"}


def _via_put(api: httpx.Client, bindings: Bindings) -> httpx.Response:
    return put_script(api, "app", {"main_module": "index.js", "bindings": bindings})


def _via_version_upload(api: httpx.Client, bindings: Bindings) -> httpx.Response:
    form = script_form({"main_module": "index.js", "bindings": bindings})
    return api.post("/workers/scripts/app/versions", files=form)


def _via_settings(api: httpx.Client, bindings: Bindings) -> httpx.Response:
    return api.patch("/workers/scripts/app/settings", files={"settings": (None, json.dumps({"bindings": bindings}))})


def _newest_version_id(api: httpx.Client) -> str:
    return str(result(api.get("/workers/scripts/app/versions"))["items"][0]["id"])


ENDPOINTS: dict[str, Callable[[httpx.Client, Bindings], httpx.Response]] = {
    "script-put": _via_put,
    "version-upload": _via_version_upload,
    "settings-patch": _via_settings,
}


def _two_versions(api: httpx.Client) -> tuple[str, str]:
    """Version 1 has P=one, Q=q1; version 2 (deployed, newest) P=two, Q=q2. Their ids."""
    first = result(_via_put(api, [_plain("P", "one"), _plain("Q", "q1")]))["deployment_id"]
    second = result(_via_put(api, [_plain("P", "two"), _plain("Q", "q2")]))["deployment_id"]
    return str(first), str(second)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_version_id_inherits_from_that_version(api: httpx.Client, endpoint: str) -> None:
    """`version_id` takes the binding from that version; without it (or "latest") from the newest one."""
    first, _ = _two_versions(api)
    bindings = [
        {"type": "inherit", "name": "P", "version_id": first},
        {"type": "inherit", "name": "Q"},
        {"type": "inherit", "name": "R", "old_name": "Q", "version_id": "latest"},
    ]
    result(ENDPOINTS[endpoint](api, bindings))
    assert _version_bindings(api, _newest_version_id(api)) == {"P": "one", "Q": "q2", "R": "q2"}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_old_name_with_a_version_id_renames_that_versions_binding(api: httpx.Client, endpoint: str) -> None:
    """`old_name` + `version_id`: the binding `old_name` of that version, under the name `name`."""
    first, _ = _two_versions(api)
    bindings = [
        {"type": "inherit", "name": "P"},
        {"type": "inherit", "name": "P_PREVIOUS", "old_name": "P", "version_id": first},
    ]
    result(ENDPOINTS[endpoint](api, bindings))
    assert _version_bindings(api, _newest_version_id(api)) == {"P": "two", "P_PREVIOUS": "one"}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_unknown_version_id_is_10021_naming_binding_and_version(api: httpx.Client, endpoint: str) -> None:
    """A `version_id` the script has no version of is HTTP 400 code 10021; nothing is stored."""
    _two_versions(api)
    before = _newest_version_id(api)
    unknown = "00000000-0000-4000-8000-000000000000"
    response = ENDPOINTS[endpoint](api, [{"type": "inherit", "name": "P", "version_id": unknown}])
    assert response.status_code == 400
    ((code, message),) = errors(response)
    assert code == 10021
    assert "P" in message.split() and unknown in message
    assert _newest_version_id(api) == before


def test_a_version_of_another_script_is_unknown(api: httpx.Client) -> None:
    """`version_id` looks only among the script's own versions."""
    result(_via_put(api, [_plain("P", "one")]))
    other = result(put_script(api, "other", {"main_module": "index.js", "bindings": [_plain("P", "x")]}))
    response = _via_put(api, [{"type": "inherit", "name": "P", "version_id": other["deployment_id"]}])
    assert errors(response)[0][0] == 10021


def test_a_version_lacking_the_binding_follows_bindings_inherit(api: httpx.Client) -> None:
    """The named version lacks the binding: dropped without `bindings_inherit=strict`, 10057 with it."""
    first = result(_via_put(api, [_plain("P", "one")]))["deployment_id"]
    result(_via_put(api, [_plain("P", "two"), _plain("NEW", "n")]))
    inherit_new = [{"type": "inherit", "name": "NEW", "version_id": first}]
    strict = put_script(api, "app", {"main_module": "index.js", "bindings": inherit_new}, bindings_inherit="strict")
    assert errors(strict)[0][0] == 10057
    result(_via_put(api, inherit_new))
    assert _version_bindings(api, _newest_version_id(api)) == {}


def test_a_version_id_that_is_not_a_string_is_10021(api: httpx.Client) -> None:
    """`version_id` must be a string."""
    result(_via_put(api, [_plain("P", "one")]))
    assert errors(_via_put(api, [{"type": "inherit", "name": "P", "version_id": 1}]))[0][0] == 10021


def test_the_fallback_from_the_deployed_version(api: httpx.Client) -> None:
    """The deployer's fallback when a newer version is not deployed: the settings PATCH is refused (10214);
    a version built from the deployed one (its modules from content/v2, its bindings inherited by
    `version_id` with one moved by `old_name`) is uploaded strictly and deployed at 100%."""
    deployed_code = b"export default { fetch() { return new Response('deployed'); } };\n"
    modules = {"index.js": (deployed_code, "application/javascript+module")}
    bindings = [_plain("KEEP", "k"), _plain("SECRET", "old")]
    result(put_script(api, "app", {"main_module": "index.js", "bindings": bindings}, modules))
    stray = script_form({"main_module": "index.js", "bindings": [_plain("KEEP", "stray")]})
    result(api.post("/workers/scripts/app/versions", files=stray))
    move = [
        {"type": "inherit", "name": "KEEP"},
        {"type": "inherit", "name": "SECRET_PREVIOUS", "old_name": "SECRET"},
        _plain("SECRET", "new"),
    ]
    assert errors(_via_settings(api, move))[0][0] == 10214

    deployment = result(api.get("/workers/scripts/app/deployments"))["deployments"][0]
    deployed_id = deployment["versions"][0]["version_id"]
    content = api.get("/workers/scripts/app/content/v2", params={"version": deployed_id})
    assert deployed_code in content.content
    pinned = [{**binding, "version_id": deployed_id} if binding["type"] == "inherit" else binding for binding in move]
    form = script_form(
        {"main_module": content.headers["cf-entrypoint"], "bindings": pinned, "keep_assets": True},
        {"index.js": (deployed_code, "application/javascript+module")},
    )
    version = result(api.post("/workers/scripts/app/versions", files=form, params={"bindings_inherit": "strict"}))
    body = {"strategy": "percentage", "versions": [{"version_id": version["id"], "percentage": 100}]}
    result(api.post("/workers/scripts/app/deployments", json=body))

    assert _version_bindings(api, version["id"]) == {"KEEP": "k", "SECRET_PREVIOUS": "old", "SECRET": "new"}
    assert api.get("/workers/scripts/app").content.count(deployed_code) == 1
    settings = result(api.get("/workers/scripts/app/settings"))
    assert [b["name"] for b in settings["bindings"]] == ["KEEP", "SECRET_PREVIOUS", "SECRET"]
