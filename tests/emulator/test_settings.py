"""Settings, the legacy bindings list, script-settings and the per-script workers.dev toggle."""

from __future__ import annotations

import json

import httpx
import pytest

from cfemu.launcher import Emulator
from tests.emulator.helpers import account_client, errors, put_script, result, script_form

SECRET_VALUE = "s3cr3t-value-never-shown"


def _with_secret(api: httpx.Client) -> None:
    bindings = [
        {"type": "secret_text", "name": "APP_PASSWORD", "text": SECRET_VALUE},
        {"type": "plain_text", "name": "APP_NAME", "text": "demo"},
    ]
    result(put_script(api, "app", {"main_module": "index.js", "bindings": bindings}))


def test_settings_hide_secret_values(api: httpx.Client) -> None:
    """GET settings lists secrets as {name, type} only."""
    _with_secret(api)
    response = api.get("/workers/scripts/app/settings")
    assert SECRET_VALUE not in response.text
    assert {"name": "APP_PASSWORD", "type": "secret_text"} in result(response)["bindings"]


def test_settings_fields(api: httpx.Client) -> None:
    """GET settings has the script and version settings."""
    result(put_script(api, "app", {"main_module": "index.js", "compatibility_flags": ["nodejs_compat"]}))
    settings = result(api.get("/workers/scripts/app/settings"))
    assert settings["compatibility_flags"] == ["nodejs_compat"]
    expected = {"bindings", "compatibility_date", "limits", "logpush", "observability", "placement", "tags"}
    assert expected | {"tail_consumers", "usage_model"} <= settings.keys()


def test_legacy_bindings_hide_secret_values(api: httpx.Client) -> None:
    """The legacy bindings list never shows a secret's value."""
    _with_secret(api)
    response = api.get("/workers/scripts/app/bindings")
    assert SECRET_VALUE not in response.text
    assert result(response) == [
        {"name": "APP_PASSWORD", "type": "secret_text"},
        {"type": "plain_text", "name": "APP_NAME", "text": "demo"},
    ]


def test_patch_settings_bare_bindings_keep_values(api: httpx.Client) -> None:
    """A settings PATCH that re-sends bindings as {name, type} keeps them and adds new ones."""
    _with_secret(api)
    bindings = [
        {"type": "secret_text", "name": "APP_PASSWORD"},
        {"type": "plain_text", "name": "APP_NAME"},
        {"type": "secret_text", "name": "NEW", "text": "n"},
    ]
    response = api.patch(
        "/workers/scripts/app/settings", files={"settings": (None, json.dumps({"bindings": bindings}))}
    )
    names = [binding["name"] for binding in result(response)["bindings"]]
    assert names == ["APP_PASSWORD", "APP_NAME", "NEW"]
    assert len(result(api.get("/workers/scripts/app/deployments"))["deployments"]) == 2


def test_patch_settings_non_versioned_keys(api: httpx.Client) -> None:
    """A settings PATCH of logpush/tags updates the script without a new deployment."""
    result(put_script(api, "app"))
    body = {"logpush": True, "tags": ["x"]}
    settings = result(api.patch("/workers/scripts/app/settings", files={"settings": (None, json.dumps(body))}))
    assert settings["logpush"] is True
    assert settings["tags"] == ["x"]
    assert len(result(api.get("/workers/scripts/app/deployments"))["deployments"]) == 1


def test_script_settings_round_trip(api: httpx.Client) -> None:
    """PATCH script-settings stores logpush, observability, tags and tail_consumers."""
    result(put_script(api, "app"))
    body = {"observability": {"enabled": True}, "tags": ["a", "b"], "logpush": False, "tail_consumers": []}
    assert result(api.patch("/workers/scripts/app/script-settings", json=body)) == body
    assert result(api.get("/workers/scripts/app/script-settings")) == body


def test_new_script_subdomain_is_disabled(api: httpx.Client) -> None:
    """A freshly uploaded script is not on workers.dev yet."""
    result(put_script(api, "app"))
    assert result(api.get("/workers/scripts/app/subdomain")) == {"enabled": False, "previews_enabled": False}


def test_enable_subdomain_copies_previews_from_enabled(api: httpx.Client) -> None:
    """POST {enabled: true} without previews_enabled enables both."""
    result(put_script(api, "app"))
    assert result(api.post("/workers/scripts/app/subdomain", json={"enabled": True})) == {
        "enabled": True,
        "previews_enabled": True,
    }
    assert result(api.get("/workers/scripts/app/subdomain"))["enabled"] is True


def test_subdomain_toggles_independently(api: httpx.Client) -> None:
    """enabled and previews_enabled can differ, and DELETE turns both off."""
    result(put_script(api, "app"))
    body = {"enabled": True, "previews_enabled": False}
    assert result(api.post("/workers/scripts/app/subdomain", json=body)) == body
    result(api.delete("/workers/scripts/app/subdomain"))
    assert result(api.get("/workers/scripts/app/subdomain")) == {"enabled": False, "previews_enabled": False}


