"""Asset upload sessions, bucket uploads and upload JWTs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
import time

import httpx

from cfemu.assets import MAX_BUCKET_FILES
from cfemu.launcher import Emulator
from tests.emulator.helpers import asset_hash, errors, put_script, result, upload_assets

HASH_A = "a" * 32
HASH_B = "b" * 32


def _session(api: httpx.Client, manifest: dict[str, dict[str, object]]) -> httpx.Response:
    return api.post("/workers/scripts/site/assets-upload-session", json={"manifest": manifest})


def _upload(emu: Emulator, jwt: str, parts: dict[str, tuple[str, bytes, str]], **params: str) -> httpx.Response:
    return httpx.post(
        f"{emu.api_base_url}/accounts/{emu.account_id}/workers/assets/upload",
        params=params or {"base64": "true"},
        files=parts,
        headers={"Authorization": f"Bearer {jwt}"},
    )


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def _claims(jwt: str) -> dict[str, object]:
    payload = jwt.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


def test_session_returns_missing_hashes_as_buckets(api: httpx.Client) -> None:
    """A new manifest's hashes come back in buckets with HTTP 201."""
    response = _session(api, {"/a.html": {"hash": HASH_A, "size": 3}, "/b.css": {"hash": HASH_B, "size": 4}})
    assert response.status_code == 201
    assert result(response)["buckets"] == [[HASH_A, HASH_B]]


def test_session_deduplicates_hashes(api: httpx.Client) -> None:
    """Two paths with the same hash need one upload."""
    session = result(_session(api, {"/a.html": {"hash": HASH_A, "size": 3}, "/copy.html": {"hash": HASH_A, "size": 3}}))
    assert session["buckets"] == [[HASH_A]]


def test_session_jwt_is_hs256_with_one_hour_expiry(api: httpx.Client) -> None:
    """The session JWT is HS256, expires in an hour and has no single-upload claims."""
    jwt = result(_session(api, {"/a.html": {"hash": HASH_A, "size": 3}}))["jwt"]
    header = json.loads(base64.urlsafe_b64decode(jwt.split(".")[0] + "=="))
    claims = _claims(jwt)
    assert header["alg"] == "HS256"
    assert claims["exp"] == claims["iat"] + 3600  # type: ignore[operator]
    assert "wrangler_single_asset_uploads" not in claims


def test_known_assets_give_empty_buckets_and_completion_token(api: httpx.Client, emulator: Emulator) -> None:
    """When every file is stored, buckets are empty and the jwt is already a completion token."""
    upload_assets(emulator, api, "site", {"/index.html": (b"<h1>x</h1>", "text/html")})
    manifest = {"/other-name.html": {"hash": asset_hash(b"<h1>x</h1>", "/index.html"), "size": 10}}
    session = result(_session(api, manifest))
    assert session["buckets"] == []
    metadata = {"main_module": "index.js", "assets": {"jwt": session["jwt"], "config": {}}}
    assert result(put_script(api, "site", metadata))["has_assets"] is True


def test_manifest_hash_must_be_32_hex(api: httpx.Client) -> None:
    """A hash that is not 32 hex characters is rejected."""
    response = _session(api, {"/a.html": {"hash": "xyz", "size": 3}})
    assert response.status_code == 400


def test_manifest_size_must_be_integer(api: httpx.Client) -> None:
    """A non-integer size is rejected."""
    assert _session(api, {"/a.html": {"hash": HASH_A, "size": "3"}}).status_code == 400


def test_buckets_split_by_file_count(api: httpx.Client) -> None:
    """More than MAX_BUCKET_FILES missing files make several buckets."""
    manifest = {f"/f{i}.txt": {"hash": f"{i:032x}", "size": 1} for i in range(MAX_BUCKET_FILES + 1)}
    buckets = result(_session(api, manifest))["buckets"]
    assert [len(bucket) for bucket in buckets] == [MAX_BUCKET_FILES, 1]


def test_buckets_split_by_size(api: httpx.Client) -> None:
    """Files that would pass 50 MiB together go to separate buckets."""
    size = 20 * 1024 * 1024
    manifest = {f"/big{i}.bin": {"hash": f"{i:032x}", "size": size} for i in range(3)}
    buckets = result(_session(api, manifest))["buckets"]
    assert [len(bucket) for bucket in buckets] == [2, 1]


def test_partial_upload_is_202_then_final_is_201_with_jwt(api: httpx.Client, emulator: Emulator) -> None:
    """Uploads answer 202 `{}` until the last bucket, which answers 201 with a completion token."""
    jwt = result(_session(api, {"/a.txt": {"hash": HASH_A, "size": 1}, "/b.txt": {"hash": HASH_B, "size": 1}}))["jwt"]
    first = _upload(emulator, jwt, {HASH_A: (HASH_A, _b64(b"a"), "text/plain")})
    assert first.status_code == 202
    assert result(first) == {}
    second = _upload(emulator, jwt, {HASH_B: (HASH_B, _b64(b"b"), "text/plain")})
    assert second.status_code == 201
    assert _claims(result(second)["jwt"])["typ"] == "asset-completion"


