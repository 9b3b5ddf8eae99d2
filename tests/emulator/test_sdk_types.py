"""cfemu's answers parse with the official Python SDK's response types (PyPI `cloudflare`, pinned in pyproject.toml).

One deploy-shaped session against a running cfemu calls every endpoint the deployer calls
(`deployer/cloudflare/workers.py`, `d1.py`, `assets.py`), and each answer's `result` is validated (pydantic
validation, not `construct`) with the type the SDK's resource method parses it into. Then the keys cfemu sends
that the type does not declare are compared with `SENT_BEYOND_SDK`, where each one has its source: a key cfemu
starts sending without a reason fails here, and so does a declared key that moves.

Endpoints the SDK has no type for, so only the envelope is checked:
- `GET …/scripts/{name}/content/v2?version=` (the SDK returns the raw multipart body, `BinaryAPIResponse`);
- `DELETE …/scripts/{name}?force=true`, `DELETE …/d1/database/{id}` and `DELETE …/r2/buckets/{name}` (the SDK
  types the result as `object`);
- `GET …/storage/kv/namespaces/{id}/values/{key}` (raw bytes, `BinaryAPIResponse`; not called here: without a
  running Worker no value exists, see test_kv_r2_worker.py).

Without a running Worker the namespace holds no keys and the bucket no objects, so those two lists are validated
empty (their items are checked in test_kv_r2_worker.py).

The KV namespace and the R2 bucket of the session are bound to the Worker, so their bindings are read back through
the settings and versions the SDK's binding types validate.

Where the SDK's type cannot validate anything: cloudflare 5.9.0 types a version's `resources.bindings`
(`version_create_response.py`, `version_get_response.py`) as `ResourcesBindings`, an empty placeholder class that
pydantic cannot build a schema for. Those two answers are validated with the SDK's models whose
`resources.bindings` is the binding list the SDK gives the settings endpoint
(`script_and_version_setting_get_response.Binding`, the same `WorkersBindingKind*` shapes).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
from cloudflare.pagination import (
    CursorLimitPaginationResultInfo,
    CursorPaginationResultInfo,
    V4PagePaginationArrayResultInfo,
    V4PagePaginationResult,
)
from cloudflare.types.d1.d1 import D1
from cloudflare.types.d1.database.time_travel_get_bookmark_response import TimeTravelGetBookmarkResponse
from cloudflare.types.d1.database.time_travel_restore_response import TimeTravelRestoreResponse
from cloudflare.types.d1.database_list_response import DatabaseListResponse
from cloudflare.types.d1.query_result import QueryResult
from cloudflare.types.kv.namespace import Namespace
from cloudflare.types.kv.namespace_delete_response import NamespaceDeleteResponse
from cloudflare.types.kv.namespaces.key import Key
from cloudflare.types.r2.bucket import Bucket
from cloudflare.types.r2.bucket_list_response import BucketListResponse
from cloudflare.types.r2.buckets.object_delete_response import ObjectDeleteResponse
from cloudflare.types.r2.buckets.object_list_response import ObjectListResponse
from cloudflare.types.workers.assets.upload_create_response import UploadCreateResponse as BucketUploadResponse
from cloudflare.types.workers.script_list_response import ScriptListResponse
from cloudflare.types.workers.script_setting import ScriptSetting
from cloudflare.types.workers.script_update_response import ScriptUpdateResponse
from cloudflare.types.workers.scripts import version_create_response, version_get_response
from cloudflare.types.workers.scripts.assets.upload_create_response import UploadCreateResponse as SessionResponse
from cloudflare.types.workers.scripts.deployment import Deployment
from cloudflare.types.workers.scripts.deployment_list_response import DeploymentListResponse
from cloudflare.types.workers.scripts.schedule_get_response import ScheduleGetResponse
from cloudflare.types.workers.scripts.schedule_update_response import ScheduleUpdateResponse
from cloudflare.types.workers.scripts.script_and_version_setting_edit_response import (
    ScriptAndVersionSettingEditResponse,
)
from cloudflare.types.workers.scripts.script_and_version_setting_get_response import (
    Binding,
    ScriptAndVersionSettingGetResponse,
)
from cloudflare.types.workers.scripts.subdomain_create_response import SubdomainCreateResponse
from cloudflare.types.workers.scripts.subdomain_get_response import SubdomainGetResponse as ScriptSubdomain
from cloudflare.types.workers.scripts.version_list_response import VersionListResponse
from cloudflare.types.workers.subdomain_get_response import SubdomainGetResponse as AccountSubdomain

from cfemu.launcher import Emulator, running_emulator
from tests.emulator.helpers import account_client, asset_hash, script_form


class _CreatedVersionResources(version_create_response.Resources):
    bindings: list[Binding] | None = None  # type: ignore[assignment]  # the SDK's placeholder class, see above


class CreatedVersion(version_create_response.VersionCreateResponse):
    """`VersionCreateResponse` with a binding list pydantic can validate."""

    resources: _CreatedVersionResources


class _VersionResources(version_get_response.Resources):
    bindings: list[Binding] | None = None  # type: ignore[assignment]  # the SDK's placeholder class, see above


class VersionDetail(version_get_response.VersionGetResponse):
    """`VersionGetResponse` with a binding list pydantic can validate."""

    resources: _VersionResources


# Keys cfemu sends that the SDK's type lacks, by endpoint; `[]` stands for the items of a list.
_VERSION_EXTRAS = {
    # wrangler 4.86 reads `metadata.has_preview` from a version upload (`versions/upload.ts`); the SDK's
    # `Metadata.has_preview` is read from `hasPreview` only (its alias), so the snake_case key is extra to it.
    "metadata.has_preview",
    # `annotations` (workers/message, workers/tag, workers/triggered_by): wrangler's `ApiVersion`
    # (`versions-types.ts`), which `wrangler versions view` prints; the SDK's create and get types lack them.
    "annotations",
}
SENT_BEYOND_SDK: dict[str, frozenset[str]] = {
    # wrangler's `Database` (d1/types.ts) lists num_tables, file_size and read_replication for `d1 list`.
    "GET /d1/database": frozenset({"[].file_size", "[].num_tables", "[].read_replication"}),
    # wrangler 4.86 prints `deployment_id` of the script PUT as "Current Version ID" (deploy/deploy.ts).
    "PUT /workers/scripts/{name}": frozenset({"deployment_id"}),
    # GUESS: list items are described like the upload's script object (ScriptUpdateResponse has both keys).
    "GET /workers/scripts": frozenset({"[].entry_point", "[].startup_time_ms"}),
    "POST /workers/scripts/{name}/versions": frozenset(_VERSION_EXTRAS),
    # `startup_time_ms`: wrangler's `ApiVersion` (versions-types.ts); the SDK's get type lacks it.
    "GET /workers/scripts/{name}/versions/{id}": frozenset({*_VERSION_EXTRAS, "startup_time_ms"}),
    # The list items are whole versions (wrangler's `ApiVersion`); the SDK's list item has no resources.
    "GET /workers/scripts/{name}/versions": frozenset(
        {"items.[].resources", "items.[].startup_time_ms", *(f"items.[].{key}" for key in _VERSION_EXTRAS)}
    ),
}


@dataclass(frozen=True, slots=True)
class Case:
    """One endpoint: the type the SDK parses its `result` into."""

    call: str
    model: Any
    info_model: Any = None  # the type of `result_info`, for paged lists
    empty: bool = False  # the answer is `{}` or `[]` (an upload that does not complete the set, a deleted namespace)


CASES = [
    Case("GET /workers/subdomain", AccountSubdomain),
    Case("POST /d1/database", D1),
    Case("GET /d1/database", list[DatabaseListResponse], V4PagePaginationArrayResultInfo),
    Case("GET /d1/database/{id}", D1),
    Case("POST /d1/database/{id}/query", list[QueryResult]),
    Case("GET /d1/database/{id}/time_travel/bookmark", TimeTravelGetBookmarkResponse),
    Case("POST /d1/database/{id}/time_travel/restore", TimeTravelRestoreResponse),
    Case("POST /storage/kv/namespaces", Namespace),
    Case("GET /storage/kv/namespaces", list[Namespace], V4PagePaginationArrayResultInfo),
    Case("GET /storage/kv/namespaces/{id}", Namespace),
    Case("PUT /storage/kv/namespaces/{id}", Namespace),
    Case("GET /storage/kv/namespaces/{id}/keys", list[Key], CursorLimitPaginationResultInfo, empty=True),
    Case("DELETE /storage/kv/namespaces/{id}", NamespaceDeleteResponse, empty=True),
    Case("POST /r2/buckets", Bucket),
    Case("GET /r2/buckets", BucketListResponse),
    Case("GET /r2/buckets/{name}", Bucket),
    Case("GET /r2/buckets/{name}/objects", list[ObjectListResponse], CursorPaginationResultInfo, empty=True),
    Case("DELETE /r2/buckets/{name}/objects/{key}", ObjectDeleteResponse),
    Case("POST /workers/scripts/{name}/assets-upload-session", SessionResponse),
    Case("POST /workers/assets/upload (a bucket before the last)", BucketUploadResponse, empty=True),
    Case("POST /workers/assets/upload (the last bucket)", BucketUploadResponse),
    Case("PUT /workers/scripts/{name}", ScriptUpdateResponse),
    Case("GET /workers/scripts/{name}/settings", ScriptAndVersionSettingGetResponse),
    Case("GET /workers/scripts", list[ScriptListResponse]),
    Case("PATCH /workers/scripts/{name}/script-settings", ScriptSetting),
    Case("GET /workers/scripts/{name}/subdomain", ScriptSubdomain),
    Case("POST /workers/scripts/{name}/subdomain", SubdomainCreateResponse),
    Case("PUT /workers/scripts/{name}/schedules", ScheduleUpdateResponse),
    Case("GET /workers/scripts/{name}/schedules", ScheduleGetResponse),
    Case("PATCH /workers/scripts/{name}/settings", ScriptAndVersionSettingEditResponse),
    Case("POST /workers/scripts/{name}/versions", CreatedVersion),
    Case("GET /workers/scripts/{name}/versions/{id}", VersionDetail),
    Case("POST /workers/scripts/{name}/deployments", Deployment),
    Case("GET /workers/scripts/{name}/versions", V4PagePaginationResult[VersionListResponse]),
    Case("GET /workers/scripts/{name}/deployments", DeploymentListResponse),
]

FILES = {"/index.html": (b"<h1>Items</h1>", "text/html"), "/app.js": (b"console.log(1);", "application/javascript")}
WORKER = b"export default { fetch() { return new Response('ok'); } };\n"


def _envelope(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert body["success"] is True, body
    return body


def _upload_buckets(emulator: Emulator, session: dict[str, Any], answers: dict[str, Any]) -> str:
    """Upload one file per bucket request, recording a bucket answer before the last and the last one."""
    by_hash = {asset_hash(data, path): (data, mime) for path, (data, mime) in FILES.items()}
    hashes = [asset_hash_ for bucket in session["buckets"] for asset_hash_ in bucket]
    assert len(hashes) == 2, "one request before the last, and the last"
    for index, wanted in enumerate(hashes):
        data, mime = by_hash[wanted]
        response = httpx.post(
            f"{emulator.api_base_url}/accounts/{emulator.account_id}/workers/assets/upload",
            params={"base64": "true"},
            files={wanted: (wanted, base64.b64encode(data), mime)},
            headers={"Authorization": f"Bearer {session['jwt']}"},
        )
        last = index == len(hashes) - 1
        answers[f"POST /workers/assets/upload ({'the last bucket' if last else 'a bucket before the last'})"] = (
            _envelope(response)
        )
    return str(answers["POST /workers/assets/upload (the last bucket)"]["result"]["jwt"])


def _database_calls(api: httpx.Client, answers: dict[str, Any]) -> str:
    """The D1 calls of a deploy (find or create, query, bookmark, restore); returns the database id."""
    answers["POST /d1/database"] = _envelope(api.post("/d1/database", json={"name": "items-db"}))
    database_id = str(answers["POST /d1/database"]["result"]["uuid"])
    listed = api.get("/d1/database", params={"name": "items-db", "page": 1, "per_page": 100})
    answers["GET /d1/database"] = _envelope(listed)
    answers["GET /d1/database/{id}"] = _envelope(api.get(f"/d1/database/{database_id}"))
    base = f"/d1/database/{database_id}"
    sql = {"sql": "CREATE TABLE items (name TEXT); INSERT INTO items VALUES (?); SELECT * FROM items", "params": ["a"]}
    answers["POST /d1/database/{id}/query"] = _envelope(api.post(base + "/query", json=sql))
    bookmark = _envelope(api.get(base + "/time_travel/bookmark"))
    answers["GET /d1/database/{id}/time_travel/bookmark"] = bookmark
    restore = api.post(base + "/time_travel/restore", params={"bookmark": bookmark["result"]["bookmark"]})
    answers["POST /d1/database/{id}/time_travel/restore"] = _envelope(restore)
    return database_id


def _storage_calls(api: httpx.Client, answers: dict[str, Any]) -> str:
    """The KV namespace and R2 bucket calls of a deploy (find or create, read, rename); returns the namespace id."""
    answers["POST /storage/kv/namespaces"] = _envelope(api.post("/storage/kv/namespaces", json={"title": "items-kv"}))
    namespace_id = str(answers["POST /storage/kv/namespaces"]["result"]["id"])
    listed = api.get("/storage/kv/namespaces", params={"page": 1, "per_page": 100, "order": "title"})
    answers["GET /storage/kv/namespaces"] = _envelope(listed)
    base = f"/storage/kv/namespaces/{namespace_id}"
    answers["GET /storage/kv/namespaces/{id}"] = _envelope(api.get(base))
    answers["PUT /storage/kv/namespaces/{id}"] = _envelope(api.put(base, json={"title": "items-cache"}))
    answers["GET /storage/kv/namespaces/{id}/keys"] = _envelope(api.get(base + "/keys", params={"prefix": "a"}))
    bucket = {"name": "items-files", "locationHint": "weur", "storageClass": "Standard"}
    answers["POST /r2/buckets"] = _envelope(api.post("/r2/buckets", json=bucket))
    answers["GET /r2/buckets"] = _envelope(api.get("/r2/buckets", params={"name_contains": "items", "per_page": 10}))
    answers["GET /r2/buckets/{name}"] = _envelope(api.get("/r2/buckets/items-files"))
    objects = api.get("/r2/buckets/items-files/objects", params={"prefix": "uploads/", "per_page": 100})
    answers["GET /r2/buckets/{name}/objects"] = _envelope(objects)
    deleted = api.delete("/r2/buckets/items-files/objects/uploads/old.txt")
    answers["DELETE /r2/buckets/{name}/objects/{key}"] = _envelope(deleted)
    return namespace_id


def _worker_calls(
    emulator: Emulator, api: httpx.Client, database_id: str, namespace_id: str, answers: dict[str, Any]
) -> None:
    """The Worker calls of a deploy, a rotation and a rollback, in the order the deployer makes them."""
    manifest = {path: {"hash": asset_hash(data, path), "size": len(data)} for path, (data, _) in FILES.items()}
    session = _envelope(api.post("/workers/scripts/items/assets-upload-session", json={"manifest": manifest}))
    answers["POST /workers/scripts/{name}/assets-upload-session"] = session
    completion = _upload_buckets(emulator, session["result"], answers)
    bindings = [
        {"type": "d1", "name": "DB", "id": database_id},
        {"type": "secret_text", "name": "SESSION_SECRET", "text": "sdk-types-secret"},
        {"type": "plain_text", "name": "MODE", "text": "live"},
        {"type": "assets", "name": "ASSETS"},
        {"type": "kv_namespace", "name": "CACHE", "namespace_id": namespace_id},
        {"type": "r2_bucket", "name": "FILES", "bucket_name": "items-files"},
    ]
    metadata = {
        "main_module": "worker.js",
        "compatibility_date": "2025-01-01",
        "bindings": bindings,
        "keep_bindings": ["secret_text", "secret_key"],
        "assets": {"jwt": completion, "config": {"html_handling": "none", "not_found_handling": "none"}},
    }
    modules = {"worker.js": (WORKER, "application/javascript+module")}
    put = api.put("/workers/scripts/items", files=script_form(metadata, modules), params={"excludeScript": "true"})
    answers["PUT /workers/scripts/{name}"] = _envelope(put)
    answers["GET /workers/scripts/{name}/settings"] = _envelope(api.get("/workers/scripts/items/settings"))
    answers["GET /workers/scripts"] = _envelope(api.get("/workers/scripts"))
    tags = api.patch("/workers/scripts/items/script-settings", json={"tags": ["cf-deployer:state=1"]})
    answers["PATCH /workers/scripts/{name}/script-settings"] = _envelope(tags)
    answers["GET /workers/scripts/{name}/subdomain"] = _envelope(api.get("/workers/scripts/items/subdomain"))
    enable = api.post("/workers/scripts/items/subdomain", json={"enabled": True, "previews_enabled": True})
    answers["POST /workers/scripts/{name}/subdomain"] = _envelope(enable)
    crons = [{"cron": "*/5 * * * *"}, {"cron": "0 17 * * sun"}]
    answers["PUT /workers/scripts/{name}/schedules"] = _envelope(
        api.put("/workers/scripts/items/schedules", json=crons)
    )
    answers["GET /workers/scripts/{name}/schedules"] = _envelope(api.get("/workers/scripts/items/schedules"))
    rotated = [
        {"type": "inherit", "name": "DB"},
        {"type": "inherit", "name": "ASSETS"},
        {"type": "inherit", "name": "MODE"},
        {"type": "inherit", "name": "CACHE"},
        {"type": "inherit", "name": "FILES"},
        {"type": "secret_text", "name": "SESSION_SECRET", "text": "sdk-types-rotated"},
    ]
    settings = {"settings": (None, json.dumps({"bindings": rotated}), "application/json")}
    answers["PATCH /workers/scripts/{name}/settings"] = _envelope(
        api.patch("/workers/scripts/items/settings", files=settings)
    )
    version_metadata = {
        "main_module": "worker.js",
        "bindings": [
            {"type": "inherit", "name": name} for name in ("DB", "ASSETS", "MODE", "CACHE", "FILES", "SESSION_SECRET")
        ],
        "keep_assets": True,
        "annotations": {"workers/message": "rotate SESSION_SECRET"},
    }
    params = {"bindings_inherit": "strict", "excludeScript": "true"}
    upload = api.post("/workers/scripts/items/versions", files=script_form(version_metadata, modules), params=params)
    answers["POST /workers/scripts/{name}/versions"] = _envelope(upload)
    version_id = upload.json()["result"]["id"]
    detail = api.get(f"/workers/scripts/items/versions/{version_id}")
    answers["GET /workers/scripts/{name}/versions/{id}"] = _envelope(detail)
    content = api.get("/workers/scripts/items/content/v2", params={"version": version_id})
    assert content.headers["content-type"].startswith("multipart/form-data")
    assert content.headers["cf-entrypoint"] == "worker.js"
    deployment = {
        "strategy": "percentage",
        "versions": [{"version_id": version_id, "percentage": 100}],
        "annotations": {"workers/message": "rotate SESSION_SECRET"},
    }
    answers["POST /workers/scripts/{name}/deployments"] = _envelope(
        api.post("/workers/scripts/items/deployments", json=deployment)
    )
    answers["GET /workers/scripts/{name}/versions"] = _envelope(api.get("/workers/scripts/items/versions"))
    answers["GET /workers/scripts/{name}/deployments"] = _envelope(api.get("/workers/scripts/items/deployments"))


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every answer of the session, by endpoint (the whole envelope)."""
    recorded: dict[str, Any] = {}
    with running_emulator(tmp_path_factory.mktemp("sdk-types") / "cfemu") as emulator, account_client(emulator) as api:
        recorded["GET /workers/subdomain"] = _envelope(api.get("/workers/subdomain"))
        database_id = _database_calls(api, recorded)
        namespace_id = _storage_calls(api, recorded)
        _worker_calls(emulator, api, database_id, namespace_id, recorded)
        # Teardown: the SDK types the results as `object` (see the module docstring), but the namespace's.
        _envelope(api.delete("/workers/scripts/items", params={"force": "true"}))
        _envelope(api.delete(f"/d1/database/{database_id}"))
        recorded["DELETE /storage/kv/namespaces/{id}"] = _envelope(api.delete(f"/storage/kv/namespaces/{namespace_id}"))
        _envelope(api.delete("/r2/buckets/items-files"))
        yield recorded


