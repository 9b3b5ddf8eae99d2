"""Fault injection: make chosen API calls fail the way Cloudflare's do, per test (HTTP) or per run (CLI).

A rule names calls by method and path (a glob over the path after `/client/v4/accounts/{id}`, e.g.
`/workers/scripts/*`, or `*` for every call) and says which of them fail and how:

    {"method": "PUT", "path": "/workers/scripts/*", "fault": "502", "nth": 1, "times": 1}

`nth` is the first matching call that fails (1 = the first after the rule was added) and `times` how many in a
row then fail (-1: every one from then on). With `"after": true` the call is carried out first and only its
answer is lost (the change happened; the client cannot know), which is what a timeout at the edge does.

| fault   | what the client sees                                                                                    |
|---------|----------------------------------------------------------------------------------------------------------|
| `429`   | HTTP 429, code 971 "Please wait and consider throttling your request speed", `Retry-After: retry_after` |
| `500`   | HTTP 500, code 10013 "An unknown error has occurred" (the API's own envelope)                           |
| `502`   | HTTP 502 with an HTML page (the edge answers, the API did not: no JSON envelope)                        |
| `524`   | HTTP 524 with an HTML page ("A timeout occurred"; the edge gave up waiting for the origin)              |
| `reset` | the connection is closed after the status line: the body never arrives                                 |
| `hang`  | no answer for `seconds` (default 300), then the edge's 524 page; the call is never carried out         |

One more fault is about tokens, not calls: `{"fault": "expire-tokens", "times": N}` issues the next N asset upload
tokens (session or completion JWTs) already expired, as if the upload had taken longer than their hour.

GUESS: the codes and texts of the 429 and 500 envelopes follow what Cloudflare's API is commonly seen to answer
(971 for rate limiting, 10013 for an internal error); 502/524 are the edge's HTML error pages, whose exact markup
does not matter to a client (it is not JSON).

Endpoints (not logged, no auth): `POST /__emulator/faults` adds a rule and returns it with its `id`;
`GET /__emulator/faults` lists the rules with how many calls each matched (`seen`) and failed (`fired`);
`DELETE /__emulator/faults` removes them all. `python -m cfemu serve --fault '<rule as JSON>'` (repeatable) adds
rules at start. Faults apply to `/client/v4` calls only, never to workers.dev traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cfemu.requestlog import API_PREFIX

__all__ = ["FAULTS", "FAULTS_PATH", "FaultInjector", "FaultRule", "Faults", "add_fault_arguments", "faults_endpoint"]

FAULTS_PATH = "/__emulator/faults"
FAULTS = ("429", "500", "502", "524", "reset", "hang", "expire-tokens")
_ACCOUNT_PATH = f"{API_PREFIX}/accounts/"
_EDGE_PAGE = "<!DOCTYPE html><html><head><title>{status} | {title}</title></head><body><h1>{title}</h1></body></html>"


@dataclass
class FaultRule:
    """One rule; `seen` and `fired` count the calls it matched and failed."""

    fault: str
    method: str = "*"
    path: str = "*"
    nth: int = 1
    times: int = 1
    after: bool = False
    retry_after: int = 1
    seconds: float = 300.0
    id: int = 0
    seen: int = 0
    fired: int = 0

    @classmethod
    def from_json(cls, data: Any) -> FaultRule:
        if not isinstance(data, dict) or data.get("fault") not in FAULTS:
            msg = f"a fault rule needs `fault`, one of {', '.join(FAULTS)}"
            raise ValueError(msg)
        known = {"fault", "method", "path", "nth", "times", "after", "retry_after", "seconds"}
        unknown = set(data) - known
        if unknown:
            msg = f"unknown fault rule keys: {', '.join(sorted(unknown))}"
            raise ValueError(msg)
        rule = cls(**data)
        if rule.nth < 1 or rule.times == 0 or rule.times < -1:
            msg = "nth must be at least 1 and times positive or -1 (every call)"
            raise ValueError(msg)
        return rule

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method)) and fnmatch.fnmatchcase(path, self.path)

    def take(self) -> bool:
        """Count one matching call; True when this one fails."""
        self.seen += 1
        due = self.seen >= self.nth and (self.times == -1 or self.fired < self.times)
        if due:
            self.fired += 1
        return due


@dataclass
class Faults:
    """The rules in force, in the order they were added."""

    rules: list[FaultRule] = field(default_factory=list)
    next_id: int = 1

    def add(self, rule: FaultRule) -> FaultRule:
        rule.id = self.next_id
        self.next_id += 1
        self.rules.append(rule)
        return rule

    def due(self, method: str, path: str) -> FaultRule | None:
        """The rule that fails this call, if any (every matching rule counts the call)."""
        firing = None
        for rule in self.rules:
            if rule.fault != "expire-tokens" and rule.matches(method, path) and rule.take() and firing is None:
                firing = rule
        return firing


def _relative_path(scope: Scope) -> str | None:
    """The path after `/client/v4/accounts/{id}` (or after `/client/v4`), None outside the API."""
    path = str(scope.get("path", ""))
    if not path.startswith(API_PREFIX + "/"):
        return None
    if path.startswith(_ACCOUNT_PATH):
        rest = path[len(_ACCOUNT_PATH) :]
        return "/" + rest.partition("/")[2]
    return path[len(API_PREFIX) :]


def _envelope(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}
    return JSONResponse(body, status_code=status, headers=headers)


def _edge_page(status: int, title: str) -> Response:
    page = _EDGE_PAGE.format(status=status, title=title)
    return Response(page, status_code=status, media_type="text/html")


class FaultInjector:
    """ASGI middleware that answers a call with its fault instead of (or, `after`, in place of) the real answer."""

    def __init__(self, app: ASGIApp, *, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = _relative_path(scope) if scope["type"] == "http" else None
        rule = self.faults.due(str(scope.get("method", "")), path) if path is not None else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.fault == "hang":
            await asyncio.sleep(rule.seconds)
            await _edge_page(524, "A timeout occurred")(scope, receive, send)
            return
        if rule.after:
            await self.app(scope, receive, _swallow)
        await self._fail(rule, scope, receive, send)

    async def _fail(self, rule: FaultRule, scope: Scope, receive: Receive, send: Send) -> None:
        if rule.fault == "reset":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
            raise ConnectionResetError("cfemu fault: connection reset")  # the server drops the connection
        responses = {
            "429": lambda: _envelope(
                429,
                971,
                "Please wait and consider throttling your request speed",
                {"Retry-After": str(rule.retry_after)},
            ),
            "500": lambda: _envelope(500, 10013, "An unknown error has occurred"),
            "502": lambda: _edge_page(502, "Bad gateway"),
            "524": lambda: _edge_page(524, "A timeout occurred"),
        }
        await responses[rule.fault]()(scope, receive, send)


async def _swallow(message: Message) -> None:
    """A `send` that drops the real answer (a fault `after` the call was carried out)."""
    return None


async def faults_endpoint(request: Request) -> Response:
    """`GET`/`POST`/`DELETE /__emulator/faults` (see the module docstring)."""
    faults: Faults = request.app.state.faults
    if request.method == "POST":
        try:
            rule = faults.add(FaultRule.from_json(await request.json()))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if rule.fault == "expire-tokens":
            request.app.state.ctx.expired_tokens_to_issue = rule.times if rule.times != -1 else 10**9
        return JSONResponse(asdict(rule), status_code=201)
    if request.method == "DELETE":
        faults.rules.clear()
        request.app.state.ctx.expired_tokens_to_issue = 0
    return JSONResponse([asdict(rule) for rule in faults.rules])


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        type=lambda text: FaultRule.from_json(json.loads(text)),
        metavar="JSON",
        help='a fault rule, e.g. \'{"method": "PUT", "path": "/workers/scripts/*", "fault": "502"}\' (repeatable)',
    )
