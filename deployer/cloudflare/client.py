"""The one Cloudflare API client: transport, the v4 envelope, error mapping and retries, in one place.

Every call goes through `CloudflareClient.call()`, which

- sends the request with `Authorization: Bearer <token>` (or the bearer given for the call, such as an asset
  upload JWT), over one shared `httpx.AsyncClient`;
- retries 429 (waiting for `Retry-After`, giving up when it asks for more than a minute), 5xx and network
  errors with exponential backoff and jitter (stamina), at most `attempts` times;
- unwraps the envelope `{"success", "errors", "messages", "result", "result_info"}`: `success: true` returns
  `result` whatever the HTTP status (as wrangler does); anything else raises a `CloudflareAPIError` subclass
  chosen by the error code, with a message that says what to do;
- logs one structured event per request (method, path, status, milliseconds) and never the token.

Transport exceptions from httpx are translated here and nowhere else.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import stamina
import structlog

from deployer.errors import (
    ApiErrorDetail,
    ApiValidationError,
    AuthenticationError,
    CloudflareAPIError,
    CloudflareError,
    DatabaseLimitError,
    NoWorkersSubdomainError,
    SecretsChangedError,
    SqlError,
    TransportError,
    UploadTokenError,
    VersionNotDeployedError,
)

__all__ = ["ApiResponse", "CloudflareClient", "none_if_missing"]

log = structlog.get_logger("deployer.cloudflare")
T = TypeVar("T")

_RETRY_AFTER_LIMIT = 60.0  # seconds; a longer wait fails the deploy instead of hanging the job
_TOKEN_SCOPES = "Account · Workers Scripts · Edit and Account · D1 · Edit"


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """A successful call: the envelope's `result` and `result_info`, and the HTTP status."""

    result: Any
    result_info: Mapping[str, Any] | None
    status: int
    method: str = ""
    path: str = ""
    headers: Mapping[str, str] | None = None  # only for a raw answer (`call(raw=True)`), whose `result` is bytes

    def require(self, key: str) -> Any:
        """`result[key]`; a `CloudflareError` (not a crash) when the answer lacks it."""
        value = self.mapping().get(key)
        if value is None:
            raise self.unexpected(f"has no `{key}`")
        return value

    def mapping(self) -> dict[str, Any]:
        """`result` as an object (`{}` when null); a `CloudflareError` naming the call when it is something else."""
        if self.result is None:
            return {}
        if not isinstance(self.result, dict):
            raise self.unexpected(f"is a {type(self.result).__name__} where an object was expected")
        return self.result

    def items(self) -> list[dict[str, Any]]:
        """`result` as a list of objects (`[]` when null); a `CloudflareError` naming the call otherwise."""
        if self.result is None:
            return []
        if not isinstance(self.result, list) or not all(isinstance(item, dict) for item in self.result):
            raise self.unexpected("is not a list of objects")
        return self.result

    def has_more_pages(self, *, page: int, returned: int, page_size: int) -> bool:
        """Whether a page after `page` (which held `returned` items) exists: by `result_info.total_pages`, else
        `total_count`, else a full page came back (`page_size`, unless the answer names its `per_page`)."""
        info = self.result_info or {}
        if returned == 0:
            return False
        if info.get("total_pages") is not None:
            return page < int(info["total_pages"])
        if info.get("total_count") is not None:
            return page * int(info.get("per_page") or page_size) < int(info["total_count"])
        return returned >= int(info.get("per_page") or page_size)

    def unexpected(self, what: str) -> CloudflareError:
        excerpt = json.dumps(self.result)[:120]  # `result` came from JSON
        return CloudflareError(
            f"Cloudflare's answer to {self.method} {self.path} {what} (HTTP {self.status}; result: {excerpt})",
            hint="Run the deploy again; if it persists, the API may have changed: please report it with this line.",
        )


