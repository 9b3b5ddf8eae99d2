"""A fake GitHub REST API on a loopback port: the handful of endpoints the action calls, with their rules.

    with running_fake_github(token="ghs_x", repository="octo-org/hello-apps") as github:
        env["GITHUB_API_URL"] = github.url
        ...
        github.comments(7)            # the pull request's comments, oldest first
        github.calls                  # every request: method, path, query, JSON body, status answered

What it enforces, as GitHub does (REST API 2022-11-28):
- the token: `Authorization: Bearer <token>` or `token <token>`, else 401 `Bad credentials`;
- the token's permissions (`permissions={"pull_requests": "write", "deployments": "write"}` by default):
  listing comments and reading a pull request need pull_requests read, writing or deleting comments
  pull_requests write, listing deployments deployments read, creating them or their statuses deployments
  write; a missing one is 403 `Resource not accessible by integration`;
- only the one repository exists (else 404), and only the pull requests a test opened (`set_pull_request`);
  deployments are listed newest first and filtered by `?environment=`; pages of at most 100 (`per_page`,
  default 30) linked by a `Link: <…>; rel="next"` header; a comment's body is required; a deployment needs
  `ref` and its statuses a valid `state`.
The server runs in a thread and listens only on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from devkit.transcripts import record

__all__ = ["Call", "FakeGitHub", "running_fake_github"]

_LEVELS = {"none": 0, "read": 1, "write": 2}
_STATES = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
NOT_ACCESSIBLE = "Resource not accessible by integration"


@dataclass(frozen=True)
class Call:
    """One request the fake answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    json: Any
    authorization: str
    status: int


