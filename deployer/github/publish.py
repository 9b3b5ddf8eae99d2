"""Telling GitHub: the sticky PR comment and the Deployment record of a run.

- `upsert_comment` pages through the pull request's comments for the app's hidden marker and edits the first
  match in place; only when there is none does it create one. Two runs for the same pull request and app thus
  leave one comment. Two runs at once can both find none and both create one: so after creating, it looks
  again, and a run whose comment is not the first with the marker deletes its own and edits the first (the
  example workflows also serialise runs of a pull request with `concurrency:`).
- `Deployment` creates a GitHub Deployment for the commit (`in_progress` while the deploy runs) and finishes it
  with `success` and the app's URL as `environment_url`, or with `failure`; both carry the run's logs as
  `log_url`. Production deployments retire the earlier ones (`auto_inactive`); previews keep theirs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from deployer.errors import ConfigError, GitHubAPIError
from deployer.github.api import Comment, GitHubClient

__all__ = [
    "Deployment",
    "check_pull_request_head",
    "retire_environment",
    "state_reader",
    "update_comment",
    "upsert_comment",
]


async def upsert_comment(client: GitHubClient, number: int, *, marker: str, body: str) -> tuple[Comment, bool]:
    """Edit the comment of pull request `number` that starts with `marker`, or create it; `(comment, created)`."""
    first = await _first_with(client, number, marker)
    if first is not None:
        return await client.update_comment(first.id, body), False
    created = await client.create_comment(number, body)
    first = await _first_with(client, number, marker)
    if first is not None and first.id != created.id:  # another run created one just before this one
        await client.delete_comment(created.id)
        return await client.update_comment(first.id, body), False
    return created, True


async def update_comment(client: GitHubClient, number: int, *, marker: str, body: str) -> Comment | None:
    """Edit the comment with `marker` if pull request `number` has one (None when it has none: none is made)."""
    first = await _first_with(client, number, marker)
    return None if first is None else await client.update_comment(first.id, body)


async def _first_with(client: GitHubClient, number: int, marker: str) -> Comment | None:
    async for comment in client.comments(number):
        if comment.body.startswith(marker):
            return comment
    return None


@dataclass(slots=True)
class Deployment:
    """One GitHub Deployment of `ref` to `environment`, from `in_progress` to its final state."""

    client: GitHubClient
    ref: str
    environment: str
    production: bool
    log_url: str
    id: int | None = None

    async def start(self, description: str) -> int:
        """Create the Deployment and mark it `in_progress`; returns its id."""
        self.id = await self.client.create_deployment(
            ref=self.ref,
            environment=self.environment,
            description=description,
            production=self.production,
            transient=not self.production,
        )
        await self.client.create_deployment_status(
            self.id, state="in_progress", log_url=self.log_url, description=description, auto_inactive=False
        )
        return self.id

    async def finish(self, *, success: bool, url: str, description: str) -> None:
        """Record the outcome (`success` with the app's URL, else `failure`); nothing when `start` failed."""
        if self.id is None:
            return
        await self.client.create_deployment_status(
            self.id,
            state="success" if success else "failure",
            environment_url=url if success else "",
            log_url=self.log_url,
            description=description,
            auto_inactive=self.production,
        )


async def retire_environment(client: GitHubClient, environment: str, *, description: str) -> int:
    """Mark every Deployment to `environment` inactive (a removed preview's); returns how many there were."""
    ids = [deployment_id async for deployment_id in client.deployments(environment)]
    for deployment_id in ids:
        await client.create_deployment_status(
            deployment_id, state="inactive", description=description, auto_inactive=False
        )
    return len(ids)


def state_reader(client: GitHubClient, *, warn: Callable[[str], None]) -> Callable[[int], Awaitable[str | None]]:
    """How `sweep` asks whether a pull request is open: its state, or None (with a warning) when it cannot be
    read, so that the preview is kept."""

    async def state(number: int) -> str | None:
        try:
            return (await client.pull_request(number)).state
        except GitHubAPIError as exc:
            warn(f"Pull request #{number} could not be read, so its preview is kept: {exc.message}")
            return None

    return state


async def check_pull_request_head(client: GitHubClient | None, number: int, sha: str) -> None:
    """Refuse (`ConfigError`) unless pull request `number` has the head commit `sha`.

    On a workflow_run the pull request's number comes from the build's artifact, which holds the fork's files:
    a number that is not this build's would overwrite another pull request's preview."""
    if client is None:
        raise ConfigError(
            f"A preview on a workflow_run needs the input github-token, to check that pull request #{number} is "
            "the one whose build this run deploys",
            hint="Leave github-token at its default (${{ github.token }}) and give the job pull-requests: read.",
        )
    head = (await client.pull_request(number)).head_sha
    if head != sha:
        raise ConfigError(
            f"Pull request #{number} (input pull-request) has the head commit {head[:12] or '(none)'}, but this run "
            f"deploys {sha[:12]} (workflow_run.head_sha): the number does not belong to this build, so nothing was "
            "deployed",
            hint="Pass the number the build recorded for its own pull request (see preview-fork-build.yml).",
        )
