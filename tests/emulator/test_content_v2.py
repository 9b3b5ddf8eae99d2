"""`GET .../scripts/{name}/content/v2[?version=]`: the modules of one version, as the script download shows them."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import httpx

from tests.emulator.helpers import errors, put_script, result, script_form

DEPLOYED_JS = b"export default { fetch() { return new Response('deployed'); } };\n"
UPLOADED_JS = b"export default { fetch() { return new Response('uploaded, not deployed'); } };\n"
WASM = b"\x00asm\x01\x00\x00\x00"


def _parts(response: httpx.Response) -> dict[str, tuple[str, bytes]]:
    """{part name: (content type, content)} of a multipart/form-data answer, read by the standard library."""
    head = f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=policy.HTTP).parsebytes(head + response.content)
    assert message.is_multipart()
    parts: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts[str(part.get_param("name", header="content-disposition"))] = (part.get_content_type(), payload)
    return parts


def _deployed_and_uploaded(api: httpx.Client) -> tuple[str, str]:
    """A deployed version (two modules) and a newer, undeployed one; their ids."""
    modules = {"index.js": (DEPLOYED_JS, "application/javascript+module"), "lib.wasm": (WASM, "application/wasm")}
    deployed = result(put_script(api, "app", {"main_module": "index.js"}, modules))["deployment_id"]
    form = script_form({"main_module": "index.js"}, {"index.js": (UPLOADED_JS, "application/javascript+module")})
    uploaded = result(api.post("/workers/scripts/app/versions", files=form))["id"]
    return str(deployed), str(uploaded)


def test_without_a_version_it_is_the_deployed_one(api: httpx.Client) -> None:
    """No `version`: the deployed version's modules (not the newer upload), named, typed, with cf-entrypoint."""
    _deployed_and_uploaded(api)
    response = api.get("/workers/scripts/app/content/v2")
    assert response.status_code == 200
    assert response.headers["cf-entrypoint"] == "index.js"
    assert _parts(response) == {
        "index.js": ("application/javascript+module", DEPLOYED_JS),
        "lib.wasm": ("application/wasm", WASM),
    }


def test_a_version_id_gives_that_version(api: httpx.Client) -> None:
    """`?version=<id>` gives that version's modules, deployed or not."""
    deployed, uploaded = _deployed_and_uploaded(api)
    assert _parts(api.get("/workers/scripts/app/content/v2", params={"version": uploaded})) == {
        "index.js": ("application/javascript+module", UPLOADED_JS)
    }
    deployed_parts = _parts(api.get("/workers/scripts/app/content/v2", params={"version": deployed}))
    assert deployed_parts["index.js"] == ("application/javascript+module", DEPLOYED_JS)


def test_it_matches_the_script_download(api: httpx.Client) -> None:
    """The deployed version's content/v2 holds the same parts and entry point as `GET .../scripts/{name}`."""
    _deployed_and_uploaded(api)
    v2 = api.get("/workers/scripts/app/content/v2")
    legacy = api.get("/workers/scripts/app")
    assert _parts(v2) == _parts(legacy)
    assert v2.headers["cf-entrypoint"] == legacy.headers["cf-entrypoint"]


def test_a_service_worker_is_its_script(api: httpx.Client) -> None:
    """A service-worker version answers with its script itself, as the download does."""
    code = b"addEventListener('fetch', (event) => event.respondWith(new Response('sw')));\n"
    modules = {"worker.js": (code, "application/javascript")}
    result(put_script(api, "sw", {"body_part": "worker.js"}, modules))
    response = api.get("/workers/scripts/sw/content/v2")
    assert response.content == code
    assert response.headers["content-type"].startswith("application/javascript")
    assert response.headers["cf-entrypoint"] == "worker.js"


def test_an_unknown_version_is_404_10007(api: httpx.Client) -> None:
    """A version id the script does not have is HTTP 404 code 10007 (also one of another script)."""
    result(put_script(api, "app"))
    other = result(put_script(api, "other"))["deployment_id"]
    for version in ("00000000-0000-0000-0000-000000000000", other):
        response = api.get("/workers/scripts/app/content/v2", params={"version": version})
        assert response.status_code == 404
        assert errors(response)[0][0] == 10007


def test_an_unknown_script_is_404_10007(api: httpx.Client) -> None:
    """content/v2 of a script that does not exist is HTTP 404 code 10007."""
    response = api.get("/workers/scripts/ghost/content/v2")
    assert response.status_code == 404
    assert errors(response)[0][0] == 10007
