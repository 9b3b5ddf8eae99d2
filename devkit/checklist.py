"""The seed's verification checklist, run over HTTP against a deployed items-app (tests and `scripts/demo`).

`run_checklist(url, password, api=…, redeploy=…)` runs every check in order against the app at `url` (a
browser URL such as `http://items-app.demo.workers.dev.localhost:8787`) and returns one `CheckResult` per
check; it never raises for a failed check. A check that needs an earlier step (a session, a created item)
fails with a note when that step failed.

- With `api` (the Cloudflare API the app was deployed through) the control-plane checks run too: the
  account's subdomain, the D1 database, the Worker's modules and handlers, its workers.dev toggle, and rows
  flowing both ways between the app and the D1 `/query` endpoint.
- With `redeploy` (a callable that deploys a code-only change of the app and returns a short description)
  the check that rows survive a redeploy runs too.
The data the checklist creates is removed again at the end (if the app still works).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from devkit.loopback import localhost_client

__all__ = ["CHECKS", "CHECK_KEYS", "CHECK_NAMES", "ApiAccess", "CheckResult", "format_results", "run_checklist"]

COOKIE_NAME = "app_session"
REQUIRED_COOKIE_ATTRIBUTES = ("HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=2592000")


@dataclass(frozen=True)
class ApiAccess:
    """The Cloudflare API (here: cfemu) the app was deployed through."""

    base_url: str
    account_id: str
    token: str

    def client(self) -> httpx.Client:
        """A client rooted at `/accounts/{account_id}` with the token."""
        return httpx.Client(
            base_url=f"{self.base_url}/accounts/{self.account_id}",
            headers={"Authorization": f"Bearer {self.token}"},
            trust_env=False,
            timeout=30.0,
        )


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, and what was seen."""

    name: str
    ok: bool
    detail: str = ""


class CheckFailed(Exception):
    """A check saw something other than expected; the message says what."""


def expect(condition: bool, message: str) -> None:
    """Raise `CheckFailed(message)` unless `condition`."""
    if not condition:
        raise CheckFailed(message)


def _seen(response: httpx.Response) -> str:
    location = response.headers.get("location")
    body = response.text[:120].replace("\n", " ")
    return f"HTTP {response.status_code}" + (f" → {location}" if location else "") + (f" {body!r}" if body else "")


def _flip_first(text: str) -> str:
    """`text` with its first character replaced by another base64url character (changes the decoded bytes)."""
    return ("B" if text[:1] == "A" else "A") + text[1:]


def _api_result(response: httpx.Response) -> Any:
    body = response.json()
    expect(body.get("success") is True, f"API call failed: HTTP {response.status_code} {body.get('errors')}")
    return body["result"]


