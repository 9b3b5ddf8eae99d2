"""Telling GitHub: the sticky PR comment and the Deployment record of a run.

- `upsert_comment` pages through the pull request's comments for the app's hidden marker and edits the first
  match in place; only when there is none does it create one. Two runs for the same pull request and app thus
  leave one comment. (Runs racing each other can still both create one; the example workflows serialise runs of
  a pull request with `concurrency:`.)
- `Deployment` creates a GitHub Deployment for the commit (`in_progress` while the deploy runs) and finishes it
  with `success` and the app's URL as `environment_url`, or with `failure`; both carry the run's logs as
  `log_url`. Production deployments retire the earlier ones (`auto_inactive`); previews keep theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

from deployer.github.api import Comment, GitHubClient

__all__ = ["Deployment", "upsert_comment"]


async def upsert_comment(client: GitHubClient, number: int, *, marker: str, body: str) -> tuple[Comment, bool]:
    """Edit the comment of pull request `number` that starts with `marker`, or create it; `(comment, created)`."""
    async for comment in client.comments(number):
        if comment.body.startswith(marker):
            return await client.update_comment(comment.id, body), False
    return await client.create_comment(number, body), True


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
