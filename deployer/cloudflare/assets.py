"""Static assets: the manifest-first upload session and the bucket uploads it asks for."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from deployer.cloudflare.client import CloudflareClient
from deployer.cloudflare.multipart import FormPart, encode_multipart

__all__ = ["UploadFile", "UploadSession", "open_upload_session", "upload_bucket"]


@dataclass(frozen=True, slots=True)
class UploadSession:
    """The session's JWT and the hashes Cloudflare lacks, grouped in buckets (one request each).

    With no buckets, the JWT is already the completion token (every file was known).
    """

    jwt: str
    buckets: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class UploadFile:
    """What a bucket upload needs of one asset: where to read it and how to type it."""

    hash: str
    source: Path
    content_type: str


async def open_upload_session(
    client: CloudflareClient, script: str, manifest: Mapping[str, Mapping[str, str | int]]
) -> UploadSession:
    response = await client.call(
        "POST",
        f"{client.account_path}/workers/scripts/{script}/assets-upload-session",
        json_body={"manifest": manifest},
    )
    buckets_seen = response.mapping().get("buckets") or []
    if not isinstance(buckets_seen, list) or not all(
        isinstance(bucket, list) and all(isinstance(h, str) for h in bucket) for bucket in buckets_seen
    ):
        raise response.unexpected("has `buckets` that are not lists of hashes")
    buckets = tuple(tuple(bucket) for bucket in buckets_seen if bucket)
    return UploadSession(jwt=str(response.require("jwt")), buckets=buckets)


async def upload_bucket(client: CloudflareClient, session_jwt: str, files: Sequence[UploadFile]) -> str | None:
    """Upload one bucket (base64 parts typed with each file's MIME type); the completion JWT, if it came.

    Cloudflare returns the completion token only with the upload that completes the set, so callers keep the
    last non-empty one and must not rely on HTTP statuses.
    """
    body, content_type = await asyncio.to_thread(_encode_bucket, files)
    response = await client.call(
        "POST",
        f"{client.account_path}/workers/assets/upload",
        params={"base64": "true"},
        content=body,
        content_type=content_type,
        bearer=session_jwt,
    )
    jwt = response.mapping().get("jwt")
    return str(jwt) if jwt else None


def _encode_bucket(files: Sequence[UploadFile]) -> tuple[bytes, str]:
    """Read and base64-encode one bucket (in a worker thread, so other buckets keep uploading meanwhile)."""
    parts = [
        FormPart(
            file.hash, base64.b64encode(file.source.read_bytes()), content_type=file.content_type, filename=file.hash
        )
        for file in files
    ]
    return encode_multipart(parts)
