"""The GitHub client against the fake GitHub: pagination, the sticky comment, errors that name the fix."""

from __future__ import annotations

import asyncio

import pytest

from deployer.errors import GitHubAPIError
from deployer.github.api import GitHubClient
from deployer.github.publish import Deployment, retire_environment, upsert_comment
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


async def test_two_upserts_at_once_leave_one_comment(github: FakeGitHub) -> None:
    """Both find no comment and both create one; each then looks again, and the one whose comment is not the
    first with the marker deletes its own and edits the first."""
    async with client(github) as gh:
        await asyncio.gather(
            upsert_comment(gh, 7, marker=MARKER, body=f"{MARKER}\none"),
            upsert_comment(gh, 7, marker=MARKER, body=f"{MARKER}\ntwo"),
        )
    writes = [c.method for c in github.calls if c.method != "GET"]
    assert writes == ["POST", "POST", "DELETE", "PATCH"]  # the race did happen, and was undone
    (comment,) = github.comments(7)
    assert comment["body"] in (f"{MARKER}\none", f"{MARKER}\ntwo")


async def test_a_removed_previews_deployments_all_become_inactive(github: FakeGitHub) -> None:
    """Every Deployment to the preview's environment, across pages, and none of another environment."""
    async with client(github) as gh:
        for _ in range(101):  # one more than a page
            await gh.create_deployment(
                ref="abc", environment="preview/pr-7", description="x", production=False, transient=True
            )
        other = await Deployment(gh, ref="abc", environment="preview/pr-8", production=False, log_url="").start("x")
        assert await retire_environment(gh, "preview/pr-7", description="Preview removed") == 101
    assert any(c.query.get("page") == ["2"] for c in github.calls if c.method == "GET")
    for deployment in github.deployments():
        states = [status["state"] for status in github.statuses(deployment["id"])]
        assert states == (["in_progress"] if deployment["id"] == other else ["inactive"])


async def test_a_pull_requests_state_is_read(github: FakeGitHub) -> None:
    github.set_pull_request(7, "closed")
    async with client(github) as gh:
        assert (await gh.pull_request(7)).state == "closed"
        with pytest.raises(GitHubAPIError, match="HTTP 404"):
            await gh.pull_request(8)


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