class _Retryable(Exception):
    """An answer worth trying again (429 or 5xx); carries the failure to raise if attempts run out."""

    def __init__(self, error: CloudflareAPIError, *, wait: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


# Failures that may pass on another try; a request httpx cannot even send (a bad header) fails the same every time.
_TRANSIENT = (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.TimeoutException)


def _backoff(exc: Exception) -> bool | float:
    if isinstance(exc, _Retryable):
        return exc.wait if exc.wait is not None else True
    return isinstance(exc, _TRANSIENT)


class CloudflareClient:
    """An account-scoped client for the Cloudflare v4 API.

    `http` may be injected (tests pass an `httpx.AsyncClient` with a `MockTransport`); otherwise the client
    owns one and closes it in `aclose()`.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_token: str,
        account_id: str,
        http: httpx.AsyncClient | None = None,
        attempts: int = 5,
        timeout: float = 120.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_id = account_id
        self._token = api_token
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(60.0, connect=15.0),
            limits=httpx.Limits(max_connections=16),  # idle connections kept: as many (httpcore caps them)
            headers={"User-Agent": "cf-stateful-deployer/0.1"},
        )
        self._owns_http = http is None
        self._attempts = attempts
        self._timeout = timeout

    @property
    def account_path(self) -> str:
        return f"/accounts/{self.account_id}"

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> CloudflareClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        params: Mapping[str, str | int] | None = None,
        bearer: str | None = None,
        raw: bool = False,
    ) -> ApiResponse:
        """Send one API call (retrying transient failures) and return its unwrapped result. `raw`: a success is
        not an envelope (a script's content): `result` is the body's bytes and `headers` its headers.

        A path with a `.` or `..` segment is refused: HTTP clients resolve them, so a name taken from outside
        (an R2 object key a Worker wrote) could turn a call into one on another resource."""
        if any(segment in (".", "..") for segment in path.split("?", 1)[0].split("/")):
            raise CloudflareError(f"Refused to call the API path {path!r}: it has a '.' or '..' segment")
        try:
            async for attempt in stamina.retry_context(
                on=_backoff, attempts=self._attempts, timeout=self._timeout, wait_initial=0.5, wait_max=10.0
            ):
                with attempt:
                    answer = await self._send_once(
                        method,
                        path,
                        json_body=json_body,
                        content=content,
                        content_type=content_type,
                        params=params,
                        bearer=bearer,
                        raw=raw,
                    )
        except _Retryable as exc:
            raise _gave_up(exc.error) from None
        except httpx.TransportError as exc:
            # The text of a protocol error can quote request headers (the token): only transient ones are shown.
            detail = f"{type(exc).__name__}: {exc}" if isinstance(exc, _TRANSIENT) else type(exc).__name__
            raise TransportError(
                f"Could not reach the Cloudflare API at {self.base_url} ({detail})",
                hint="Check the network and CLOUDFLARE_API_BASE_URL (input api-base-url); the call was retried.",
            ) from exc
        return answer  # the loop ends after the first attempt that does not raise

    async def paged_items(
        self, path: str, *, page_size: int, params: Mapping[str, str | int] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paged list (`?page=&per_page=`), page after page, reading the next page only when the
        caller asks for more (a caller looking for one item stops at it)."""
        page = 1
        while True:
            response = await self.call("GET", path, params={**(params or {}), "page": page, "per_page": page_size})
            items = response.items()
            for item in items:
                yield item
            if not response.has_more_pages(page=page, returned=len(items), page_size=page_size):
                return
            page += 1

    async def _send_once(
        self,
        method: str,
        path: str,
        *,
        json_body: Any,
        content: bytes | None,
        content_type: str | None,
        params: Mapping[str, str | int] | None,
        bearer: str | None,
        raw: bool = False,
    ) -> ApiResponse:
        headers = {"Authorization": f"Bearer {bearer or self._token}"}
        body: bytes | None = content
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        elif content_type:
            headers["Content-Type"] = content_type
        started = time.perf_counter()
        response = await self._http.request(method, self.base_url + path, content=body, headers=headers, params=params)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        log.debug(
            "cloudflare.request",
            method=method,
            path=path,
            status=response.status_code,
            ms=elapsed_ms,
            ray=response.headers.get("cf-ray"),
        )
        if raw and response.is_success:
            return ApiResponse(response.content, None, response.status_code, method, path, dict(response.headers))
        payload = _json_or_none(response)
        if isinstance(payload, dict) and payload.get("success") is True:
            info = payload.get("result_info")
            info = info if isinstance(info, dict) else None
            return ApiResponse(payload.get("result"), info, response.status_code, method, path)
        error = self._api_error(method, path, response, payload)
        if response.status_code == 429:
            wait = _retry_after(response)
            if wait is not None and wait > _RETRY_AFTER_LIMIT:
                raise _rate_limited(error, wait)
            raise _Retryable(error, wait=max(wait, 1.0) if wait is not None else 1.0)
        if response.status_code >= 500:
            raise _Retryable(error, wait=None)
        raise error

    def _api_error(self, method: str, path: str, response: httpx.Response, payload: Any) -> CloudflareAPIError:
        details = _error_details(payload)
        codes = {detail.code for detail in details}
        kwargs: dict[str, Any] = {
            "method": method,
            "path": path,
            "status": response.status_code,
            "errors": details,
        }
        api_text = "; ".join(f"{d.message} [code: {d.code}]" for d in details)
        if not details:
            excerpt = response.text[:200].strip() or "(empty body)"
            api_text = f"HTTP {response.status_code}: {excerpt}"
        where = f"{method} {path}"
        refused = codes & {10000, 9106, 9109} or (not details and response.status_code in (401, 403))
        if refused and path.endswith("/workers/assets/upload"):  # authorised by the session's JWT, not the token
            return UploadTokenError(
                f"Cloudflare refused the asset upload session's token ({api_text})",
                hint="Deploy again: the files already uploaded are kept and will not be sent twice.",
                **kwargs,
            )
        if refused:
            return AuthenticationError(
                f"Cloudflare rejected the API token ({api_text}) on {where}",
                hint=(
                    f"Check CLOUDFLARE_API_TOKEN (input api-token) and CLOUDFLARE_ACCOUNT_ID ({self.account_id}): "
                    f"the token must be active, belong to this account and have {_TOKEN_SCOPES}."
                ),
                **kwargs,
            )
        if 10007 in codes and path.endswith("/workers/subdomain"):
            return NoWorkersSubdomainError(
                f"This account has no workers.dev subdomain yet ({api_text})",
                hint=(
                    "Claim your workers.dev subdomain first (once per account, then wait 30-60 s for DNS):\n"
                    f"  curl -X PUT '{self.base_url}{self.account_path}/workers/subdomain' "
                    "-H 'Authorization: Bearer $CLOUDFLARE_API_TOKEN' -H 'Content-Type: application/json' "
                    """-d '{"subdomain": "<your-handle>"}'"""
                ),
                **kwargs,
            )
        if 10021 in codes:
            return ApiValidationError(
                f"Cloudflare refused the upload: {api_text}",
                hint="Fix what the message names (bindings, Worker code or metadata); this upload changed nothing.",
                **kwargs,
            )
        if codes & {10214, 10215}:
            return VersionNotDeployedError(
                f"Cloudflare refused to change the Worker's settings in place: its newest version is not the "
                f"deployed one ({api_text})",
                hint="A version was uploaded without being deployed (wrangler versions upload), or the Worker was "
                "rolled back: deploy the version you want live, or change secrets with a new version.",
                **kwargs,
            )
        if 10220 in codes:
            return SecretsChangedError(
                f"Cloudflare refused to go back to that version: secrets changed since it was live ({api_text})",
                hint="Going back would bring back the secrets' old values (a rotated key, a revoked session key): "
                "pass --force (input force: true) if that is what you want.",
                **kwargs,
            )
        if 7406 in codes:
            return DatabaseLimitError(
                f"Cloudflare refused to create a D1 database: the account has as many as its plan allows ({api_text})",
                hint=(
                    "Delete D1 databases the account no longer needs (wrangler d1 list / wrangler d1 delete NAME), "
                    "or move to a plan with more: Free allows 10."
                ),
                **kwargs,
            )
        if 7500 in codes and response.status_code < 500:
            return SqlError(f"D1 refused the SQL: {api_text}", **kwargs)
        return CloudflareAPIError(f"Cloudflare API error on {where}: {api_text}", **kwargs)


def _rate_limited(error: CloudflareAPIError, wait: float) -> CloudflareAPIError:
    """A 429 that asks for a longer wait than a job should sit through: say when to try again."""
    until = time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + wait))
    error.message = f"{error.message}; Cloudflare asks to wait {wait:.0f} s before the next request"
    error.hint = (
        f"Cloudflare is rate-limiting this account. Run the deploy again after {until}; nothing more was sent. "
        "If it happens often, fewer deploys (or runs) at once help."
    )
    return error