def beyond_model(value: object, prefix: str = "") -> set[str]:
    """The dotted paths of keys that went to `model_extra` (not declared by the type), in `value` and below."""
    found: set[str] = set()
    if isinstance(value, pydantic.BaseModel):
        found.update(prefix + key for key in value.model_extra or {})
        for name in value.model_fields_set:
            found |= beyond_model(getattr(value, name), f"{prefix}{name}.")
    elif isinstance(value, list):
        for item in value:
            found |= beyond_model(item, f"{prefix}[].")
    elif isinstance(value, dict):
        for item in value.values():
            found |= beyond_model(item, prefix)
    return found


def declared_fields_set(value: object) -> bool:
    """True when `value` (a model, or every model of a list) has at least one declared field set."""
    if isinstance(value, list):
        return bool(value) and all(declared_fields_set(item) for item in value)
    return isinstance(value, pydantic.BaseModel) and bool(value.model_fields_set)


def test_every_case_is_a_call_the_session_made(answers: dict[str, Any]) -> None:
    """The cases and the session cover the same calls, and SENT_BEYOND_SDK names only those calls."""
    assert {case.call for case in CASES} == set(answers)
    assert set(SENT_BEYOND_SDK) <= set(answers)


@pytest.mark.parametrize("case", CASES, ids=[case.call for case in CASES])
def test_the_result_validates_against_the_sdk_type(answers: dict[str, Any], case: Case) -> None:
    """The `result` validates; the keys the type does not declare are the documented ones."""
    envelope = answers[case.call]
    parsed = pydantic.TypeAdapter(case.model).validate_python(envelope["result"])
    assert beyond_model(parsed) == SENT_BEYOND_SDK.get(case.call, frozenset())
    if case.info_model is not None:
        info = pydantic.TypeAdapter(case.info_model).validate_python(envelope["result_info"])
        if isinstance(info, CursorLimitPaginationResultInfo | CursorPaginationResultInfo):
            assert (info.count, info.cursor or "") == (len(envelope["result"]), "")
        else:
            assert info.page == 1
    # A type whose fields are all optional takes any object: the answer must have filled some of them.
    assert declared_fields_set(parsed) == (not case.empty)


