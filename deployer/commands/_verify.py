"""Checking the live app after a deploy: it must answer, and a password-gated app must behave like one.

1. **Reach it.** `GET /` is repeated while the URL does not resolve or connect yet (a brand-new workers.dev
   subdomain takes up to a minute to appear in DNS), for `patience` seconds.
2. **Not a server error.** A 5xx is tried `SERVER_ERROR_TRIES` times a second apart, then fails at once with
   the status and the start of the body (a Worker that throws does not get better by waiting).
3. **The checks.** Any app: `/` answers below 500. A password-gated app (one with an `APP_PASSWORD` secret, as
   the seed's template) gets the seed's logged-out checks instead: `/` redirects to the login page,
   `/login.html` answers 200 without a session, `/api/items` answers 401 with JSON.
4. **The app's own checks** (`checks:` in app.yml, `deployer.checks`), each once, after the default ones; one
   with `sign_in` first signs in with the app's password (`POST /login`, the seed's gate).

A `*.localhost` host (the local emulator's workers.dev addresses) is loopback by definition (RFC 6761), but not
every resolver knows it: such a request goes to 127.0.0.1 with the original `Host` header. Redirects are never
followed. A failure is a `VerifyError` that lists every check with what it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import httpx

from deployer.checks import AppCheck
from deployer.errors import VerifyError

__all__ = [
    "GATED_CHECKS",
    "SERVER_ERROR_TRIES",
    "Check",
    "CheckResult",
    "Verification",
    "describe_results",
    "target_of",
    "verify_app",
    "verify_url",
]

SERVER_ERROR_TRIES = 3
_BODY_EXCERPT = 200


@dataclass(frozen=True, slots=True)
class Check:
    """One request to the live app and what its answer must be."""

    name: str
    path: str
    accept: Callable[[httpx.Response], bool]


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    seen: str  # the status, and the redirect target or the start of the body


def _is_json_401(response: httpx.Response) -> bool:
    return response.status_code == 401 and response.headers.get("content-type", "").startswith("application/json")


ANSWERS = Check("the app answers (no 5xx)", "/", lambda r: r.status_code < 500)
GATED_CHECKS = (
    Check(
        "logged out, / redirects to the login page",
        "/",
        lambda r: r.is_redirect and "/login" in r.headers.get("location", ""),
    ),
    Check("/login.html answers without a session", "/login.html", lambda r: r.status_code == 200),
    Check("/api/items without a session is 401 JSON", "/api/items", _is_json_401),
)


async def verify_app(
    url: str,
    *,
    gated: bool,
    checks: Sequence[AppCheck] = (),
    password: str | None = None,
    patience: float = 60.0,
    http: httpx.AsyncClient | None = None,
) -> list[CheckResult]:
    """Reach `url`, then run the checks (see the module docstring); `VerifyError` (with `.results`) when any fails."""
    async with _client(http) as client:
        await _reach(client, url, patience=patience)
        results = [await _run(client, url, check) for check in (GATED_CHECKS if gated else (ANSWERS,))]
        results += [await _run_own(client, url, check, password) for check in checks]
    failed = [result for result in results if not result.ok]
    if failed:
        error = VerifyError(
            f"{url} was deployed, but {len(failed)} of {len(results)} checks of the live app failed:\n"
            + describe_results(results),
            hint="The deploy itself went through: fix the Worker (its logs: wrangler tail) and deploy again, or "
            "switch the checks off (--no-verify, input verify: false).",
        )
        error.results = tuple(results)
        raise error
    return results


@dataclass(frozen=True, slots=True)
class Verification:
    """What to check on a live app: the default checks (gated or not), its own, and the password they sign in
    with."""

    gated: bool
    checks: tuple[AppCheck, ...] = ()
    password: str | None = None

    async def run(self, url: str, *, patience: float = 60.0) -> list[CheckResult]:
        return await verify_app(url, gated=self.gated, checks=self.checks, password=self.password, patience=patience)


def describe_results(results: Sequence[CheckResult]) -> str:
    """One line per check: ok or FAIL, its name and what was seen."""
    return "\n".join(f"  {'ok ' if r.ok else 'FAIL'} {r.name}: {r.seen}" for r in results)


async def _run_own(client: httpx.AsyncClient, url: str, check: AppCheck, password: str | None) -> CheckResult:
    """One of the app's own checks (`deployer.checks`)."""
    headers: dict[str, str] = {}
    if check.sign_in:
        if not password:
            return CheckResult(check.name, False, "needs the app's password to sign in (app-password)")
        target, login_headers = target_of(url, "/login")
        try:
            answer = await client.post(target, headers=login_headers, data={"password": password})
        except httpx.HTTPError as exc:
            return CheckResult(check.name, False, f"signing in: {type(exc).__name__}")
        cookie = answer.headers.get("set-cookie", "").split(";", 1)[0].strip()
        if not answer.is_redirect or "error" in answer.headers.get("location", "") or not cookie:
            return CheckResult(check.name, False, f"signing in was refused: HTTP {answer.status_code}")
        headers["Cookie"] = cookie
    target, base = target_of(url, check.path)
    try:
        response = await client.request(check.method, target, headers={**base, **headers}, follow_redirects=False)
    except httpx.HTTPError as exc:
        return CheckResult(check.name, False, type(exc).__name__)
    location = response.headers.get("location")
    seen = f"HTTP {response.status_code}" + (f" → {location}" if location else f", {_excerpt(response, 60)}")
    ok = response.status_code == check.status and (check.contains is None or check.contains in response.text)
    return CheckResult(check.name, ok, seen)


