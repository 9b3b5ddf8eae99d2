"""Checking sessions on the live app: sign in with a password, and see what a session cookie reaches.

For the seed's password gate (`POST /login` with a form field `password`; a session cookie on success, a
redirect back to the login page otherwise; `/api/items` answers 401 without a valid session). `rotate` uses
these to show that a rotation did what it says: old sessions kept or ended, the new password working.

A change of secrets takes a moment to reach every Cloudflare location, so `expect` asks again, a second apart,
until the answer is the expected one or `patience` seconds have passed. Cookie values and passwords never
appear in what is returned (only statuses and the redirect target).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from deployer.commands._verify import CheckResult, target_of

__all__ = ["API_PATH", "SessionProbe", "expect"]

API_PATH = "/api/items"


@dataclass(frozen=True, slots=True)
class SessionProbe:
    """Requests to one live app with a client of the caller's."""

    url: str
    http: httpx.AsyncClient

    async def sign_in(self, password: str) -> tuple[str | None, str]:
        """POST the password to /login: the session cookie (`name=value`) when it was accepted, and what was
        seen (status and redirect target)."""
        target, headers = target_of(self.url, "/login")
        try:
            response = await self.http.post(target, headers=headers, data={"password": password})
        except httpx.HTTPError as exc:
            return None, type(exc).__name__
        seen = _seen(response)
        cookie = response.headers.get("set-cookie", "").split(";", 1)[0].strip()
        accepted = response.is_redirect and "error" not in response.headers.get("location", "")
        return (cookie if accepted and "=" in cookie and not cookie.endswith("=") else None), seen

    async def api_status(self, cookie: str) -> tuple[int, str]:
        """The status of `/api/items` with the session cookie `cookie`, and what was seen."""
        target, headers = target_of(self.url, API_PATH)
        try:
            response = await self.http.get(target, headers={**headers, "Cookie": cookie})
        except httpx.HTTPError as exc:
            return 0, type(exc).__name__
        return response.status_code, _seen(response)

    async def home(self, cookie: str) -> tuple[bool, str]:
        """Whether `/` with `cookie` sends the browser to the login page, and what was seen."""
        target, headers = target_of(self.url, "/")
        try:
            response = await self.http.get(target, headers={**headers, "Cookie": cookie})
        except httpx.HTTPError as exc:
            return False, type(exc).__name__
        return response.is_redirect and "/login" in response.headers.get("location", ""), _seen(response)


def _seen(response: httpx.Response) -> str:
    location = response.headers.get("location")
    return f"HTTP {response.status_code}" + (f" → {location}" if location else "")


async def expect(
    name: str, probe: Callable[[], Awaitable[tuple[bool, str]]], *, patience: float, pause: float = 1.0
) -> CheckResult:
    """Run `probe` until it reports success or `patience` seconds have passed; the last answer is the result."""
    deadline = time.monotonic() + patience
    while True:
        ok, seen = await probe()
        if ok or time.monotonic() + pause > deadline:
            return CheckResult(name, ok, seen)
        await asyncio.sleep(pause)
