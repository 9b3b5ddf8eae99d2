"""Versions, deployments and the services view."""

from __future__ import annotations

import httpx

from tests.emulator.helpers import errors, put_script, result, script_form


def _upload_version(api: httpx.Client, code: bytes = b"export default {fetch(){}}") -> dict[str, object]:
    form = script_form({"main_module": "index.js"}, {"index.js": (code, "application/javascript+module")})
    version: dict[str, object] = result(api.post("/workers/scripts/app/versions", files=form))
    return version


def test_services_missing_is_10090(api: httpx.Client) -> None:
    """The services view of a missing Worker is HTTP 404 code 10090."""
    response = api.get("/workers/services/ghost")
    assert response.status_code == 404
    assert errors(response)[0][0] == 10090


def test_services_default_environment(api: httpx.Client) -> None:
    """The services view carries the script's tag, tags and last_deployed_from."""
    result(put_script(api, "app", {"main_module": "index.js", "tags": ["t"]}))
    service = result(api.get("/workers/services/app"))
    env = service["default_environment"]
    assert env["environment"] == "production"
    assert env["script"]["tags"] == ["t"]
    assert len(env["script"]["tag"]) == 32
    assert env["script"]["last_deployed_from"] == "api"


def test_put_creates_a_100_percent_deployment(api: httpx.Client) -> None:
    """Each PUT deploys its version at 100%, newest deployment first."""
    first = result(put_script(api, "app"))
    second = result(put_script(api, "app"))
    deployments = result(api.get("/workers/scripts/app/deployments"))["deployments"]
    assert [d["versions"] for d in deployments] == [
        [{"version_id": second["deployment_id"], "percentage": 100}],
        [{"version_id": first["deployment_id"], "percentage": 100}],
    ]
    assert deployments[0]["strategy"] == "percentage"


def test_version_upload_does_not_deploy(api: httpx.Client) -> None:
    """POST versions stores a version with resources but leaves the deployment alone."""
    result(put_script(api, "app"))
    version = _upload_version(api)
    assert version["number"] == 2
    assert {"bindings", "script", "script_runtime"} <= version["resources"].keys()  # type: ignore[attr-defined]
    assert len(result(api.get("/workers/scripts/app/deployments"))["deployments"]) == 1


def test_version_upload_on_missing_script_is_10007(api: httpx.Client) -> None:
    """POST versions needs an existing script."""
    form = script_form({"main_module": "index.js"})
    assert errors(api.post("/workers/scripts/ghost/versions", files=form))[0][0] == 10007


def test_deploy_uploaded_version(api: httpx.Client) -> None:
    """POST deployments sends traffic to an uploaded version and GET script then serves its code."""
    result(put_script(api, "app"))
    version = _upload_version(api, b"export default {fetch(){ return new Response('v2') }}")
    body = {"strategy": "percentage", "versions": [{"version_id": version["id"], "percentage": 100}]}
    deployment = result(api.post("/workers/scripts/app/deployments", json=body))
    assert deployment["versions"] == [{"version_id": version["id"], "percentage": 100}]
    assert b"v2" in api.get("/workers/scripts/app").content


def test_deployment_percentages_must_sum_to_100(api: httpx.Client) -> None:
    """A deployment whose percentages do not add up to 100 is refused."""
    first = result(put_script(api, "app"))
    body = {"strategy": "percentage", "versions": [{"version_id": first["deployment_id"], "percentage": 50}]}
    assert api.post("/workers/scripts/app/deployments", json=body).status_code == 400


def test_deployment_of_unknown_version_is_refused(api: httpx.Client) -> None:
    """A deployment naming a version that does not exist is refused."""
    result(put_script(api, "app"))
    body = {"strategy": "percentage", "versions": [{"version_id": "nope", "percentage": 100}]}
    assert api.post("/workers/scripts/app/deployments", json=body).status_code == 400


def test_list_and_get_versions(api: httpx.Client) -> None:
    """GET versions lists newest first and GET versions/{id} returns one."""
    first = result(put_script(api, "app"))
    second = _upload_version(api)
    items = result(api.get("/workers/scripts/app/versions"))["items"]
    assert [item["id"] for item in items] == [second["id"], first["deployment_id"]]
    assert result(api.get(f"/workers/scripts/app/versions/{second['id']}"))["number"] == 2
    assert api.get("/workers/scripts/app/versions/nope").status_code == 404


def test_version_annotations_are_kept(api: httpx.Client) -> None:
    """Annotations sent with a version upload are returned."""
    result(put_script(api, "app"))
    form = script_form({"main_module": "index.js", "annotations": {"workers/message": "hello"}})
    version = result(api.post("/workers/scripts/app/versions", files=form))
    assert version["annotations"]["workers/message"] == "hello"
    assert version["annotations"]["workers/triggered_by"] == "upload"
