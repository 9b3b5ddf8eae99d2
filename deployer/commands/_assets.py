"""Steps 3 and 4: open an asset upload session with the manifest of `public/`, and upload only the buckets of
files Cloudflare asks for, several at once. Uploaded files change nothing that is served until a Worker version
uses their completion token (step 5), so these steps run beside the database's (`deployer.commands.deploy`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from deployer._concurrency import gather
from deployer.cloudflare import CloudflareClient
from deployer.cloudflare.assets import UploadFile, open_upload_session, upload_bucket
from deployer.commands.plan import Prepared
from deployer.errors import CloudflareError, UploadTokenError
from deployer.manifest import AssetFile
from deployer.steps import Step

__all__ = ["BUCKET_CONCURRENCY", "Uploaded", "upload_assets"]

BUCKET_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class Uploaded:
    """Steps 3-4: the completion token for the Worker upload, and what was uploaded."""

    completion_jwt: str | None = None
    files: int = 0
    bytes: int = 0
    steps: tuple[Step, ...] = ()


async def upload_assets(
    client: CloudflareClient, prepared: Prepared, done: list[str], warn: Callable[[str], None]
) -> Uploaded:
    """Steps 3-4. An upload session whose token is refused mid-way (it lives an hour) is opened again, once:
    Cloudflare then asks only for the files it still lacks."""
    try:
        return await _assets_once(client, prepared, done)
    except UploadTokenError as exc:
        warn(f"Cloudflare refused the asset upload token ({exc.api_text}); opening a new upload session")
        return await _assets_once(client, prepared, done)


async def _assets_once(client: CloudflareClient, prepared: Prepared, done: list[str]) -> Uploaded:
    manifest = prepared.app.manifest
    if not prepared.plan.upload_assets or manifest is None:
        return Uploaded()
    side_by_side = prepared.plan.side_by_side
    session = await open_upload_session(client, prepared.plan.script, manifest.as_upload_manifest())
    by_hash = manifest.by_hash()
    wanted = [hash_ for bucket in session.buckets for hash_ in bucket]
    unknown = [hash_ for hash_ in wanted if hash_ not in by_hash]
    if unknown:
        raise CloudflareError(f"Cloudflare asked for {len(unknown)} file(s) that are not in the manifest")
    total_bytes = sum(by_hash[hash_].size for hash_ in wanted)
    Step.ASSET_SESSION.log(
        side_by_side,
        files=len(manifest.files),
        to_upload=len(wanted),
        buckets=len(session.buckets),
        bytes=total_bytes,
    )
    if not session.buckets:
        Step.ASSET_UPLOAD.log(side_by_side, files=0, reason="Cloudflare has every file")
        return Uploaded(session.jwt, steps=(Step.ASSET_SESSION,))
    completion = await _upload_buckets(
        client, session.jwt, session.buckets, by_hash, total=len(wanted), side_by_side=side_by_side
    )
    done.append(f"uploaded {len(wanted)} asset files (served only once a Worker version uses them)")
    return Uploaded(completion, len(wanted), total_bytes, (Step.ASSET_SESSION, Step.ASSET_UPLOAD))


async def _upload_buckets(
    client: CloudflareClient,
    jwt: str,
    buckets: tuple[tuple[str, ...], ...],
    by_hash: Mapping[str, AssetFile],
    *,
    total: int,
    side_by_side: bool,
) -> str:
    limiter = asyncio.Semaphore(BUCKET_CONCURRENCY)
    progress = {"files": 0, "bytes": 0}

    async def send(bucket: tuple[str, ...]) -> str | None:
        files = [UploadFile(hash=h, source=by_hash[h].source, content_type=by_hash[h].content_type) for h in bucket]
        async with limiter:
            token = await upload_bucket(client, jwt, files)
        progress["files"] += len(bucket)
        progress["bytes"] += sum(by_hash[h].size for h in bucket)
        Step.ASSET_UPLOAD.log(side_by_side, files=f"{progress['files']}/{total}", bytes=progress["bytes"])
        return token

    tokens = await gather(*(send(bucket) for bucket in buckets))
    completion = next((token for token in reversed(tokens) if token), None)
    if completion is None:
        raise CloudflareError(
            "Cloudflare accepted every asset bucket but sent no completion token",
            hint="Deploy again: files already uploaded are kept and will not be sent twice.",
        )
    return completion
