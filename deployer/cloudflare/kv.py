"""Workers KV: find a namespace by its title, create one, delete one.

Sources: Cloudflare's API (`GET/POST /accounts/{a}/storage/kv/namespaces`, `GET/DELETE …/namespaces/{id}`; the
list pages with `page`/`per_page`, at most 100 per page) and wrangler's `kv/helpers.ts` (`listKVNamespaces`
reads every page; `createKVNamespace` posts `{title}` and reads `result.id`). A second namespace with the same
title is refused with code 10014 (wrangler's provisioning reads the list again after it); a namespace that is
not there answers HTTP 404 with code 10013 (which is also an internal error's code: only the 404 means "none").
"""

from __future__ import annotations

from dataclasses import dataclass

from deployer.cloudflare.client import CloudflareClient
from deployer.errors import CloudflareAPIError, CloudflareError

__all__ = [
    "Namespace",
    "create_namespace",
    "delete_namespace",
    "find_namespace",
    "find_or_create_namespace",
    "get_namespace",
]

_PAGE_SIZE = 100
_DUPLICATE_TITLE = 10014


@dataclass(frozen=True, slots=True)
class Namespace:
    id: str
    title: str


async def find_namespace(client: CloudflareClient, title: str) -> Namespace | None:
    """The namespace titled exactly `title`, or None (every page of the account's namespaces is read)."""
    async for item in client.paged_items(f"{client.account_path}/storage/kv/namespaces", page_size=_PAGE_SIZE):
        if item.get("title") == title and item.get("id"):
            return Namespace(id=str(item["id"]), title=title)
    return None


async def create_namespace(client: CloudflareClient, title: str) -> Namespace:
    response = await client.call("POST", f"{client.account_path}/storage/kv/namespaces", json_body={"title": title})
    return Namespace(id=str(response.require("id")), title=title)


async def find_or_create_namespace(client: CloudflareClient, title: str) -> tuple[Namespace, bool]:
    """The namespace titled `title`, created when there is none; `(namespace, created)`. Two deploys creating it
    at once: the one refused with 10014 finds the other's."""
    found = await find_namespace(client, title)
    if found is not None:
        return found, False
    try:
        return await create_namespace(client, title), True
    except CloudflareAPIError as exc:
        if _DUPLICATE_TITLE not in exc.codes:
            raise
    found = await find_namespace(client, title)
    if found is None:
        raise CloudflareError(
            f"Cloudflare refused the KV namespace {title!r} as a duplicate, but no namespace has that title",
            hint="Deploy again; if it persists, look for the namespace in the dashboard (Storage & Databases, KV).",
        )
    return found, False


async def get_namespace(client: CloudflareClient, namespace_id: str) -> Namespace | None:
    """The namespace with id `namespace_id`, or None when there is none."""
    try:
        response = await client.call("GET", f"{client.account_path}/storage/kv/namespaces/{namespace_id}")
    except CloudflareAPIError as exc:
        if exc.status == 404:
            return None
        raise
    return Namespace(id=namespace_id, title=str(response.mapping().get("title") or ""))


async def delete_namespace(client: CloudflareClient, namespace_id: str) -> bool:
    """Delete the namespace (its keys go with it); False when it was already gone."""
    try:
        await client.call("DELETE", f"{client.account_path}/storage/kv/namespaces/{namespace_id}")
    except CloudflareAPIError as exc:
        if exc.status == 404:
            return False
        raise
    return True