async def verify_url(url: str, *, patience: float = 60.0, http: httpx.AsyncClient | None = None) -> int:
    """Reach `url` (see the module docstring); the status of the first answer below 500."""
    async with _client(http) as client:
        return (await _reach(client, url, patience=patience)).status_code


@contextlib.asynccontextmanager
async def _client(http: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    """`http` as given (the caller closes it), else a client of our own, closed afterwards."""
    if http is not None:
        yield http
        return
    async with httpx.AsyncClient(timeout=httpx.Timeout(10.0), trust_env=False) as client:
        yield client


def target_of(url: str, path: str) -> tuple[httpx.URL, dict[str, str]]:
    """Where to send a request for `path` of the app at `url`, and the headers (the `Host` of a `.localhost`)."""
    target = httpx.URL(url).join(path)
    headers = {"User-Agent": "cf-stateful-deployer (verify)"}
    if target.host == "localhost" or target.host.endswith(".localhost"):
        headers["Host"] = target.netloc.decode("ascii")
        target = target.copy_with(host="127.0.0.1")
    return target, headers


async def _reach(client: httpx.AsyncClient, url: str, *, patience: float) -> httpx.Response:
    target, headers = target_of(url, "/")
    deadline = time.monotonic() + patience
    pause = 0.25
    server_errors = 0
    while True:
        try:
            response = await client.get(target, headers=headers, follow_redirects=False)
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__} (the name does not resolve or nothing listens yet)"
        else:
            if response.status_code < 500:
                return response
            server_errors += 1
            if server_errors >= SERVER_ERROR_TRIES:
                raise VerifyError(
                    f"{url} answers HTTP {response.status_code} ({server_errors} tries): {_excerpt(response)}",
                    hint="The deploy itself went through, but the Worker fails: a 5xx means it throws or its "
                    "bindings are wrong. Check its logs (wrangler tail), fix it and deploy again.",
                )
            await asyncio.sleep(1.0)
            continue
        if time.monotonic() + pause > deadline:
            raise VerifyError(
                f"{url} did not answer within {patience:.0f} s (last: {last})",
                hint="The deploy itself went through. A brand-new workers.dev subdomain can take a minute to appear "
                "in DNS: run the job again, or switch the check off (--no-verify, input verify: false).",
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, 5.0)


async def _run(client: httpx.AsyncClient, url: str, check: Check) -> CheckResult:
    target, headers = target_of(url, check.path)
    try:
        response = await client.get(target, headers=headers, follow_redirects=False)
    except httpx.HTTPError as exc:
        return CheckResult(check.name, False, type(exc).__name__)
    location = response.headers.get("location")
    seen = f"HTTP {response.status_code}" + (f" → {location}" if location else f", {_excerpt(response, 60)}")
    return CheckResult(check.name, check.accept(response), seen)


def _excerpt(response: httpx.Response, length: int = _BODY_EXCERPT) -> str:
    text = " ".join(response.text.split())
    return (text[:length] + "…") if len(text) > length else (text or "(empty body)")
