"""Worker secrets."""

from __future__ import annotations

import httpx

from cfemu.launcher import Emulator
from tests.emulator.helpers import errors, put_script, result, script_form, upload_assets


def _secret(name: str, text: str) -> dict[str, str]:
    return {"name": name, "text": text, "type": "secret_text"}


def test_put_secret_returns_name_and_type_only(api: httpx.Client) -> None:
    """PUT secrets answers {name, type} without the value."""
    result(put_script(api, "app"))
    response = api.put("/workers/scripts/app/secrets", json=_secret("TOKEN", "hunter2"))
    assert result(response) == {"name": "TOKEN", "type": "secret_text"}
    assert "hunter2" not in response.text


def test_list_and_get_secrets(api: httpx.Client) -> None:
    """Secrets are listed and fetched by name without values."""
    result(put_script(api, "app"))
    result(api.put("/workers/scripts/app/secrets", json=_secret("A", "1")))
    result(api.put("/workers/scripts/app/secrets", json=_secret("B", "2")))
    assert result(api.get("/workers/scripts/app/secrets")) == [
        {"name": "A", "type": "secret_text"},
        {"name": "B", "type": "secret_text"},
    ]
    assert result(api.get("/workers/scripts/app/secrets/B")) == {"name": "B", "type": "secret_text"}


def test_delete_secret(api: httpx.Client) -> None:
    """DELETE removes a secret; a second DELETE is a 404."""
    result(put_script(api, "app"))
    result(api.put("/workers/scripts/app/secrets", json=_secret("A", "1")))
    assert api.delete("/workers/scripts/app/secrets/A", params={"url_encoded": "true"}).status_code == 200
    assert result(api.get("/workers/scripts/app/secrets")) == []
    assert api.delete("/workers/scripts/app/secrets/A").status_code == 404


def test_secret_on_missing_script_is_10007(api: httpx.Client) -> None:
    """Putting a secret on a script that does not exist is 10007."""
    response = api.put("/workers/scripts/ghost/secrets", json=_secret("A", "1"))
    assert errors(response)[0][0] == 10007


def test_secret_name_used_by_plain_text_is_10053(api: httpx.Client) -> None:
    """A secret cannot take the name of a plain_text binding."""
    bindings = [{"type": "plain_text", "name": "APP_NAME", "text": "demo"}]
    result(put_script(api, "app", {"main_module": "index.js", "bindings": bindings}))
    response = api.put("/workers/scripts/app/secrets", json=_secret("APP_NAME", "x"))
    assert errors(response)[0][0] == 10053


def test_secret_change_makes_new_deployment_keeping_code_and_assets(api: httpx.Client, emulator: Emulator) -> None:
    """Each secret change deploys a new version with the same code, assets and other bindings."""
    jwt = upload_assets(emulator, api, "app", {"/index.html": (b"hi", "text/html")})
    bindings = [{"type": "plain_text", "name": "P", "text": "p"}]
    first = result(put_script(api, "app", {"main_module": "index.js", "bindings": bindings, "assets": {"jwt": jwt}}))
    result(api.put("/workers/scripts/app/secrets", json=_secret("S", "v")))
    deployments = result(api.get("/workers/scripts/app/deployments"))["deployments"]
    assert len(deployments) == 2
    version = result(api.get(f"/workers/scripts/app/versions/{deployments[0]['versions'][0]['version_id']}"))
    assert version["annotations"]["workers/triggered_by"] == "secret"
    assert version["resources"]["script"]["etag"] == first["etag"]
    assert [b["name"] for b in version["resources"]["bindings"]] == ["P", "S"]
    assert result(api.get("/workers/services/app"))["default_environment"]["script"]["has_assets"] is True


def test_secret_rotation_keeps_one_binding(api: httpx.Client) -> None:
    """Putting a secret twice replaces its value instead of adding a second binding."""
    result(put_script(api, "app"))
    result(api.put("/workers/scripts/app/secrets", json=_secret("S", "1")))
    result(api.put("/workers/scripts/app/secrets", json=_secret("S", "2")))
    assert result(api.get("/workers/scripts/app/secrets")) == [{"name": "S", "type": "secret_text"}]


def test_secrets_bulk_merge_patch(api: httpx.Client) -> None:
    """secrets-bulk adds, replaces and (with null) deletes, leaving others alone."""
    result(put_script(api, "app"))
    result(api.put("/workers/scripts/app/secrets", json=_secret("KEEP", "k")))
    result(api.put("/workers/scripts/app/secrets", json=_secret("DROP", "d")))
    patch = {"secrets": {"NEW": _secret("NEW", "n"), "DROP": None}}
    response = api.patch(
        "/workers/scripts/app/secrets-bulk", json=patch, headers={"Content-Type": "application/merge-patch+json"}
    )
    names = sorted(secret["name"] for secret in result(response))
    assert names == ["KEEP", "NEW"]


def _with_undeployed_version(api: httpx.Client) -> None:
    """The app deployed with secret S, then a newer version uploaded but not deployed."""
    result(put_script(api, "app"))
    result(api.put("/workers/scripts/app/secrets", json=_secret("S", "v")))
    result(api.post("/workers/scripts/app/versions", files=script_form({"main_module": "index.js"})))


def _unchanged(api: httpx.Client) -> None:
    """Still two deployments (upload, S) and three versions, S deployed: the refused edit changed nothing."""
    assert len(result(api.get("/workers/scripts/app/deployments"))["deployments"]) == 2
    assert len(result(api.get("/workers/scripts/app/versions"))["items"]) == 3
    assert result(api.get("/workers/scripts/app/settings"))["bindings"] == [{"name": "S", "type": "secret_text"}]


def test_secret_edit_when_latest_version_not_deployed_is_10215(api: httpx.Client) -> None:
    """A single secret PUT or DELETE while the newest version is undeployed is refused with 10215."""
    _with_undeployed_version(api)
    for response in (
        api.put("/workers/scripts/app/secrets", json=_secret("T", "t")),
        api.delete("/workers/scripts/app/secrets/S"),
    ):
        assert response.status_code == 400
        assert errors(response)[0][0] == 10215
    _unchanged(api)


def test_secrets_bulk_when_latest_version_not_deployed_is_10214(api: httpx.Client) -> None:
    """secrets-bulk while the newest version is undeployed answers the settings PATCH's 10214 and its text."""
    _with_undeployed_version(api)
    response = api.patch("/workers/scripts/app/secrets-bulk", json={"secrets": {"T": _secret("T", "t"), "S": None}})
    assert response.status_code == 400
    ((code, message),) = errors(response)
    assert code == 10214
    assert message.startswith("Script edit failed. You attempted to deploy the latest version with modified settings")
    assert '"logpush" and "tail_consumers"' in message
    _unchanged(api)
