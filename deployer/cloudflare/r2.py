"""R2: find a bucket by its name, create one, delete one.

Sources: Cloudflare's API (`GET /accounts/{a}/r2/buckets/{name}`, `POST /accounts/{a}/r2/buckets` with
`{name}`, `DELETE …/r2/buckets/{name}`) and wrangler's `r2/helpers.ts` (`getR2Bucket`, `createR2Bucket`,
`deleteR2Bucket`). A bucket's name is its identity in the account: code 10006 says there is none of that name,
10004 that it exists already (a second deploy created it meanwhile), 10008 that a bucket holding objects
cannot be deleted.
"""

from __future__ import annotations

from deployer.cloudflare.client import CloudflareClient
from deployer.errors import CloudflareAPIError

__all__ = ["BUCKET_NOT_EMPTY", "bucket_exists", "delete_bucket", "ensure_bucket"]

_NO_SUCH_BUCKET = 10006
_ALREADY_EXISTS = 10004
BUCKET_NOT_EMPTY = 10008


async def bucket_exists(client: CloudflareClient, name: str) -> bool:
    try:
        await client.call("GET", f"{client.account_path}/r2/buckets/{name}")
    except CloudflareAPIError as exc:
        if exc.status == 404 or _NO_SUCH_BUCKET in exc.codes:
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
        if _ALREADY_EXISTS in exc.codes:
            return False
        raise
    return True


async def delete_bucket(client: CloudflareClient, name: str) -> bool:
    """Delete the (empty) bucket `name`; False when it was already gone. A bucket that holds objects raises
    `CloudflareAPIError` with `BUCKET_NOT_EMPTY` among its codes."""
    try:
        await client.call("DELETE", f"{client.account_path}/r2/buckets/{name}")
    except CloudflareAPIError as exc:
        if exc.status == 404 or _NO_SUCH_BUCKET in exc.codes:
            return False
        raise
    return True