@dataclass
class _Run:
    """The state shared by the checks of one run."""

    url: str
    password: str
    script: str
    api: ApiAccess | None
    redeploy: Callable[[], str] | None
    browser: httpx.Client = field(init=False)  # keeps the session cookie, like a browser tab
    anonymous: httpx.Client = field(init=False)  # never stores cookies
    cookie_value: str | None = None
    set_cookie: str | None = None
    item: dict[str, Any] | None = None
    database_id: str | None = None
    marker: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __post_init__(self) -> None:
        self.browser = localhost_client(self.url)
        self.anonymous = localhost_client(self.url, keep_cookies=False)

    def close(self) -> None:
        self.browser.close()
        self.anonymous.close()

    def anon_get(self, path: str, cookie: str | None = None) -> httpx.Response:
        headers = {"Cookie": f"{COOKIE_NAME}={cookie}"} if cookie is not None else {}
        response = self.anonymous.get(path, headers=headers)
        self.anonymous.cookies.clear()
        return response

    def need_session(self) -> None:
        expect(self.cookie_value is not None, "no session: signing in failed earlier")

    def need_item(self) -> dict[str, Any]:
        expect(self.item is not None, "no item: creating one failed earlier")
        assert self.item is not None
        return self.item

    def need_database(self) -> str:
        expect(self.database_id is not None, "the Worker's D1 database was not found earlier")
        assert self.database_id is not None
        return self.database_id

    def listed_names(self) -> list[str]:
        response = self.browser.get("/api/items")
        expect(response.status_code == 200, f"GET /api/items: {_seen(response)}")
        return [str(row.get("name")) for row in response.json()]

    def query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        assert self.api is not None
        with self.api.client() as api:
            result = _api_result(
                api.post(f"/d1/database/{self.need_database()}/query", json={"sql": sql, "params": params})
            )
        rows: list[dict[str, Any]] = result[0]["results"]
        return rows

    # ------------------------------------------------------------------ control plane (needs `api`)

    def check_subdomain(self) -> str:
        assert self.api is not None
        with self.api.client() as api:
            claimed = _api_result(api.get("/workers/subdomain"))["subdomain"]
        expect(f".{claimed}.workers.dev" in self.url, f"account subdomain {claimed!r} is not the URL's ({self.url})")
        return f"subdomain {claimed!r}"

    def check_database(self) -> str:
        assert self.api is not None
        with self.api.client() as api:
            bindings = _api_result(api.get(f"/workers/scripts/{self.script}/settings"))["bindings"]
            d1 = [b for b in bindings if b.get("type") == "d1"]
            expect(len(d1) == 1, f"expected one d1 binding, got {bindings}")
            self.database_id = str(d1[0].get("id") or d1[0].get("database_id"))
            listed = {db["uuid"]: db["name"] for db in _api_result(api.get("/d1/database"))}
        expect(self.database_id in listed, f"database {self.database_id} is not in GET /d1/database")
        return f"{listed[self.database_id]} ({self.database_id}) bound as {d1[0]['name']}"

    def check_worker(self) -> str:
        assert self.api is not None
        with self.api.client() as api:
            scripts = {s["id"]: s for s in _api_result(api.get("/workers/scripts"))}
        expect(self.script in scripts, f"{self.script} is not in GET /workers/scripts")
        entry = scripts[self.script]
        expect(entry.get("has_modules") is True, f"has_modules is {entry.get('has_modules')!r}")
        expect(entry.get("handlers") == ["fetch"], f"handlers are {entry.get('handlers')!r}")
        return "has_modules: true, handlers: ['fetch']"

    def check_toggle(self) -> str:
        assert self.api is not None
        with self.api.client() as api:
            toggle = _api_result(api.get(f"/workers/scripts/{self.script}/subdomain"))
        expect(toggle.get("enabled") is True, f"workers.dev toggle is {toggle}")
        return "enabled"

    # ------------------------------------------------------------------ the app, logged out

    def check_root_redirects(self) -> str:
        response = self.anon_get("/")
        expect(response.status_code == 302 and response.headers.get("location") == "/login.html", _seen(response))
        return "/ → 302 /login.html"

    def check_asset_gated(self) -> str:
        response = self.anon_get("/app.js")
        expect(response.status_code == 302 and response.headers.get("location") == "/login.html", _seen(response))
        return "/app.js → 302 /login.html"

    def check_login_page(self) -> str:
        response = self.anon_get("/login.html")
        expect(response.status_code == 200, _seen(response))
        content_type = response.headers.get("content-type", "")
        expect(content_type.startswith("text/html"), f"Content-Type {content_type!r}")
        expect('action="/login"' in response.text and 'name="password"' in response.text, "no sign-in form")
        return f"200 {content_type}"

    def check_wrong_password(self) -> str:
        response = self.anonymous.post("/login", data={"password": f"wrong-{self.marker}"})
        self.anonymous.cookies.clear()
        expect(response.status_code == 302, _seen(response))
        expect(response.headers.get("location") == "/login.html?error=1", _seen(response))
        expect("set-cookie" not in response.headers, "a wrong password got a cookie")
        return "302 /login.html?error=1, no cookie"

    def check_sign_in(self) -> str:
        response = self.browser.post("/login", data={"password": self.password})
        expect(response.status_code == 302 and response.headers.get("location") == "/", _seen(response))
        cookies = response.headers.get_list("set-cookie")
        ours = [c for c in cookies if c.startswith(f"{COOKIE_NAME}=")]
        expect(len(ours) == 1, f"Set-Cookie headers: {cookies}")
        self.set_cookie = ours[0]
        self.cookie_value = ours[0].split(";", 1)[0].split("=", 1)[1]
        expect(self.browser.cookies.get(COOKIE_NAME) == self.cookie_value, "the cookie jar did not keep the cookie")
        return "302 / with Set-Cookie app_session=…"

    def check_cookie_attributes(self) -> str:
        expect(self.set_cookie is not None, "no Set-Cookie: signing in failed earlier")
        assert self.set_cookie is not None
        attributes = [part.strip() for part in self.set_cookie.split(";")[1:]]
        missing = [a for a in REQUIRED_COOKIE_ATTRIBUTES if a.lower() not in (x.lower() for x in attributes)]
        expect(not missing, f"missing {missing} in {attributes}")
        return "; ".join(attributes)

    def check_api_unauthorized(self) -> str:
        response = self.anon_get("/api/items")
        expect(response.status_code == 401, _seen(response))
        expect(response.json() == {"error": "unauthorized"}, f"body {response.text!r}")
        return '401 {"error":"unauthorized"}'

    # ------------------------------------------------------------------ the app, signed in

    def check_api_json(self) -> str:
        self.need_session()
        response = self.browser.get("/api/items")
        expect(response.status_code == 200, _seen(response))
        content_type = response.headers.get("content-type", "")
        expect(content_type.startswith("application/json"), f"Content-Type {content_type!r}")
        expect(isinstance(response.json(), list), f"body {response.text[:200]!r}")
        return f"200 {content_type}, {len(response.json())} item(s)"

    def check_create(self) -> str:
        self.need_session()
        name = f"checklist item {self.marker}"
        response = self.browser.post("/api/items", json={"name": name})
        expect(response.status_code == 201, _seen(response))
        row = response.json()
        expect(row.get("name") == name and isinstance(row.get("id"), int), f"row {row}")
        self.item = row
        return f"201 id={row['id']}"

    def check_listed(self) -> str:
        item = self.need_item()
        expect(item["name"] in self.listed_names(), f"{item['name']!r} is not listed")
        return "listed"

    def check_query_sees_app_rows(self) -> str:
        item = self.need_item()
        rows = self.query("SELECT name FROM items WHERE id = ?", [item["id"]])
        expect(rows == [{"name": item["name"]}], f"/query returned {rows}")
        return f"/query: {rows[0]}"

    def check_app_sees_query_rows(self) -> str:
        self.need_session()
        name = f"inserted through /query {self.marker}"
        self.query("INSERT INTO items (name) VALUES (?)", [name])
        try:
            expect(name in self.listed_names(), f"{name!r} is not listed by the app")
        finally:
            self.query("DELETE FROM items WHERE name = ?", [name])
        return "the app lists a row inserted through /query"

    def check_content_types(self) -> str:
        self.need_session()
        seen = []
        for path, expected in (("/app.js", "text/javascript"), ("/login.html", "text/html"), ("/", "text/html")):
            response = self.browser.get(path)
            content_type = response.headers.get("content-type", "")
            expect(response.status_code == 200, f"{path}: {_seen(response)}")
            expect(content_type.startswith(expected), f"{path}: Content-Type {content_type!r}, expected {expected}")
            seen.append(f"{path} {content_type}")
        return ", ".join(seen)

    def check_tampered_cookie(self) -> str:
        self.need_session()
        assert self.cookie_value is not None
        parts = self.cookie_value.split(".")
        expect(len(parts) == 3, f"the cookie is not <iv>.<ciphertext>.<signature>: {self.cookie_value!r}")
        forged = [".".join(_flip_first(p) if i == n else p for i, p in enumerate(parts)) for n in range(3)]
        for value in forged:
            api = self.anon_get("/api/items", cookie=value)
            expect(api.status_code == 401, f"/api/items with a tampered cookie: {_seen(api)}")
            page = self.anon_get("/", cookie=value)
            expect(page.status_code == 302, f"/ with a tampered cookie: {_seen(page)}")
        return "iv, ciphertext or signature changed → 401 / 302"

    def check_redeploy(self) -> str:
        item = self.need_item()
        assert self.redeploy is not None
        description = self.redeploy()
        expect(item["name"] in self.listed_names(), f"{item['name']!r} is gone after the redeploy")
        return f"{description}; the item is still listed"

    def check_delete(self) -> str:
        item = self.need_item()
        response = self.browser.delete(f"/api/items/{item['id']}")
        expect(response.status_code == 200 and response.json() == {"ok": True}, _seen(response))
        expect(item["name"] not in self.listed_names(), "the deleted item is still listed")
        self.item = None
        return f"id={item['id']} deleted"


