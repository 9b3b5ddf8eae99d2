"""The GitHub client against the fake GitHub: pagination, the sticky comment, errors that name the fix."""

from __future__ import annotations

import pytest

from deployer.errors import GitHubAPIError
from deployer.github.api import GitHubClient
from deployer.github.publish import Deployment, upsert_comment
from tests.github.conftest import GH_TOKEN
from tests.github.fake_github import FakeGitHub

MARKER = "<!-- cf-stateful-deployer:comment app=app -->"


def client(github: FakeGitHub, token: str = GH_TOKEN) -> GitHubClient:
    return GitHubClient(token=token, repository=github.repository, api_url=github.url)


async def test_comments_are_read_across_pages(github: FakeGitHub) -> None:
    """Listing follows Link rel="next" until the last page, 100 per page."""
    for index in range(250):
        github.add_comment(7, f"comment {index}")
    async with client(github) as gh:
        bodies = [comment.body async for comment in gh.comments(7)]
    assert bodies == [f"comment {index}" for index in range(250)]
    assert [c.query.get("page", ["1"]) for c in github.calls] == [["1"], ["2"], ["3"]]


async def test_upsert_edits_the_marked_comment_and_creates_only_when_there_is_none(github: FakeGitHub) -> None:
    """The first upsert creates, later ones edit the same comment; other comments are untouched."""
    github.add_comment(7, "Nice!")
    github.add_comment(7, f"quoting: {MARKER}")  # contains the marker, but does not start with it
    async with client(github) as gh:
        first, created = await upsert_comment(gh, 7, marker=MARKER, body=f"{MARKER}\none")
        second, created_again = await upsert_comment(gh, 7, marker=MARKER, body=f"{MARKER}\ntwo")
    assert (created, created_again) == (True, False)
    assert first.id == second.id
    assert [c["body"] for c in github.comments(7)] == ["Nice!", f"quoting: {MARKER}", f"{MARKER}\ntwo"]


async def test_a_missing_permission_names_the_permissions_entry(github: FakeGitHub) -> None:
    """403 "Resource not accessible by integration" becomes a message and a snippet with the permission."""
    github.permissions = {"pull_requests": "read"}
    async with client(github) as gh:
        with pytest.raises(GitHubAPIError) as caught:
            await gh.create_comment(7, "hi")
    assert caught.value.status == 403
    assert caught.value.message.endswith("the token lacks the permission `pull-requests: write`")
    assert caught.value.hint is not None
    assert "permissions:\n  contents: read\n  pull-requests: write" in caught.value.hint


async def test_a_wrong_token_is_a_clear_401(github: FakeGitHub) -> None:
    """Bad credentials say that the github-token input is not valid."""
    async with client(github, token="ghs_wrong") as gh:
        with pytest.raises(GitHubAPIError, match="HTTP 401 Bad credentials") as caught:
            await gh.create_deployment(
                ref="abc", environment="production", description="", production=True, transient=False
            )
    assert caught.value.hint is not None
    assert "github-token" in caught.value.hint


async def test_server_errors_are_retried(github: FakeGitHub) -> None:
    """A 502 then success: the call succeeds on the second attempt."""
    github.fail_next = [502]
    async with client(github) as gh:
        comment = await gh.create_comment(7, "hello")
    assert comment.body == "hello"
    assert [c.status for c in github.calls] == [502, 201]


async def test_an_unreachable_api_is_a_github_error() -> None:
    """A refused connection ends as GitHubAPIError after the retries."""
    async with GitHubClient(token=GH_TOKEN, repository="o/r", api_url="http://127.0.0.1:9") as gh:
        with pytest.raises(GitHubAPIError, match="Could not reach the GitHub API"):
            await gh.create_comment(1, "x")


async def test_a_deployment_goes_from_in_progress_to_its_outcome(github: FakeGitHub) -> None:
    """start() creates the deployment and marks it in_progress; finish() adds success with the URL."""
    async with client(github) as gh:
        deployment = Deployment(gh, ref="abc", environment="pr-7", production=False, log_url="https://logs")
        deployment_id = await deployment.start("Deploying")
        await deployment.finish(success=True, url="https://app", description="done")
    (created,) = github.deployments()
    assert created["id"] == deployment_id
    assert (created["transient_environment"], created["production_environment"]) == (True, False)
    statuses = github.statuses(deployment_id)
    assert [(s["state"], s.get("environment_url"), s["auto_inactive"]) for s in statuses] == [
        ("in_progress", None, False),
        ("success", "https://app", False),
    ]