def test_enable_without_account_subdomain_is_10007(emulator_without_subdomain: Emulator) -> None:
    """Enabling workers.dev on an account whose subdomain was removed fails with 10007 (a new Worker cannot
    even be created without one: 10063, see test_subdomains.py)."""
    with account_client(emulator_without_subdomain) as client:
        result(client.put("/workers/subdomain", json={"subdomain": "gone-soon"}))
        result(put_script(client, "app"))
        result(client.delete("/workers/subdomain"))
        response = client.post("/workers/scripts/app/subdomain", json={"enabled": True})
    assert errors(response) == [(10007, "You do not have a workers.dev subdomain")]


def test_subdomain_toggle_survives_redeploy(api: httpx.Client) -> None:
    """Uploading a new version keeps the workers.dev toggle."""
    result(put_script(api, "app"))
    result(api.post("/workers/scripts/app/subdomain", json={"enabled": True}))
    result(put_script(api, "app"))
    assert result(api.get("/workers/scripts/app/subdomain"))["enabled"] is True


def test_more_than_eight_tags_are_refused(api: httpx.Client) -> None:
    """A script takes at most eight tags, on upload and through script-settings."""
    nine = [f"t{n}" for n in range(9)]
    assert put_script(api, "tagged", {"main_module": "index.js", "tags": nine}).status_code == 400
    assert put_script(api, "tagged", {"main_module": "index.js", "tags": nine[:8]}).status_code == 200
    response = api.patch("/workers/scripts/tagged/script-settings", json={"tags": nine})
    assert response.status_code == 400
    assert errors(response)[0][0] == 10021


STALE_SETTINGS_EDIT = (
    10214,
    "Script edit failed. You attempted to deploy the latest version with modified settings, but the latest"
    " version isn't currently deployed. Either upload a new version to edit the version settings, or use the"
    ' script-level settings API (/workers/scripts/{script_name}/script-settings) to modify the "logpush" and'
    ' "tail_consumers" settings.',
)


PLAIN = {"type": "plain_text", "name": "APP_NAME", "text": ""}


def _patch(api: httpx.Client, body: dict[str, object]) -> httpx.Response:
    return api.patch("/workers/scripts/app/settings", files={"settings": (None, json.dumps(body))})


def _with_undeployed_version(api: httpx.Client) -> None:
    """The app deployed with APP_NAME=demo, then a newer version uploaded but not deployed."""
    result(put_script(api, "app", {"main_module": "index.js", "bindings": [{**PLAIN, "text": "demo"}]}))
    result(api.post("/workers/scripts/app/versions", files=script_form({"main_module": "index.js"})))


@pytest.mark.parametrize(
    "versioned",
    [
        {"bindings": [{"type": "inherit", "name": "APP_NAME"}, {"type": "secret_text", "name": "S", "text": "v"}]},
        {"compatibility_date": "2025-01-01"},
        {"compatibility_flags": ["nodejs_compat"]},
        {"limits": {"cpu_ms": 50}},
        {"placement": {"mode": "smart"}},
    ],
    ids=["bindings", "compatibility_date", "compatibility_flags", "limits", "placement"],
)
def test_a_versioned_change_while_the_latest_is_not_deployed_is_10214(
    api: httpx.Client, versioned: dict[str, object]
) -> None:
    """A versioned key while a newer version is undeployed: 400/10214, and nothing of the request is applied."""
    _with_undeployed_version(api)
    before = result(api.get("/workers/scripts/app/settings"))
    response = _patch(api, {**versioned, "logpush": True, "tags": ["changed"]})
    assert response.status_code == 400
    assert errors(response) == [STALE_SETTINGS_EDIT]
    assert result(api.get("/workers/scripts/app/settings")) == before
    assert len(result(api.get("/workers/scripts/app/versions"))["items"]) == 2
    assert len(result(api.get("/workers/scripts/app/deployments"))["deployments"]) == 1


def test_non_versioned_keys_still_change_while_the_latest_is_not_deployed(api: httpx.Client) -> None:
    """Only script-level keys: applied, as the 10214 text suggests, without a new version."""
    _with_undeployed_version(api)
    settings = result(_patch(api, {"logpush": True, "tags": ["x"]}))
    assert (settings["logpush"], settings["tags"]) == (True, ["x"])
    assert len(result(api.get("/workers/scripts/app/versions"))["items"]) == 2


def test_once_the_latest_is_deployed_the_versioned_change_is_made(api: httpx.Client) -> None:
    """Deploying the newest version lifts the refusal."""
    _with_undeployed_version(api)
    newest = result(api.get("/workers/scripts/app/versions"))["items"][0]["id"]
    body = {"strategy": "percentage", "versions": [{"version_id": newest, "percentage": 100}]}
    result(api.post("/workers/scripts/app/deployments", json=body))
    settings = result(_patch(api, {"bindings": [{**PLAIN, "text": "after"}]}))
    assert settings["bindings"] == [{**PLAIN, "text": "after"}]
