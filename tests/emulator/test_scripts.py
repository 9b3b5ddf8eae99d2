"""Script upload (PUT), multipart parsing, bindings checks, download, list and delete."""

from __future__ import annotations

import json

import httpx
import pytest

from cfemu.launcher import Emulator
from tests.emulator.helpers import WORKER_JS, create_database, errors, put_script, result, upload_assets

D1_ERROR = "binding DB of type d1 must have a valid `id` specified"
PLAIN_P = {"type": "plain_text", "name": "P", "text": "p"}


def test_put_returns_script_object(api: httpx.Client) -> None:
    """A PUT returns the script object with a new version as deployment_id."""
    script = result(put_script(api, "app", {"main_module": "index.js", "compatibility_date": "2025-01-01"}))
    assert script["id"] == "app"
    assert script["handlers"] == ["fetch"]
    assert script["has_modules"] is True
    assert script["has_assets"] is False
    assert script["compatibility_date"] == "2025-01-01"
    assert script["usage_model"] == "standard"
    assert script["entry_point"] == "index.js"
    assert script["last_deployed_from"] == "api"
    assert {"etag", "created_on", "modified_on", "startup_time_ms", "tags", "deployment_id"} <= script.keys()


def test_put_defaults_compatibility_date(api: httpx.Client) -> None:
    """Without compatibility_date the API default 2021-11-02 applies."""
    assert result(put_script(api, "app"))["compatibility_date"] == "2021-11-02"


def test_metadata_part_with_json_content_type(api: httpx.Client) -> None:
    """A metadata part sent as a file with Content-Type application/json is accepted."""
    files = {
        "metadata": ("metadata.json", json.dumps({"main_module": "worker.js"}).encode(), "application/json"),
        "worker.js": ("worker.js", WORKER_JS, "application/javascript+module"),
    }
    assert result(api.put("/workers/scripts/app", files=files))["entry_point"] == "worker.js"


