"""D1: find a database by name, create one, run SQL."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from deployer.cloudflare.client import CloudflareClient

__all__ = ["Database", "create_database", "find_database", "query"]

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
    page = 1
    while True:
        response = await client.call(
            "GET",
            f"{client.account_path}/d1/database",
            params={"name": name, "page": page, "per_page": _PAGE_SIZE},
        )
        items = response.items()
        for item in items:
            if item.get("name") == name and item.get("uuid"):
                return Database(uuid=str(item["uuid"]), name=name)
        if not _more_pages(response.result_info or {}, page=page, returned=len(items)):
            return None
        page += 1


def _more_pages(info: Mapping[str, Any], *, page: int, returned: int) -> bool:
    """Whether a page after `page` exists: by `total_pages`, else `total_count`, else a full page came back."""
    if returned == 0:
        return False
    per_page = int(info.get("per_page") or _PAGE_SIZE)
    if info.get("total_pages") is not None:
        return page < int(info["total_pages"])
    if info.get("total_count") is not None:
        return page * per_page < int(info["total_count"])
    return returned >= per_page


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