_API_CHECKS = {"subdomain", "database", "worker", "toggle", "query_sees_app_rows", "app_sees_query_rows"}
CHECKS: tuple[tuple[str, str], ...] = (
    ("subdomain", "the account's workers.dev subdomain is claimed"),
    ("database", "the D1 database appears in GET /d1/database"),
    ("worker", "the Worker has modules and a fetch handler"),
    ("toggle", "the Worker is enabled on workers.dev"),
    ("root_redirects", "logged out, / redirects to /login.html"),
    ("asset_gated", "logged out, /app.js redirects to /login.html"),
    ("login_page", "GET /login.html is 200 HTML without auth"),
    ("wrong_password", "a wrong password returns to the login page with the error flag"),
    ("sign_in", "the right password redirects to / and sets the session cookie"),
    ("cookie_attributes", "the cookie has HttpOnly, Secure, SameSite=Lax, Path=/, Max-Age=2592000"),
    ("api_unauthorized", 'GET /api/items without a session is 401 {"error":"unauthorized"}'),
    ("api_json", "GET /api/items with the session returns JSON"),
    ("create", "an item can be created"),
    ("listed", "the new item is listed"),
    ("query_sees_app_rows", "the item is visible through the D1 /query endpoint"),
    ("app_sees_query_rows", "a row inserted through /query is visible in the app"),
    ("content_types", "/app.js, /login.html and / are served with the right Content-Type"),
    ("tampered_cookie", "a tampered session cookie is rejected"),
    ("redeploy", "rows survive a code-only redeploy"),
    ("delete", "the item can be deleted"),
)
CHECK_KEYS: tuple[str, ...] = tuple(key for key, _ in CHECKS)
CHECK_NAMES: tuple[str, ...] = tuple(title for _, title in CHECKS)


