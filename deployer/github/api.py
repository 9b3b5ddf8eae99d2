"""A small GitHub REST client: the sticky PR comment and Deployments with their statuses.

Endpoints (REST API 2022-11-28):

| call                                  | endpoint                                                   |
|---------------------------------------|------------------------------------------------------------|
| list a pull request's comments        | `GET /repos/{repo}/issues/{n}/comments` (paginated)        |
| create / edit a comment               | `POST …/issues/{n}/comments`, `PATCH …/issues/comments/{id}` |
| delete a comment                      | `DELETE /repos/{repo}/issues/comments/{id}`                |
| create a deployment, add a status     | `POST /repos/{repo}/deployments`, `POST …/{id}/statuses`   |
| list an environment's deployments     | `GET /repos/{repo}/deployments?environment=…` (paginated)  |
| a pull request's state                | `GET /repos/{repo}/pulls/{n}` (`open` or `closed`)         |

Comments need the `pull-requests: write` permission (reading a pull request `pull-requests: read`),
deployments `deployments: write`.

Failures become `GitHubAPIError`. A 403 "Resource not accessible by integration" means the workflow's token
lacks a permission: the error names the `permissions:` entry to add. Network errors and 5xx answers are retried
a few times; nothing else is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import stamina

from deployer.errors import GitHubAPIError

__all__ = ["Comment", "GitHubClient", "PullRequestInfo", "permission_hint"]

API_VERSION = "2022-11-28"
PER_PAGE = 100
_NOT_ACCESSIBLE = "resource not accessible by integration"


@dataclass(frozen=True, slots=True)
class Comment:
    """An issue comment on a pull request."""

    id: int
    body: str
    user: str
    url: str


@dataclass(frozen=True, slots=True)
class PullRequestInfo:
    """What the deployer reads of a pull request."""

    state: str
    head_sha: str


def permission_hint(permission: str) -> str:
    """The fix for a token that lacks `permission` (e.g. `pull-requests: write`), as a workflow snippet."""
    return (
        f"The workflow's GITHUB_TOKEN lacks `{permission}`. Add it to the job (or workflow):\n"
        f"permissions:\n  contents: read\n  {permission}\n"
        "Pass a token that has it as the input github-token, or set github-token to '' to skip GitHub reporting."
    )


class _Retry(Exception):
    """A 5xx answer, worth one more try."""

    def __init__(self, error: GitHubAPIError) -> None:
        super().__init__(error.message)
        self.error = error


class GitHubClient:
    """Repository-scoped calls with one `httpx.AsyncClient` (injectable for tests)."""

    def __init__(
        self,
        *,
        token: str,
        repository: str,
        api_url: str = "https://api.github.com",
        http: httpx.AsyncClient | None = None,
        attempts: int = 3,
    ) -> None:
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
        self._owns_http = http is None
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "cf-stateful-deployer",
        }
        self._attempts = attempts

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._owns_http:
            await self._http.aclose()

    # --- comments -------------------------------------------------------------------------------------------

    async def comments(self, number: int) -> AsyncIterator[Comment]:
        """Every comment of pull request `number`, oldest first, following the `Link: rel="next"` pages."""
        url: str | None = f"{self._repo_url}/issues/{number}/comments"
        params: Mapping[str, str | int] | None = {"per_page": PER_PAGE}
        while url is not None:
            response = await self._request("GET", url, params=params, permission="pull-requests: write")
            for item in response.json():
                yield _comment(item)
            next_link = response.links.get("next", {}).get("url")
            url, params = (next_link, None) if next_link else (None, None)

    async def create_comment(self, number: int, body: str) -> Comment:
        response = await self._request(
            "POST", f"{self._repo_url}/issues/{number}/comments", json={"body": body}, permission="pull-requests: write"
        )
        return _comment(response.json())

    async def update_comment(self, comment_id: int, body: str) -> Comment:
        response = await self._request(
            "PATCH",
            f"{self._repo_url}/issues/comments/{comment_id}",
            json={"body": body},
            permission="pull-requests: write",
        )
        return _comment(response.json())

    async def delete_comment(self, comment_id: int) -> None:
        await self._request(
            "DELETE", f"{self._repo_url}/issues/comments/{comment_id}", permission="pull-requests: write"
        )

    async def pull_request(self, number: int) -> PullRequestInfo:
        """Pull request `number`: its state (`open` or `closed`; merged ones are closed too) and head commit."""
        response = await self._request("GET", f"{self._repo_url}/pulls/{number}", permission="pull-requests: read")
        data = response.json()
        head = data.get("head") or {}
        return PullRequestInfo(state=str(data.get("state") or ""), head_sha=str(head.get("sha") or ""))

    # --- deployments ----------------------------------------------------------------------------------------

    async def create_deployment(
        self, *, ref: str, environment: str, description: str, production: bool, transient: bool
    ) -> int:
        """A Deployment of commit `ref` to `environment`; returns its id."""
        body = {
            "ref": ref,
            "environment": environment,
            "description": description,
            "auto_merge": False,
            "required_contexts": [],
            "production_environment": production,
            "transient_environment": transient,
        }
        response = await self._request(
            "POST", f"{self._repo_url}/deployments", json=body, permission="deployments: write"
        )
        return int(response.json()["id"])

    async def deployments(self, environment: str) -> AsyncIterator[int]:
        """The ids of every Deployment to `environment`, newest first, following the pages."""
        url: str | None = f"{self._repo_url}/deployments"
        params: Mapping[str, str | int] | None = {"environment": environment, "per_page": PER_PAGE}
        while url is not None:
            response = await self._request("GET", url, params=params, permission="deployments: read")
            for item in response.json():
                yield int(item["id"])
            next_link = response.links.get("next", {}).get("url")
            url, params = (next_link, None) if next_link else (None, None)

    async def create_deployment_status(
        self,
        deployment_id: int,
        *,
        state: str,
        environment_url: str = "",
        log_url: str = "",
        description: str = "",
        auto_inactive: bool = True,
    ) -> None:
        """A status (`in_progress`, `success`, `failure`, `error`, `inactive`) on a Deployment."""
        body: dict[str, Any] = {"state": state, "description": description[:140], "auto_inactive": auto_inactive}
        if environment_url:
            body["environment_url"] = environment_url
        if log_url:
            body["log_url"] = log_url
        await self._request(
            "POST",
            f"{self._repo_url}/deployments/{deployment_id}/statuses",
            json=body,
            permission="deployments: write",
        )

    # --- transport ------------------------------------------------------------------------------------------

    @property
    def _repo_url(self) -> str:
        return f"{self.api_url}/repos/{self.repository}"

    async def _request(
        self,
        method: str,
        url: str,
        *,
        permission: str,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        try:
            async for attempt in stamina.retry_context(
                on=(httpx.TransportError, _Retry), attempts=self._attempts, wait_initial=0.5, wait_max=5.0
            ):
                with attempt:
                    response = await self._http.request(method, url, headers=self._headers, json=json, params=params)
                    if response.status_code >= 500:
                        raise _Retry(_error(method, url, response, permission))
        except _Retry as exc:
            raise exc.error from None
        except httpx.TransportError as exc:
            raise GitHubAPIError(
                f"Could not reach the GitHub API at {self.api_url} ({type(exc).__name__})",
                status=0,
                hint="Check GITHUB_API_URL; the call was retried.",
            ) from exc
        if response.status_code >= 400:
            raise _error(method, url, response, permission)
        return response


def _comment(item: Mapping[str, Any]) -> Comment:
    return Comment(
        id=int(item["id"]),
        body=str(item.get("body") or ""),
        user=str((item.get("user") or {}).get("login") or ""),
        url=str(item.get("html_url") or ""),
    )


def _error(method: str, url: str, response: httpx.Response, permission: str) -> GitHubAPIError:
    """A `GitHubAPIError` for an error answer, with the fix when the status tells it."""
    try:
        api_message = str(response.json().get("message") or "")
    except (ValueError, AttributeError):
        api_message = response.text[:200]
    path = httpx.URL(url).path
    status = response.status_code
    hint: str | None = None
    if status == 403 and _NOT_ACCESSIBLE in api_message.lower():
        hint = permission_hint(permission)
        message = f"GitHub refused {method} {path}: the token lacks the permission `{permission}`"
    else:
        message = f"GitHub refused {method} {path}: HTTP {status} {api_message}".rstrip()
        if status == 401:
            hint = "The input github-token is not a valid token (expired, or from another GitHub instance)."
        elif status == 404:
            hint = "Check that the repository exists and that the token can see it (private repos need contents: read)."
    return GitHubAPIError(message, status=status, api_message=api_message, hint=hint)
