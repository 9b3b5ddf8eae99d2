"""The account's workers.dev subdomain.

- `GET /accounts/{a}/workers/subdomain` → `{"subdomain": name}`; without one, HTTP 404 code 10007
  "You do not have a workers.dev subdomain" (the seed's gotcha text; the reference confirms code 10007).
- `PUT /accounts/{a}/workers/subdomain` `{"subdomain": name}` registers or renames it, same result shape.
- `DELETE` removes it (TS SDK has it).
- `GET /accounts/{a}/workers/subdomains/{name}`: wrangler's availability check. It always *fails*: code
  10032 means the name is free, 10031 that it is taken (by this account, the only one emulated).

Names must match `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$` (wrangler's check).
The per-script toggle (`.../scripts/{name}/subdomain`) lives in `cfemu.settings`.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cfemu.context import get_context
from cfemu.envelope import ApiError, ok, read_json_object
from cfemu.store import Store

__all__ = ["SUBDOMAIN_RE", "account_subdomain", "routes", "set_account_subdomain"]

SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_META_KEY = "workers_subdomain"


def account_subdomain(store: Store) -> str | None:
    """The account's workers.dev subdomain, or None."""
    return store.get_meta(_META_KEY)


def set_account_subdomain(store: Store, name: str | None) -> None:
    """Register (or with None, remove) the account's workers.dev subdomain."""
    store.set_meta(_META_KEY, name)


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not SUBDOMAIN_RE.match(name):
        # GUESS: the real code for an invalid subdomain name is not in our sources; 10021 is the
        # Workers API's generic validation code.
        raise ApiError(400, 10021, f"Invalid workers.dev subdomain name: {name!r}")
    return name


async def get_subdomain(request: Request) -> Response:
    """`GET /accounts/{a}/workers/subdomain`."""
    name = account_subdomain(get_context(request).store)
    if name is None:
        # GUESS: HTTP 404; the code 10007 is from wrangler's sources, the text from the seed's gotcha.
        raise ApiError(404, 10007, "You do not have a workers.dev subdomain")
    return ok({"subdomain": name})


async def put_subdomain(request: Request) -> Response:
    """`PUT /accounts/{a}/workers/subdomain`."""
    ctx = get_context(request)
    body = await read_json_object(request)
    name = _check_name(body.get("subdomain"))
    set_account_subdomain(ctx.store, name)
    return ok({"subdomain": name})


async def delete_subdomain(request: Request) -> Response:
    """`DELETE /accounts/{a}/workers/subdomain`."""
    ctx = get_context(request)
    if account_subdomain(ctx.store) is None:
        raise ApiError(404, 10007, "You do not have a workers.dev subdomain")
    set_account_subdomain(ctx.store, None)
    return ok(None)


async def check_availability(request: Request) -> Response:
    """`GET /accounts/{a}/workers/subdomains/{name}`: always an error, 10032 = free, 10031 = taken."""
    ctx = get_context(request)
    name = _check_name(request.path_params["name"])
    if name == account_subdomain(ctx.store):
        # GUESS: HTTP statuses for these two answers are not documented; wrangler only reads the code.
        raise ApiError(409, 10031, "Subdomain is unavailable")
    raise ApiError(404, 10032, "Subdomain is available")


def routes() -> list[BaseRoute]:
    """Routes of this module (relative to /client/v4)."""
    return [
        Route("/accounts/{account_id}/workers/subdomain", get_subdomain, methods=["GET"]),
        Route("/accounts/{account_id}/workers/subdomain", put_subdomain, methods=["PUT"]),
        Route("/accounts/{account_id}/workers/subdomain", delete_subdomain, methods=["DELETE"]),
        Route("/accounts/{account_id}/workers/subdomains/{name}", check_availability, methods=["GET"]),
    ]
