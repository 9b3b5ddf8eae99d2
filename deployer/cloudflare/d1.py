"""D1: find a database by name or id, create one, run SQL, Time Travel bookmarks and restores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deployer.cloudflare.client import CloudflareClient
from deployer.errors import CloudflareAPIError

__all__ = [
    "Database",
    "Restored",
    "create_database",
    "current_bookmark",
    "delete_database",
    "find_database",
    "get_database",
    "query",
    "restore_bookmark",
]

_PAGE_SIZE = 100


@dataclass(frozen=True, slots=True)
class Database:
    uuid: str
    name: str


async def find_database(client: CloudflareClient, name: str) -> Database | None:
    """The database named exactly `name`, or None.

    The list's `?name=` is documented as "a database name to search for", not an exact match, so every page
    of matches is read and compared exactly.
    """
    path = f"{client.account_path}/d1/database"
    async for item in client.paged_items(path, page_size=_PAGE_SIZE, params={"name": name}):
        if item.get("name") == name and item.get("uuid"):
            return Database(uuid=str(item["uuid"]), name=name)
    return None


async def create_database(client: CloudflareClient, name: str) -> Database:
    response = await client.call("POST", f"{client.account_path}/d1/database", json_body={"name": name})
    return Database(uuid=str(response.require("uuid")), name=name)


async def query(
    client: CloudflareClient, database_id: str, sql: str, params: list[Any] | None = None
) -> list[dict[str, Any]]:
    """Run `sql` (one or more `;`-separated statements); one result entry per statement."""
    body: dict[str, Any] = {"sql": sql}
    if params:
        body["params"] = params
    response = await client.call("POST", f"{client.account_path}/d1/database/{database_id}/query", json_body=body)
    return response.items()


async def get_database(client: CloudflareClient, database_id: str) -> Database | None:
    """The database with uuid `database_id`, or None when it does not exist (HTTP 404, code 7404)."""
    try:
        response = await client.call("GET", f"{client.account_path}/d1/database/{database_id}")
    except CloudflareAPIError as exc:
        if exc.status == 404 or 7404 in exc.codes:
            return None
        raise
    return Database(uuid=str(response.require("uuid")), name=str(response.require("name")))


async def delete_database(client: CloudflareClient, database_id: str) -> bool:
    """Delete the database with uuid `database_id` (its rows go with it); False when it was already gone."""
    try:
        await client.call("DELETE", f"{client.account_path}/d1/database/{database_id}")
    except CloudflareAPIError as exc:
        if exc.status == 404 or 7404 in exc.codes:
            return False
        raise
    return True


async def current_bookmark(client: CloudflareClient, database_id: str) -> str:
    """D1 Time Travel: the bookmark of the database's contents now (`GET …/time_travel/bookmark`)."""
    response = await client.call("GET", f"{client.account_path}/d1/database/{database_id}/time_travel/bookmark")
    return str(response.require("bookmark"))


@dataclass(frozen=True, slots=True)
class Restored:
    """The answer to a restore: the bookmark now, and the one just before (which undoes the restore)."""

    bookmark: str
    previous_bookmark: str
    message: str


async def restore_bookmark(client: CloudflareClient, database_id: str, bookmark: str) -> Restored:
    """D1 Time Travel: make the database's contents what they were at `bookmark`."""
    response = await client.call(
        "POST",
        f"{client.account_path}/d1/database/{database_id}/time_travel/restore",
        params={"bookmark": bookmark},
    )
    return Restored(
        bookmark=str(response.require("bookmark")),
        previous_bookmark=str(response.mapping().get("previous_bookmark") or ""),
        message=str(response.mapping().get("message") or ""),
    )