@dataclass
class FakeGitHub:
    """The fake's state; `url` is its API root (what `GITHUB_API_URL` would be)."""

    token: str
    repository: str
    permissions: dict[str, str]
    bot_login: str = "github-actions[bot]"
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer the next requests with
    _comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    _deployments: list[dict[str, Any]] = field(default_factory=list)
    _statuses: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    _pulls: dict[int, tuple[str, str]] = field(default_factory=dict)  # number -> (state, head sha)
    _next_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what tests read and seed -----------------------------------------------------------------------------

    def comments(self, number: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(c) for c in self._comments.get(number, [])]

    def deployments(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(d) for d in self._deployments]

    def statuses(self, deployment_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(s) for s in self._statuses.get(deployment_id, [])]

    def add_comment(self, number: int, body: str, *, user: str = "octocat") -> int:
        """Seed a comment written by someone else."""
        with self._lock:
            return int(self._new_comment(number, body, user)["id"])

    def set_pull_request(self, number: int, state: str, head_sha: str = "0" * 40) -> None:
        """Open (or close: `state="closed"`) pull request `number`, whose head is `head_sha`."""
        with self._lock:
            self._pulls[number] = (state, head_sha)

    def bodies(self) -> list[Any]:
        """Every JSON body the action sent (for the secret scan)."""
        return [call.json for call in self.calls if call.json is not None]

    # --- the API ----------------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: Any) -> tuple[int, Any, dict[str, str]]:
        """Answer one request: (status, JSON document, extra headers)."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        with self._lock:
            status, document, extra = self._route(method, path, query, headers, body)
            self.calls.append(Call(method, path, query, body, headers.get("authorization", ""), status))
        if body is not None:
            record("github-request", f"{method} {path}\n{json.dumps(body, ensure_ascii=False)}")
        return status, document, extra

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        if self.fail_next:
            return self.fail_next.pop(0), {"message": "Server Error"}, {}
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if scheme.lower() not in {"bearer", "token"} or credential != self.token:
            return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, {}
        prefix = f"/repos/{self.repository}/"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}, {}
        rest = path[len(prefix) :]
        if match := re.fullmatch(r"issues/(\d+)/comments", rest):
            number = int(match.group(1))
            if method == "GET":
                return self._guard("pull_requests", "read") or self._list_comments(path, number, query)
            if method == "POST":
                return self._guard("pull_requests", "write") or self._create_comment(number, body)
        if (match := re.fullmatch(r"issues/comments/(\d+)", rest)) and method == "PATCH":
            return self._guard("pull_requests", "write") or self._update_comment(int(match.group(1)), body)
        if (match := re.fullmatch(r"issues/comments/(\d+)", rest)) and method == "DELETE":
            return self._guard("pull_requests", "write") or self._delete_comment(int(match.group(1)))
        if (match := re.fullmatch(r"pulls/(\d+)", rest)) and method == "GET":
            return self._guard("pull_requests", "read") or self._pull_request(int(match.group(1)))
        if rest == "deployments" and method == "POST":
            return self._guard("deployments", "write") or self._create_deployment(body)
        if rest == "deployments" and method == "GET":
            return self._guard("deployments", "read") or self._list_deployments(path, query)
        if (match := re.fullmatch(r"deployments/(\d+)/statuses", rest)) and method == "POST":
            return self._guard("deployments", "write") or self._create_status(int(match.group(1)), body)
        return 404, {"message": "Not Found"}, {}

    def _guard(self, scope: str, level: str) -> tuple[int, Any, dict[str, str]] | None:
        if _LEVELS[self.permissions.get(scope, "none")] < _LEVELS[level]:
            return 403, {"message": NOT_ACCESSIBLE, "documentation_url": "https://docs.github.com/rest"}, {}
        return None

    def _list_comments(self, path: str, number: int, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        items = self._comments.get(number, [])
        chunk = items[(page - 1) * per_page : page * per_page]
        headers: dict[str, str] = {}
        if page * per_page < len(items):
            next_query = urlencode({"per_page": per_page, "page": page + 1})
            headers["Link"] = f'<{self.url}{path}?{next_query}>; rel="next"'
        return 200, [dict(c) for c in chunk], headers

    def _create_comment(self, number: int, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            return 422, {"message": "Invalid request: body is required"}, {}
        return 201, self._new_comment(number, body["body"], self.bot_login), {}

    def _update_comment(self, comment_id: int, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            return 422, {"message": "Invalid request: body is required"}, {}
        for comments in self._comments.values():
            for comment in comments:
                if comment["id"] == comment_id:
                    comment["body"] = body["body"]
                    comment["updated_at"] = f"edit-{self._take_id()}"
                    return 200, dict(comment), {}
        return 404, {"message": "Not Found"}, {}

    def _delete_comment(self, comment_id: int) -> tuple[int, Any, dict[str, str]]:
        for comments in self._comments.values():
            for comment in comments:
                if comment["id"] == comment_id:
                    comments.remove(comment)
                    return 204, None, {}
        return 404, {"message": "Not Found"}, {}

    def _pull_request(self, number: int) -> tuple[int, Any, dict[str, str]]:
        if number not in self._pulls:
            return 404, {"message": "Not Found"}, {}
        state, head_sha = self._pulls[number]
        return 200, {"number": number, "state": state, "head": {"sha": head_sha}}, {}

    def _list_deployments(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        environment = query.get("environment", [None])[0]
        items = [d for d in reversed(self._deployments) if environment is None or d["environment"] == environment]
        chunk = items[(page - 1) * per_page : page * per_page]
        headers: dict[str, str] = {}
        if page * per_page < len(items):
            next_query = urlencode(
                {**({"environment": environment} if environment else {}), "per_page": per_page, "page": page + 1}
            )
            headers["Link"] = f'<{self.url}{path}?{next_query}>; rel="next"'
        return 200, [dict(d) for d in chunk], headers

    def _create_deployment(self, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict) or not body.get("ref"):
            return 422, {"message": "Invalid request: ref is required"}, {}
        deployment = {"id": self._take_id(), **body}
        self._deployments.append(deployment)
        return 201, dict(deployment), {}

    def _create_status(self, deployment_id: int, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not any(d["id"] == deployment_id for d in self._deployments):
            return 404, {"message": "Not Found"}, {}
        if not isinstance(body, dict) or body.get("state") not in _STATES:
            return 422, {"message": "Invalid request: state is not included in the list"}, {}
        status = {"id": self._take_id(), **body}
        self._statuses.setdefault(deployment_id, []).append(status)
        return 201, dict(status), {}

    def _new_comment(self, number: int, body: str, user: str) -> dict[str, Any]:
        comment_id = self._take_id()
        comment = {
            "id": comment_id,
            "body": body,
            "user": {"login": user, "type": "Bot" if user.endswith("[bot]") else "User"},
            "html_url": f"https://github.com/{self.repository}/pull/{number}#issuecomment-{comment_id}",
            "updated_at": "created",
        }
        self._comments.setdefault(number, []).append(comment)
        return comment

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"__invalid_json__": raw.decode("utf-8", "replace")}
        headers = {key.lower(): value for key, value in self.headers.items()}
        status, document, extra = self.fake.handle(self.command, self.path, headers, body)
        payload = b"" if status == 204 else json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the calls are recorded instead."""


@contextmanager
def running_fake_github(
    *,
    token: str = "ghs_fakeTokenForTests0123456789",
    repository: str = "octo-org/hello-apps",
    permissions: dict[str, str] | None = None,
) -> Iterator[FakeGitHub]:
    """Serve a `FakeGitHub` on a free 127.0.0.1 port for the duration of the block."""
    fake = FakeGitHub(
        token=token,
        repository=repository,
        permissions=permissions if permissions is not None else {"pull_requests": "write", "deployments": "write"},
    )
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-github", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
