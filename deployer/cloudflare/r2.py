"""R2: find a bucket by its name, create one, delete one.

Sources: Cloudflare's API (`GET /accounts/{a}/r2/buckets/{name}`, `POST /accounts/{a}/r2/buckets` with
`{name}`, `DELETE …/r2/buckets/{name}`) and wrangler's `r2/helpers.ts` (`getR2Bucket`, `createR2Bucket`,
`deleteR2Bucket`). A bucket's name is its identity in the account: code 10006 says there is none of that name,
10004 (or 10073, "BucketConflict" in R2's error codes) that it exists already (a second deploy created it
meanwhile), 10008 that a bucket holding objects cannot be deleted: `empty_bucket` deletes them first, with
`GET …/r2/buckets/{name}/objects` and `DELETE …/objects/{key}` (the official SDK's `r2.buckets.objects`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from deployer.cloudflare.client import CloudflareClient
from deployer.errors import CloudflareAPIError

__all__ = [
    "BUCKET_NOT_EMPTY",
    "Emptied",
    "bucket_exists",
    "delete_bucket",
    "empty_bucket",
    "ensure_bucket",
    "unsafe_key",
]

_NO_SUCH_BUCKET = 10006
_ALREADY_EXISTS = frozenset({10004, 10073})
_PAGE_SIZE = 1000
BUCKET_NOT_EMPTY = 10008


def _no_such_bucket(exc: CloudflareAPIError) -> bool:
    return exc.status == 404 or _NO_SUCH_BUCKET in exc.codes


async def bucket_exists(client: CloudflareClient, name: str) -> bool:
    try:
        await client.call("GET", f"{client.account_path}/r2/buckets/{name}")
    except CloudflareAPIError as exc:
        if _no_such_bucket(exc):
            return False
        raise
    return True


async def ensure_bucket(client: CloudflareClient, name: str) -> bool:
    """Make sure the bucket `name` exists; True when this call created it."""
    if await bucket_exists(client, name):
        return False
    try:
        await client.call("POST", f"{client.account_path}/r2/buckets", json_body={"name": name})
    except CloudflareAPIError as exc:
        if _ALREADY_EXISTS & set(exc.codes):
            return False
        raise
    return True


async def delete_bucket(client: CloudflareClient, name: str) -> bool:
    """Delete the (empty) bucket `name`; False when it was already gone. A bucket that holds objects raises
    `CloudflareAPIError` with `BUCKET_NOT_EMPTY` among its codes."""
    try:
        await client.call("DELETE", f"{client.account_path}/r2/buckets/{name}")
    except CloudflareAPIError as exc:
        if _no_such_bucket(exc):
            return False
        raise
    return True


@dataclass(frozen=True, slots=True)
class Emptied:
    """What `empty_bucket` did: objects deleted, and keys it would not send (see `unsafe_key`)."""

    deleted: int
    refused: tuple[str, ...] = ()


def unsafe_key(key: str) -> bool:
    """A key with an empty, `.` or `..` segment: in a URL path it could name another resource (`../../workers/…`),
    and a Worker, which writes the keys, is not trusted to choose the paths of this deployer's API calls."""
    return any(segment in ("", ".", "..") for segment in key.split("/"))


async def empty_bucket(client: CloudflareClient, name: str, *, at_most: int) -> Emptied:
    """Delete the objects of the bucket `name`, up to `at_most` of them. The list is read again after each page,
    so it ends when the bucket is empty (but for refused keys) or `at_most` objects were deleted."""
    deleted = 0
    refused: list[str] = []
    while deleted < at_most:
        response = await client.call(
            "GET", f"{client.account_path}/r2/buckets/{name}/objects", params={"per_page": _PAGE_SIZE}
        )
        keys = [str(item["key"]) for item in response.items() if item.get("key")]
        safe = [key for key in keys if not unsafe_key(key)]
        refused += [key for key in keys if unsafe_key(key) and key not in refused]
        if not safe:
            break
        for key in safe[: at_most - deleted]:
            object_key = quote(key, safe="/")
            await client.call("DELETE", f"{client.account_path}/r2/buckets/{name}/objects/{object_key}")
            deleted += 1
    return Emptied(deleted, tuple(refused))