def test_hand_written_multipart_like_the_seed(api: httpx.Client) -> None:
    """The seed's hand-built multipart body (CRLF, explicit boundary) parses."""
    boundary = "----CodeMode123"
    body = "\r\n".join(
        [
            f"--{boundary}",
            'Content-Disposition: form-data; name="metadata"',
            "Content-Type: application/json",
            "",
            json.dumps({"main_module": "worker.js"}),
            f"--{boundary}",
            'Content-Disposition: form-data; name="worker.js"; filename="worker.js"',
            "Content-Type: application/javascript+module",
            "",
            WORKER_JS.decode(),
            f"--{boundary}--",
            "",
        ]
    )
    response = api.put(
        "/workers/scripts/app", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert result(response)["id"] == "app"


def test_json_body_cannot_be_decoded_as_form_data(api: httpx.Client) -> None:
    """A JSON body gets Cloudflare's "Body can not be decoded as form data"."""
    response = api.put("/workers/scripts/app", json={"main_module": "index.js"})
    assert response.status_code == 400
    assert errors(response)[0][1] == "Body can not be decoded as form data"


def test_boundary_mismatch_cannot_be_decoded(api: httpx.Client) -> None:
    """A body whose boundary differs from the header's is not form data."""
    body = '--other\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{}\r\n--other--\r\n'
    response = api.put(
        "/workers/scripts/app", content=body, headers={"Content-Type": "multipart/form-data; boundary=declared"}
    )
    assert errors(response)[0][1] == "Body can not be decoded as form data"


def test_main_module_must_name_a_part(api: httpx.Client) -> None:
    """A main_module without a matching part is 10021."""
    response = put_script(api, "app", {"main_module": "missing.js"})
    assert response.status_code == 400
    assert errors(response)[0][0] == 10021
    assert "missing.js" in errors(response)[0][1]


@pytest.mark.parametrize("name", ["MyApp", "has space", "a" * 64, "-leading"])
def test_invalid_script_name_is_10016(api: httpx.Client, name: str) -> None:
    """Script names outside Cloudflare's pattern are refused with 10016."""
    response = put_script(api, name)
    assert errors(response)[0][0] == 10016


def test_unknown_d1_id_is_10021_with_wrangler_text(api: httpx.Client) -> None:
    """A D1 binding to a database that does not exist gets the exact text wrangler matches."""
    metadata = {"main_module": "index.js", "bindings": [{"type": "d1", "name": "DB", "id": "not-a-database"}]}
    assert errors(put_script(api, "app", metadata)) == [(10021, D1_ERROR)]


def test_d1_binding_accepts_database_id_and_stores_id(api: httpx.Client) -> None:
    """A D1 binding may use `database_id` (the seed) and reads back with both `id` (what wrangler reads) and
    `database_id` (what the official SDK's read type requires)."""
    uuid = create_database(api, "db")
    metadata = {"main_module": "index.js", "bindings": [{"type": "d1", "name": "DB", "database_id": uuid}]}
    result(put_script(api, "app", metadata))
    expected = [{"type": "d1", "name": "DB", "id": uuid, "database_id": uuid}]
    assert result(api.get("/workers/scripts/app/settings"))["bindings"] == expected


@pytest.mark.parametrize(
    "binding",
    [
        {"type": "plain_text", "name": "X"},
        {"type": "secret_text", "name": "X", "text": 5},
        {"type": "json", "name": "X"},
        {"type": "plain_text"},
    ],
    ids=["plain-no-text", "secret-non-string", "json-no-value", "no-name"],
)
def test_malformed_bindings_are_10021(api: httpx.Client, binding: dict[str, object]) -> None:
    """Bindings missing their value or name are refused with 10021."""
    response = put_script(api, "app", {"main_module": "index.js", "bindings": [binding]})
    assert errors(response)[0][0] == 10021


def test_unknown_metadata_keys_and_binding_types_are_kept_quiet(api: httpx.Client) -> None:
    """Unknown metadata keys are ignored and unknown binding types stored as sent."""
    binding = {"type": "queue", "name": "JOBS", "queue_name": "jobs"}
    metadata = {"main_module": "index.js", "bindings": [binding], "some_future_key": {"x": 1}}
    result(put_script(api, "app", metadata))
    assert result(api.get("/workers/scripts/app/settings"))["bindings"] == [binding]


def test_keep_bindings_carries_over_listed_types(api: httpx.Client) -> None:
    """keep_bindings keeps previous bindings of those types whose names are not re-sent."""
    first = [
        {"type": "secret_text", "name": "S", "text": "v"},
        {"type": "plain_text", "name": "P", "text": "p"},
    ]
    result(put_script(api, "app", {"main_module": "index.js", "bindings": first}))
    second = {"main_module": "index.js", "bindings": [], "keep_bindings": ["secret_text"]}
    result(put_script(api, "app", second))
    assert result(api.get("/workers/scripts/app/settings"))["bindings"] == [{"name": "S", "type": "secret_text"}]


def test_upload_without_keep_bindings_replaces_bindings(api: httpx.Client) -> None:
    """Without keep_bindings, a new upload's bindings replace the old ones."""
    result(put_script(api, "app", {"main_module": "index.js", "bindings": [PLAIN_P]}))
    result(put_script(api, "app"))
    assert result(api.get("/workers/scripts/app/settings"))["bindings"] == []


def test_inherit_binding_copies_previous(api: httpx.Client) -> None:
    """An inherit binding takes the previous version's binding of that name."""
    result(put_script(api, "app", {"main_module": "index.js", "bindings": [PLAIN_P]}))
    metadata = {"main_module": "index.js", "bindings": [{"type": "inherit", "name": "P"}]}
    result(put_script(api, "app", metadata, bindings_inherit="strict"))
    bindings = result(api.get("/workers/scripts/app/settings"))["bindings"]
    assert bindings == [PLAIN_P]


def test_strict_inherit_of_missing_binding_is_10057(api: httpx.Client) -> None:
    """With bindings_inherit=strict, inheriting a binding that does not exist is 10057."""
    metadata = {"main_module": "index.js", "bindings": [{"type": "inherit", "name": "NOPE"}]}
    assert errors(put_script(api, "app", metadata, bindings_inherit="strict"))[0][0] == 10057


def test_assets_completion_token_is_required(api: httpx.Client) -> None:
    """assets.jwt must be a valid completion token."""
    metadata = {"main_module": "index.js", "assets": {"jwt": "not-a-token", "config": {}}}
    assert errors(put_script(api, "app", metadata))[0][0] == 10021


def test_assets_config_is_validated(api: httpx.Client, emulator: Emulator) -> None:
    """An unknown not_found_handling value is refused."""
    jwt = upload_assets(emulator, api, "app", {"/index.html": (b"hi", "text/html")})
    metadata = {"main_module": "index.js", "assets": {"jwt": jwt, "config": {"not_found_handling": "bogus"}}}
    assert errors(put_script(api, "app", metadata))[0][0] == 10021


def test_keep_assets_reuses_previous_assets(api: httpx.Client, emulator: Emulator) -> None:
    """keep_assets (top level or, as the seed writes it, inside assets) keeps the previous version's assets."""
    jwt = upload_assets(emulator, api, "app", {"/index.html": (b"hi", "text/html")})
    config = {"not_found_handling": "single-page-application"}
    first = {"main_module": "index.js", "assets": {"jwt": jwt, "config": config}}
    assert result(put_script(api, "app", first))["has_assets"] is True
    assert result(put_script(api, "app", {"main_module": "index.js", "keep_assets": True}))["has_assets"] is True
    seed_style = {"main_module": "index.js", "assets": {"keep_assets": True, "config": {}}}
    assert result(put_script(api, "app", seed_style))["has_assets"] is True
    assert result(put_script(api, "app"))["has_assets"] is False


def test_assets_only_worker(api: httpx.Client, emulator: Emulator) -> None:
    """An upload with assets and no module parts is an assets-only Worker."""
    jwt = upload_assets(emulator, api, "site", {"/index.html": (b"hi", "text/html")})
    script = result(put_script(api, "site", {"assets": {"jwt": jwt, "config": {}}}, modules={}))
    assert script["has_assets"] is True
    assert script["handlers"] == []


def test_get_script_returns_multipart_modules(api: httpx.Client) -> None:
    """GET on a script returns its modules as a raw multipart body, not an envelope."""
    modules = {
        "index.js": (WORKER_JS, "application/javascript+module"),
        "lib.wasm": (b"\x00asm\x01\x00\x00\x00", "application/wasm"),
    }
    result(put_script(api, "app", modules=modules))
    response = api.get("/workers/scripts/app")
    assert response.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert WORKER_JS in response.content
    assert b"\x00asm\x01\x00\x00\x00" in response.content
    assert b"Content-Type: application/wasm" in response.content


def test_list_scripts(api: httpx.Client) -> None:
    """The script list holds every uploaded script."""
    result(put_script(api, "one"))
    result(put_script(api, "two"))
    assert [script["id"] for script in result(api.get("/workers/scripts"))] == ["one", "two"]


def test_tags_from_put_metadata(api: httpx.Client) -> None:
    """`tags` in PUT metadata are stored on the script."""
    assert result(put_script(api, "app", {"main_module": "index.js", "tags": ["team:a"]}))["tags"] == ["team:a"]


def test_delete_script(api: httpx.Client) -> None:
    """DELETE removes the script, answering an envelope with result null."""
    result(put_script(api, "app"))
    response = api.delete("/workers/scripts/app", params={"force": "true"})
    assert response.status_code == 200
    assert result(response) is None
    assert errors(api.get("/workers/scripts/app/settings"))[0][0] == 10007


def test_delete_keeps_d1_databases(api: httpx.Client) -> None:
    """Deleting a script does not delete the D1 database it was bound to."""
    uuid = create_database(api, "keepme")
    result(put_script(api, "app", {"main_module": "index.js", "bindings": [{"type": "d1", "name": "DB", "id": uuid}]}))
    result(api.delete("/workers/scripts/app"))
    assert result(api.get(f"/d1/database/{uuid}"))["name"] == "keepme"


def test_delete_then_recreate_starts_clean(api: httpx.Client) -> None:
    """A re-created script has no secrets or toggles from its previous life."""
    result(put_script(api, "app"))
    result(api.put("/workers/scripts/app/secrets", json={"name": "S", "text": "v", "type": "secret_text"}))
    result(api.post("/workers/scripts/app/subdomain", json={"enabled": True}))
    result(api.delete("/workers/scripts/app"))
    result(put_script(api, "app"))
    assert result(api.get("/workers/scripts/app/secrets")) == []
    assert result(api.get("/workers/scripts/app/subdomain")) == {"enabled": False, "previews_enabled": False}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/workers/scripts/ghost"),
        ("DELETE", "/workers/scripts/ghost"),
        ("GET", "/workers/scripts/ghost/settings"),
        ("GET", "/workers/scripts/ghost/bindings"),
        ("GET", "/workers/scripts/ghost/script-settings"),
        ("GET", "/workers/scripts/ghost/subdomain"),
        ("GET", "/workers/scripts/ghost/secrets"),
        ("GET", "/workers/scripts/ghost/deployments"),
        ("GET", "/workers/scripts/ghost/versions"),
    ],
)
def test_unknown_script_is_10007(api: httpx.Client, method: str, path: str) -> None:
    """Per-script endpoints answer 404 code 10007 for a script that does not exist."""
    response = api.request(method, path)
    assert response.status_code == 404
    assert errors(response) == [(10007, "workers.api.error.script_not_found")]


def test_service_worker_format(api: httpx.Client) -> None:
    """A body_part upload is a service Worker: no modules, raw script text on GET."""
    code = b"addEventListener('fetch', (event) => event.respondWith(new Response('sw')));"
    modules = {"worker.js": (code, "application/javascript")}
    script = result(put_script(api, "sw", {"body_part": "worker.js"}, modules=modules))
    assert script["has_modules"] is False
    assert script["handlers"] == ["fetch"]
    response = api.get("/workers/scripts/sw")
    assert response.content == code
    assert response.headers["content-type"].startswith("application/javascript")