def test_upload_stores_bytes_and_content_type(api: httpx.Client, emulator: Emulator) -> None:
    """Uploaded bytes are stored per hash with the part's Content-Type; application/null means none."""
    jwt = result(_session(api, {"/a.html": {"hash": HASH_A, "size": 2}, "/b": {"hash": HASH_B, "size": 2}}))["jwt"]
    parts = {
        HASH_A: (HASH_A, _b64(b"<p"), "text/html; charset=utf-8"),
        HASH_B: (HASH_B, _b64(b"\x00\x01"), "application/null"),
    }
    assert _upload(emulator, jwt, parts).status_code == 201
    assert (emulator.data_dir / "assets" / HASH_B).read_bytes() == b"\x00\x01"
    conn = sqlite3.connect(emulator.data_dir / "cfemu.sqlite")
    try:
        types = dict(conn.execute("SELECT hash, content_type FROM assets").fetchall())
    finally:
        conn.close()
    assert types == {HASH_A: "text/html; charset=utf-8", HASH_B: None}


def test_upload_with_api_token_is_rejected(api: httpx.Client, emulator: Emulator) -> None:
    """The API token does not authorise an asset upload."""
    _session(api, {"/a.txt": {"hash": HASH_A, "size": 1}})
    response = _upload(emulator, emulator.api_token, {HASH_A: (HASH_A, _b64(b"a"), "text/plain")})
    assert response.status_code == 401
    assert errors(response)[0][0] == 10000


def test_upload_with_completion_token_is_rejected(api: httpx.Client, emulator: Emulator) -> None:
    """A completion token cannot be used to upload."""
    completion = upload_assets(emulator, api, "site", {"/a.txt": (b"a", "text/plain")})
    response = _upload(emulator, completion, {HASH_A: (HASH_A, _b64(b"a"), "text/plain")})
    assert response.status_code == 401


def test_upload_with_expired_token_is_rejected(api: httpx.Client, emulator: Emulator) -> None:
    """An expired (but correctly signed) session token is refused."""
    jwt = result(_session(api, {"/a.txt": {"hash": HASH_A, "size": 1}}))["jwt"]
    conn = sqlite3.connect(emulator.data_dir / "cfemu.sqlite")
    try:
        key = bytes.fromhex(conn.execute("SELECT value FROM meta WHERE key = 'jwt_key'").fetchone()[0])
    finally:
        conn.close()
    claims = {**_claims(jwt), "exp": int(time.time()) - 10}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    signing_input = f"{jwt.split('.')[0]}.{payload}"
    signature = base64.urlsafe_b64encode(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())
    expired = f"{signing_input}.{signature.rstrip(b'=').decode()}"
    response = _upload(emulator, expired, {HASH_A: (HASH_A, _b64(b"a"), "text/plain")})
    assert response.status_code == 401
    assert "expired" in errors(response)[0][1]


def test_upload_with_tampered_token_is_rejected(api: httpx.Client, emulator: Emulator) -> None:
    """A token with a broken signature is refused."""
    jwt = result(_session(api, {"/a.txt": {"hash": HASH_A, "size": 1}}))["jwt"]
    response = _upload(emulator, jwt[:-2] + "xx", {HASH_A: (HASH_A, _b64(b"a"), "text/plain")})
    assert response.status_code == 401


def test_upload_requires_base64_flag(api: httpx.Client, emulator: Emulator) -> None:
    """Without ?base64=true the upload is refused."""
    jwt = result(_session(api, {"/a.txt": {"hash": HASH_A, "size": 1}}))["jwt"]
    response = _upload(emulator, jwt, {HASH_A: (HASH_A, b"a", "text/plain")}, other="1")
    assert response.status_code == 400


def test_upload_rejects_bad_base64(api: httpx.Client, emulator: Emulator) -> None:
    """A part that is not base64 is a 400."""
    jwt = result(_session(api, {"/a.txt": {"hash": HASH_A, "size": 1}}))["jwt"]
    assert _upload(emulator, jwt, {HASH_A: (HASH_A, b"!!not base64!!", "text/plain")}).status_code == 400


def test_upload_rejects_hash_outside_session(api: httpx.Client, emulator: Emulator) -> None:
    """A part for a hash the session did not ask for is a 400."""
    jwt = result(_session(api, {"/a.txt": {"hash": HASH_A, "size": 1}}))["jwt"]
    assert _upload(emulator, jwt, {HASH_B: (HASH_B, _b64(b"b"), "text/plain")}).status_code == 400


def test_upload_rejects_non_multipart_body(api: httpx.Client, emulator: Emulator) -> None:
    """A JSON body is not form data."""
    jwt = result(_session(api, {"/a.txt": {"hash": HASH_A, "size": 1}}))["jwt"]
    response = httpx.post(
        f"{emulator.api_base_url}/accounts/{emulator.account_id}/workers/assets/upload?base64=true",
        json={HASH_A: "YQ=="},
        headers={"Authorization": f"Bearer {jwt}"},
    )
    assert errors(response) == [(10021, "Body can not be decoded as form data")]


def test_large_part_is_accepted(api: httpx.Client, emulator: Emulator) -> None:
    """A 20 MiB file (27 MiB of base64) uploads in one part."""
    data = bytes(range(256)) * (20 * 1024 * 4)
    jwt = result(_session(api, {"/big.bin": {"hash": HASH_A, "size": len(data)}}))["jwt"]
    response = _upload(emulator, jwt, {HASH_A: (HASH_A, _b64(data), "application/octet-stream")})
    assert response.status_code == 201
    assert (emulator.data_dir / "assets" / HASH_A).stat().st_size == len(data)
