"""The request log at /__emulator/requests."""

from __future__ import annotations

import httpx

from cfemu.launcher import Emulator
from tests.emulator.helpers import put_script


def test_request_is_logged_with_all_fields(api: httpx.Client, emulator: Emulator) -> None:
    """A JSON request is logged with method, path, query, status, sizes, content type and parsed body."""
    response = api.post("/d1/database", params={"x": "1"}, json={"name": "logged"})
    entries = emulator.requests()
    assert len(entries) == 1
    entry = entries[0]
    assert entry["seq"] == 1
    assert entry["method"] == "POST"
    assert entry["path"] == f"/client/v4/accounts/{emulator.account_id}/d1/database"
    assert entry["query"] == "x=1"
    assert entry["status"] == 200
    assert entry["request_bytes"] == len(response.request.content)
    assert entry["response_bytes"] == len(response.content)
    assert entry["content_type"] == "application/json"
    assert entry["json"] == {"name": "logged"}


def test_non_json_body_has_null_json(api: httpx.Client, emulator: Emulator) -> None:
    """A multipart request is logged with json null."""
    put_script(api, "app")
    entry = emulator.requests()[-1]
    assert entry["content_type"].startswith("multipart/form-data")
    assert entry["json"] is None
    assert entry["request_bytes"] > 0


def test_multipart_bodies_are_described_with_secrets_redacted(api: httpx.Client, emulator: Emulator) -> None:
    """A script upload is logged with its parts and its metadata, secret values replaced by <redacted>."""
    metadata = {
        "main_module": "index.js",
        "keep_assets": True,
        "bindings": [
            {"type": "secret_text", "name": "PASSWORD", "text": "hunter2"},
            {"type": "plain_text", "name": "MODE", "text": "demo"},
        ],
    }
    put_script(api, "app", metadata)
    form = emulator.requests()[-1]["form"]
    assert [(p["name"], p["filename"], p["content_type"]) for p in form["parts"]] == [
        ("metadata", None, None),
        ("index.js", "index.js", "application/javascript+module"),
    ]
    assert form["metadata"]["keep_assets"] is True
    assert form["metadata"]["bindings"] == [
        {"type": "secret_text", "name": "PASSWORD", "text": "<redacted>"},
        {"type": "plain_text", "name": "MODE", "text": "demo"},
    ]
    assert "hunter2" not in str(emulator.requests())


def test_secret_values_sent_as_json_are_redacted(api: httpx.Client, emulator: Emulator) -> None:
    """A secret PUT or a bulk secret PATCH never shows its value in the log."""
    put_script(api, "app")
    api.put("/workers/scripts/app/secrets", json={"name": "TOKEN", "text": "TOPSECRETVALUE", "type": "secret_text"})
    api.patch(
        "/workers/scripts/app/secrets-bulk",
        content=b'{"secrets": {"OTHER": {"name": "OTHER", "text": "BULKSECRET", "type": "secret_text"}}}',
        headers={"content-type": "application/merge-patch+json"},
    )
    entries = emulator.requests()
    assert "TOPSECRETVALUE" not in str(entries)
    assert "BULKSECRET" not in str(entries)
    assert entries[1]["json"] == {"name": "TOKEN", "text": "<redacted>", "type": "secret_text"}


def test_rejected_requests_are_logged(emulator: Emulator) -> None:
    """Requests refused by authentication are logged with their status and body size."""
    httpx.post(f"{emulator.api_base_url}/accounts/{emulator.account_id}/d1/database", content=b"12345")
    entry = emulator.requests()[-1]
    assert entry["status"] == 400
    assert entry["request_bytes"] == 5


def test_since_filters_and_emulator_calls_are_not_logged(api: httpx.Client, emulator: Emulator) -> None:
    """`since` returns only newer entries; /__emulator calls never appear."""
    api.get("/workers/scripts")
    seq = emulator.last_seq()
    httpx.get(f"{emulator.root_url}/__emulator/health")
    api.get("/d1/database")
    newer = emulator.requests(since=seq)
    assert [entry["path"].rsplit("/", 1)[-1] for entry in newer] == ["database"]
    assert all("/__emulator" not in entry["path"] for entry in emulator.requests())
