"""A Worker deployed to cfemu (run in workerd) with a KV namespace and an R2 bucket: what it writes is kept across its
versions, shared with another Worker bound to the same namespace and bucket, kept across a restart of cfemu, read by
the API, and gone once the namespace and the bucket are deleted (see `cfemu.storage_files`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from cloudflare.types.kv.namespaces.key import Key
from cloudflare.types.r2.buckets.object_list_response import ObjectListResponse

from cfemu import storage_files
from cfemu.launcher import Emulator, running_emulator
from devkit.loopback import localhost_client
from tests.emulator.helpers import account_client, create_bucket, create_namespace, errors, put_script, result

WORKER = b"""
export default {
  async fetch(request, env) {
    const key = new URL(request.url).searchParams.get("key") ?? "greeting";
    if (request.method === "PUT") {
      const text = await request.text();
      await env.CACHE.put(key, text);
      await env.FILES.put(key, text);
      return new Response("stored");
    }
    if (request.method === "DELETE") {
      await env.FILES.delete(key);
      return new Response("deleted");
    }
    const object = await env.FILES.get(key);
    const listed = await env.FILES.list();
    return Response.json({
      version: env.VERSION,
      kv: await env.CACHE.get(key),
      keys: (await env.CACHE.list()).keys.map((k) => k.name),
      r2: object === null ? null : await object.text(),
      objects: listed.objects.map((o) => o.key),
    });
  },
};
"""


def _deploy(api: httpx.Client, script: str, namespace_id: str, version: str) -> None:
    """Upload `script` bound to the namespace and to the bucket `app-files`, on workers.dev."""
    bindings = [
        {"type": "kv_namespace", "name": "CACHE", "namespace_id": namespace_id},
        {"type": "r2_bucket", "name": "FILES", "bucket_name": "app-files"},
        {"type": "plain_text", "name": "VERSION", "text": version},
    ]
    metadata = {"main_module": "worker.js", "compatibility_date": "2025-01-01", "bindings": bindings}
    result(put_script(api, script, metadata, {"worker.js": (WORKER, "application/javascript+module")}))
    result(api.post(f"/workers/scripts/{script}/subdomain", json={"enabled": True}))


def _read(emulator: Emulator, script: str) -> dict[str, Any]:
    with localhost_client(emulator.workers_url(script)) as app:
        response = app.get("/")
    assert response.status_code == 200, response.text
    seen: dict[str, Any] = response.json()
    return seen


def _call(emulator: Emulator, script: str, method: str, text: str = "", key: str = "greeting") -> str:
    with localhost_client(emulator.workers_url(script)) as app:
        response = app.request(method, "/", params={"key": key}, content=text.encode())
    assert response.status_code == 200, response.text
    return response.text


def _files(data_dir: Path, namespace_id: str) -> list[Path]:
    """The namespace's and the bucket's files on disk: their SQLite files and their blob folders."""
    kv, r2 = storage_files.kv_persist_dir(data_dir), storage_files.r2_persist_dir(data_dir)
    return [
        storage_files.object_sqlite_path(kv, storage_files.KV_UNIQUE_KEY, namespace_id),
        kv / namespace_id / "blobs",
        storage_files.object_sqlite_path(r2, storage_files.R2_UNIQUE_KEY, "app-files"),
        r2 / "app-files" / "blobs",
    ]


def test_the_data_outlives_versions_and_restarts_and_is_shared(tmp_path: Path) -> None:
    data_dir = tmp_path / "cfemu"
    with running_emulator(data_dir, run_workers=True) as emulator, account_client(emulator) as api:
        namespace_id = create_namespace(api, "app-cache")
        create_bucket(api, "app-files")
        _deploy(api, "writer", namespace_id, "1")
        assert _call(emulator, "writer", "PUT", "hello") == "stored"
        written = {"version": "1", "kv": "hello", "keys": ["greeting"], "r2": "hello", "objects": ["greeting"]}
        assert _read(emulator, "writer") == written
        assert all(path.exists() for path in _files(data_dir, namespace_id))

        keys = api.get(f"/storage/kv/namespaces/{namespace_id}/keys").json()
        assert (keys["result"], keys["result_info"]) == ([{"name": "greeting"}], {"count": 1, "cursor": ""})
        assert Key.model_validate(keys["result"][0]).name == "greeting"  # the SDK's type of a key
        value = api.get(f"/storage/kv/namespaces/{namespace_id}/values/greeting")
        assert (value.status_code, value.content) == (200, b"hello")
        assert value.headers["content-type"] == "application/octet-stream"

        _deploy(api, "writer", namespace_id, "2")  # a new version of the Worker
        assert _read(emulator, "writer") == {**written, "version": "2"}
        _deploy(api, "reader", namespace_id, "reader")  # another Worker bound to the same namespace and bucket
        assert _read(emulator, "reader") == {**written, "version": "reader"}

    with running_emulator(data_dir, run_workers=True) as restarted:
        assert _read(restarted, "writer") == {**written, "version": "2"}
        assert _read(restarted, "reader") == {**written, "version": "reader"}


def test_deleting_the_namespace_and_the_bucket_deletes_their_data(emulator_with_workers: Emulator) -> None:
    emulator = emulator_with_workers
    with account_client(emulator) as api:
        namespace_id = create_namespace(api, "app-cache")
        create_bucket(api, "app-files")
        _deploy(api, "writer", namespace_id, "1")
        _call(emulator, "writer", "PUT", "hello")

        refused = api.delete("/r2/buckets/app-files")
        assert (refused.status_code, errors(refused)) == (
            409,
            [(10008, "The bucket you tried to delete is not empty.")],
        )
        assert result(api.get("/r2/buckets/app-files"))["name"] == "app-files"
        _call(emulator, "writer", "PUT", "second", key="docs/more")
        assert _call(emulator, "writer", "DELETE") == "deleted"  # the Worker deletes one object itself
        listed = api.get("/r2/buckets/app-files/objects").json()
        (only,) = listed["result"]
        assert (only["key"], only["size"], listed["result_info"]) == ("docs/more", 6, {"count": 1, "per_page": 1000})
        assert re.fullmatch(r"[0-9a-f]{32}", only["etag"])
        parsed = ObjectListResponse.model_validate(only)  # the SDK's type of a listed object, nothing beyond it
        assert (parsed.key, parsed.model_extra, parsed.last_modified is not None) == ("docs/more", {}, True)
        assert result(api.delete("/r2/buckets/app-files/objects/docs/more")) == {"key": "docs/more"}  # and the API
        assert _read(emulator, "writer")["objects"] == []
        assert list((storage_files.r2_persist_dir(emulator.data_dir) / "app-files" / "blobs").iterdir()) == []
        assert result(api.delete("/r2/buckets/app-files")) == {}

        assert result(api.delete(f"/storage/kv/namespaces/{namespace_id}")) == {}
        assert not any(path.exists() for path in _files(emulator.data_dir, namespace_id))
        # The Worker still runs with its bindings (Cloudflare keeps them too); what it held is gone.
        assert _read(emulator, "writer") == {"version": "1", "kv": None, "keys": [], "r2": None, "objects": []}

        fresh_id = create_namespace(api, "app-cache")
        assert fresh_id != namespace_id
        assert api.get(f"/storage/kv/namespaces/{fresh_id}/keys").json()["result"] == []
        create_bucket(api, "app-files")
        _deploy(api, "writer", fresh_id, "2")
        assert _read(emulator, "writer") == {"version": "2", "kv": None, "keys": [], "r2": None, "objects": []}
