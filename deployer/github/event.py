"""The workflow run's event: which commit, which pull request, whether it comes from a fork.

The runner names the event in `GITHUB_EVENT_NAME` and writes its webhook payload to the file at
`GITHUB_EVENT_PATH`. What the deployer takes from them:

| event                                 | commit reported                | pull request                         |
|---------------------------------------|--------------------------------|--------------------------------------|
| `pull_request`, `pull_request_target` | `pull_request.head.sha`        | `pull_request.number`                |
| `workflow_run`                        | `workflow_run.head_sha`        | `workflow_run.pull_requests[0]`      |
| anything else (push, schedule, …)     | `GITHUB_SHA`                   | none                                 |

For a pull request `GITHUB_SHA` is the synthetic merge commit (`refs/pull/N/merge`), which is not what anyone
pushed, so the head commit is reported instead. `workflow_run.pull_requests` is empty when the pull request
comes from a fork; the input `pull-request` then names it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deployer.errors import ConfigError

__all__ = ["Event", "PullRequest", "load_event"]

PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_target"})


@dataclass(frozen=True, slots=True)
class PullRequest:
    """The pull request a run belongs to."""

    number: int
    head_sha: str
    head_repository: str | None  # "owner/name"; None when the fork was deleted
    base_repository: str | None

    @property
    def from_fork(self) -> bool:
        """The head branch lives in another repository (or in a deleted one)."""
        return self.head_repository is None or (
            self.base_repository is not None and self.head_repository.lower() != self.base_repository.lower()
        )


@dataclass(frozen=True, slots=True)
class Event:
    """What the deployer needs from the run's context."""

    name: str  # GITHUB_EVENT_NAME ("" outside Actions)
    repository: str  # "owner/name"
    sha: str  # the commit to report: the pull request's head, else GITHUB_SHA
    pull_request: PullRequest | None
    server_url: str
    api_url: str
    run_id: str
    run_attempt: str

    @property
    def run_url(self) -> str:
        """The run's page (its logs); "" outside Actions."""
        if not (self.repository and self.run_id):
            return ""
        attempt = f"/attempts/{self.run_attempt}" if self.run_attempt else ""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}{attempt}"

    def commit_url(self, sha: str | None = None) -> str:
        sha = sha or self.sha
        return f"{self.server_url}/{self.repository}/commit/{sha}" if self.repository and sha else ""

    @property
    def untrusted_pull_request(self) -> bool:
        """A `pull_request`/`pull_request_target` run for a pull request from a fork."""
        return self.name in PULL_REQUEST_EVENTS and self.pull_request is not None and self.pull_request.from_fork


def load_event(environ: Mapping[str, str], *, pull_request_number: int | None = None) -> Event:
    """Read the event from the runner's environment; `pull_request_number` overrides the payload's.

    A missing or unreadable payload file is a `ConfigError` only when `GITHUB_EVENT_PATH` names one.
    """
    name = environ.get("GITHUB_EVENT_NAME", "")
    payload = _read_payload(environ.get("GITHUB_EVENT_PATH") or "")
    repository = environ.get("GITHUB_REPOSITORY") or _get(payload, "repository", "full_name") or ""
    sha = environ.get("GITHUB_SHA", "")
    pull_request: PullRequest | None = None
    if name in PULL_REQUEST_EVENTS and isinstance(payload.get("pull_request"), dict):
        pull_request = _pull_request(payload["pull_request"])
        sha = pull_request.head_sha or sha
    elif name == "workflow_run" and isinstance(payload.get("workflow_run"), dict):
        run = payload["workflow_run"]
        sha = str(run.get("head_sha") or sha)
        linked = run.get("pull_requests") or []
        if linked and isinstance(linked[0], dict):
            pull_request = _pull_request(linked[0])
    if pull_request_number is not None and (pull_request is None or pull_request.number != pull_request_number):
        pull_request = PullRequest(
            number=pull_request_number,
            head_sha=sha,
            head_repository=repository or None,
            base_repository=repository or None,
        )
    server_url = environ.get("GITHUB_SERVER_URL") or "https://github.com"
    return Event(
        name=name,
        repository=repository,
        sha=sha,
        pull_request=pull_request,
        server_url=server_url.rstrip("/"),
        api_url=(environ.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        run_id=environ.get("GITHUB_RUN_ID", ""),
        run_attempt=environ.get("GITHUB_RUN_ATTEMPT", ""),
    )


def _read_payload(path: str) -> dict[str, Any]:
    if not path:
        return {}
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Cannot read the event payload at GITHUB_EVENT_PATH={path}: {exc}",
            hint="The runner writes this file; outside Actions, unset GITHUB_EVENT_PATH.",
        ) from None
    return document if isinstance(document, dict) else {}


def _get(document: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _pull_request(data: dict[str, Any]) -> PullRequest:
    """A pull request from the payload shape shared by `pull_request` and `workflow_run.pull_requests[]`."""
    return PullRequest(
        number=int(data.get("number") or 0),
        head_sha=str(_get(data, "head", "sha") or ""),
        head_repository=_get(data, "head", "repo", "full_name"),
        base_repository=_get(data, "base", "repo", "full_name"),
    )
