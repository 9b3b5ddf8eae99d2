"""Checking sessions on the live app after a rotation: sign in with a password, see what a session cookie reaches.

For the seed's password gate (`POST /login` with a form field `password`; a session cookie on success, a
redirect back to the login page otherwise; `/api/items` answers 401 without a valid session). `rotate` uses
these to show that a rotation did what it says: old sessions kept or ended, the new password working.

A change of secrets takes a moment to reach every Cloudflare location, so `expect` asks again, a second apart,
until the answer is the expected one or `patience` seconds have passed. Cookie values and passwords never
appear in what is returned (only statuses and the redirect target).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import httpx

from deployer.commands._verify import CheckResult, target_of
from deployer.rotation import Rotation

__all__ = ["API_PATH", "SessionProbe", "expect", "rotation_checks"]

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


_PATIENCE = 30.0  # seconds for a rotation to show on the live app


async def rotation_checks(
    probe: SessionProbe,
    rotation: Rotation,
    values: Mapping[str, str],
    *,
    before: str | None,
    current: str | None,
    gated: bool,
    patience: float = _PATIENCE,
) -> list[CheckResult]:
    """What the live app must show after `rotation`: `before` is a session cookie from before it (None: none
    could be made), `current` the password the app had, `values` the new values."""
    if not gated:
        return [
            CheckResult("sessions and passwords: not checked (the Worker has no APP_PASSWORD)", True, "not checked")
        ]
    checks: list[CheckResult] = []
    if rotation.mode and before is not None:
        old_cookie = before

        async def old_session_works() -> tuple[bool, str]:
            status, seen = await probe.api_status(old_cookie)
            return status == 200, seen

        async def old_session_refused() -> tuple[bool, str]:
            return await probe.home(old_cookie)

        if rotation.keeps_previous_key:
            checks.append(
                await expect("a session from before the rotation still works", old_session_works, patience=patience)
            )
        else:
            name = "a session from before the rotation is sent to the login page"
            checks.append(await expect(name, old_session_refused, patience=patience))
    elif rotation.mode:
        checks.append(CheckResult("sessions from before: not checked (no app-password given)", True, "not checked"))
    rotated_password = "APP_PASSWORD" in rotation.names
    new_password = values["APP_PASSWORD"] if rotated_password else current
    if new_password:
        signing_in = new_password

        async def signs_in() -> tuple[bool, str]:
            cookie, seen = await probe.sign_in(signing_in)
            if cookie is None:
                return False, seen
            status, seen = await probe.api_status(cookie)
            return status == 200, seen

        what = "the new password signs in" if rotated_password else "a new sign-in works"
        checks.append(await expect(what, signs_in, patience=patience))
    if rotated_password:
        old = current if current and current != new_password else None

        async def refused() -> tuple[bool, str]:
            cookie, seen = await probe.sign_in(old or secrets.token_urlsafe(16))
            return cookie is None, seen

        what = "the old password is refused" if old else "a wrong password is refused (no current-app-password given)"
        checks.append(await expect(what, refused, patience=patience))
    return checks