def run_checklist(
    url: str,
    password: str,
    *,
    api: ApiAccess | None = None,
    redeploy: Callable[[], str] | None = None,
    script: str = "items-app",
) -> list[CheckResult]:
    """Run the checklist against the app at `url`; one result per check that applies (see module docstring)."""
    run = _Run(url=url.rstrip("/"), password=password, script=script, api=api, redeploy=redeploy)
    results: list[CheckResult] = []
    try:
        for key, title in CHECKS:
            if (key in _API_CHECKS and api is None) or (key == "redeploy" and redeploy is None):
                continue
            check: Callable[[], str] = getattr(run, f"check_{key}")
            try:
                results.append(CheckResult(title, True, check()))
            except Exception as exc:  # a broken app must not stop the remaining checks
                results.append(CheckResult(title, False, f"{type(exc).__name__}: {exc}"))
        if run.item is not None:  # a failed delete check: try once more so no test data is left behind
            run.browser.delete(f"/api/items/{run.item['id']}")
    finally:
        run.close()
    return results


def format_results(results: list[CheckResult]) -> str:
    """One line per check: `  ✓ name  (detail)` or `  ✗ name: detail`."""
    lines = []
    for result in results:
        if result.ok:
            lines.append(f"  ✓ {result.name}  ({result.detail})" if result.detail else f"  ✓ {result.name}")
        else:
            lines.append(f"  ✗ {result.name}: {result.detail}")
    return "\n".join(lines)