def test_a_broken_answer_is_caught(answers: dict[str, Any]) -> None:
    """The check can fail: an answer of the wrong shape is refused by the SDK's type."""
    settings = dict(answers["GET /workers/scripts/{name}/settings"]["result"])
    settings["bindings"] = [{"type": "d1", "name": "DB", "id": "no database_id"}]
    with pytest.raises(pydantic.ValidationError):
        ScriptAndVersionSettingGetResponse.model_validate(settings)
    with pytest.raises(pydantic.ValidationError):
        AccountSubdomain.model_validate({"name": "demo"})
    settings["bindings"] = [{"type": "kv_namespace", "name": "CACHE", "id": "no namespace_id"}]
    with pytest.raises(pydantic.ValidationError):
        ScriptAndVersionSettingGetResponse.model_validate(settings)
    with pytest.raises(pydantic.ValidationError):
        Namespace.model_validate({"id": answers["POST /storage/kv/namespaces"]["result"]["id"]})  # no title
    with pytest.raises(pydantic.ValidationError):
        Bucket.model_validate({**answers["POST /r2/buckets"]["result"], "location": "WEUR"})  # not the SDK's case


def test_the_deployer_calls_no_endpoint_left_out() -> None:
    """Every API path in deployer/cloudflare/{workers,d1,assets,kv,r2}.py is a case here or one of the untyped
    endpoints of the module docstring, so a new endpoint of the deployer is noticed."""
    root = Path(__file__).resolve().parents[2] / "deployer" / "cloudflare"
    modules = ("workers.py", "d1.py", "assets.py", "kv.py", "r2.py")
    text = "".join((root / name).read_text(encoding="utf-8") for name in modules)
    names = {"{script}": "{name}", "{database_id}": "{id}", "{version_id}": "{id}", "{namespace_id}": "{id}"}
    names |= {"{object_key}": "{key}"}
    called = set()
    for path in re.findall(r'account_path\}(/[^"]*)"', text):
        for old, new in names.items():
            path = path.replace(old, new)
        called.add(path)
    untyped = {"/workers/scripts/{name}/content/v2"}  # the DELETEs share their paths with typed calls
    covered = {case.call.split(" ")[1] for case in CASES} | untyped
    assert called <= covered
    assert len(called) == 24