def _gave_up(error: CloudflareAPIError) -> CloudflareAPIError:
    """A 429 or 5xx that lasted through every retry: say it is on Cloudflare's side."""
    if error.status >= 500:
        error.message = f"{error.message} (HTTP {error.status} on every attempt)"
        error.hint = (
            "This is on Cloudflare's side, not in your app: the call was retried with backoff. Run the deploy "
            "again in a few minutes (www.cloudflarestatus.com shows incidents); what was deployed before still "
            "serves."
        )
    elif error.status == 429:
        error.hint = "Cloudflare kept rate-limiting this account through every retry; run the deploy again later."
    return error


# "Not found" as Cloudflare says it: a missing Workers script (10007), service (10090) or D1 database (7404).
_NOT_FOUND_CODES = frozenset({10007, 10090, 7404})


async def none_if_missing(call: Awaitable[T]) -> T | None:
    """The call's result, or None when Cloudflare answers that the thing does not exist."""
    try:
        return await call
    except CloudflareAPIError as exc:
        if set(exc.codes) & _NOT_FOUND_CODES:
            return None
        raise


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_details(payload: Any) -> tuple[ApiErrorDetail, ...]:
    if not isinstance(payload, dict):
        return ()
    errors = payload.get("errors")
    if isinstance(errors, list) and errors:
        return tuple(
            ApiErrorDetail(int(e.get("code") or 0), str(e.get("message") or "")) for e in errors if isinstance(e, dict)
        )
    if "code" in payload or "error" in payload:  # the older top-level form wrangler also understands
        return (ApiErrorDetail(_code(payload.get("code")), str(payload.get("error") or "")),)
    return ()


def _code(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)  # a wait under a second is raised to one by the caller
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() - time.time()
    except (TypeError, ValueError):  # neither seconds nor an HTTP date: the usual backoff
        return None
