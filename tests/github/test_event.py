"""Reading the event: the commit to report, the pull request, forks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deployer.errors import ConfigError
from deployer.github.event import Event, PullRequest, load_event
from tests.github.harness import EVENTS, event_name_of

MERGE_SHA = "e5bd3914e2e596debea16f433f57875b5b90bcd6"


def environ_for(fixture: str, **extra: str) -> dict[str, str]:
    return {
        "GITHUB_EVENT_NAME": event_name_of(fixture),
        "GITHUB_EVENT_PATH": str(EVENTS / fixture),
        "GITHUB_SHA": MERGE_SHA,
        "GITHUB_REPOSITORY": "octo-org/hello-apps",
        "GITHUB_RUN_ID": "99",
        **extra,
    }


@pytest.mark.parametrize(
    ("fixture", "sha", "number", "fork"),
    [
        pytest.param("pull_request.opened.json", "6dcb09b5b57875f334f61aebed695e2e4193db5e", 7, False, id="opened"),
        pytest.param("pull_request.synchronize.json", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", 7, False, id="sync"),
        pytest.param("pull_request.fork.json", "f00dfacef00dfacef00dfacef00dfacef00dface", 8, True, id="fork"),
        pytest.param("pull_request_target.fork.json", "f00dfacef00dfacef00dfacef00dfacef00dface", 8, True, id="target"),
        pytest.param("workflow_run.same_repo.json", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", 7, None, id="run"),
        pytest.param("workflow_run.fork.json", "f00dfacef00dfacef00dfacef00dfacef00dface", None, None, id="run-fork"),
        pytest.param("push.main.json", MERGE_SHA, None, None, id="push"),
        pytest.param("schedule.json", MERGE_SHA, None, None, id="schedule"),
    ],
)
def test_each_event_names_its_commit_and_pull_request(
    fixture: str, sha: str, number: int | None, fork: bool | None
) -> None:
    """Pull requests report head.sha (not the merge commit GITHUB_SHA), workflow_run its head_sha."""
    event = load_event(environ_for(fixture))
    assert event.sha == sha
    assert (event.pull_request.number if event.pull_request else None) == number
    if fork is not None:
        assert event.untrusted_pull_request is fork


def test_the_pull_request_input_names_the_pull_request_of_a_fork_workflow_run() -> None:
    """workflow_run.pull_requests is empty for forks; the pull-request input fills in the number."""
    event = load_event(environ_for("workflow_run.fork.json"), pull_request_number=8)
    assert event.pull_request is not None
    assert event.pull_request.number == 8
    assert not event.untrusted_pull_request


def test_links_point_at_the_run_and_the_commit() -> None:
    """The run's logs link and the commit link are built from the server URL and the repository."""
    event = load_event(environ_for("push.main.json", GITHUB_RUN_ATTEMPT="2", GITHUB_SERVER_URL="https://ghe.example/"))
    assert event.run_url == "https://ghe.example/octo-org/hello-apps/actions/runs/99/attempts/2"
    assert event.commit_url() == f"https://ghe.example/octo-org/hello-apps/commit/{MERGE_SHA}"
    assert event.api_url == "https://api.github.com"


def test_outside_actions_there_is_no_event() -> None:
    """Without the runner's variables the event is empty and has no links."""
    event = load_event({})
    assert (event.name, event.sha, event.pull_request, event.run_url) == ("", "", None, "")
    assert (event.repository, event.commit_url(), event.commit_url("abc")) == ("", "", "")
    assert (event.server_url, event.api_url) == ("https://github.com", "https://api.github.com")


def test_the_repository_comes_from_the_runner_else_from_the_payload() -> None:
    """GITHUB_REPOSITORY wins; without it the payload's repository.full_name is used."""
    from_payload = load_event({k: v for k, v in environ_for("push.main.json").items() if k != "GITHUB_REPOSITORY"})
    assert from_payload.repository == "octo-org/hello-apps"
    assert from_payload.commit_url("abc") == "https://github.com/octo-org/hello-apps/commit/abc"
    named = load_event(environ_for("push.main.json", GITHUB_REPOSITORY="someone/else"))
    assert named.repository == "someone/else"


def test_an_unreadable_payload_is_a_config_error(tmp_path: Path) -> None:
    """A GITHUB_EVENT_PATH that is not JSON fails with a message naming it."""
    bad = tmp_path / "event.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="GITHUB_EVENT_PATH"):
        load_event({"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(bad)})


def test_a_pull_request_whose_fork_was_deleted_is_untrusted(tmp_path: Path) -> None:
    """`head.repo: null` (the fork is gone): whose code it is cannot be told, so it counts as a fork's."""
    payload = json.loads((EVENTS / "pull_request.fork.json").read_text())
    payload["pull_request"]["head"]["repo"] = None
    (tmp_path / "event.json").write_text(json.dumps(payload))
    environ = {**environ_for("pull_request.fork.json"), "GITHUB_EVENT_PATH": str(tmp_path / "event.json")}
    event = load_event(environ)
    assert event.pull_request is not None and event.pull_request.head_repository is None
    assert event.untrusted_pull_request


def test_outside_actions_every_field_is_empty_or_a_default() -> None:
    """No runner variables: empty strings (never None) and github.com's own URLs."""
    assert load_event({}) == Event(
        name="",
        repository="",
        sha="",
        pull_request=None,
        server_url="https://github.com",
        api_url="https://api.github.com",
        run_id="",
        run_attempt="",
    )


@pytest.mark.parametrize(
    ("environ", "run_url"),
    [
        pytest.param({"GITHUB_REPOSITORY": "o/r"}, "", id="no-run-id"),
        pytest.param({"GITHUB_RUN_ID": "5"}, "", id="no-repository"),
        pytest.param(
            {"GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "5"},
            "https://github.com/o/r/actions/runs/5",
            id="first-attempt",
        ),
    ],
)
def test_the_run_link_needs_the_repository_and_the_run_id(environ: dict[str, str], run_url: str) -> None:
    """Without both there is no link; without an attempt number the link names no attempt."""
    assert load_event(environ).run_url == run_url


@pytest.mark.parametrize(
    ("variable", "given", "expected"),
    [
        pytest.param("GITHUB_SERVER_URL", "https://ghe.example/", "https://ghe.example", id="server-slash"),
        pytest.param("GITHUB_SERVER_URL", "https://ghe.example/GHX//", "https://ghe.example/GHX", id="server-path"),
        pytest.param("GITHUB_API_URL", "https://ghe.example/api/v3/", "https://ghe.example/api/v3", id="api-slash"),
        pytest.param("GITHUB_API_URL", "https://ghe.example/api/X", "https://ghe.example/api/X", id="api-no-slash"),
    ],
)
def test_a_server_and_api_url_lose_only_their_trailing_slashes(variable: str, given: str, expected: str) -> None:
    """GitHub Enterprise Server URLs are taken as given, minus the trailing slashes (links append `/…`)."""
    event = load_event({variable: given})
    assert (event.server_url if variable == "GITHUB_SERVER_URL" else event.api_url) == expected


def write_event(tmp_path: Path, payload: object) -> str:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("name", "payload"),
    [
        pytest.param("pull_request_review", {"pull_request": {"number": 3, "head": {"sha": "abc"}}}, id="review"),
        pytest.param("push", {"workflow_run": {"head_sha": "abc", "pull_requests": [{"number": 3}]}}, id="push"),
        pytest.param("pull_request", {}, id="pull-request-without-payload"),
        pytest.param("workflow_run", {}, id="workflow-run-without-payload"),
        pytest.param("pull_request", ["not", "an", "object"], id="payload-not-an-object"),
    ],
)
def test_only_the_events_that_carry_a_pull_request_name_one(tmp_path: Path, name: str, payload: object) -> None:
    """Another event's payload, or a payload without the expected object: GITHUB_SHA and no pull request."""
    environ = {"GITHUB_EVENT_NAME": name, "GITHUB_EVENT_PATH": write_event(tmp_path, payload), "GITHUB_SHA": MERGE_SHA}
    event = load_event(environ)
    assert (event.sha, event.pull_request) == (MERGE_SHA, None)


def test_a_pull_request_without_a_head_sha_reports_github_sha(tmp_path: Path) -> None:
    """A pull request object lacking its number and head: number 0, and the commit falls back to GITHUB_SHA."""
    path = write_event(tmp_path, {"pull_request": {}})
    event = load_event({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": path, "GITHUB_SHA": MERGE_SHA})
    assert event.sha == MERGE_SHA
    assert event.pull_request == PullRequest(number=0, head_sha="", head_repository=None, base_repository=None)


def test_the_pull_request_input_keeps_the_payloads_pull_request_of_the_same_number() -> None:
    """The input naming the payload's own pull request changes nothing: a fork's stays a fork's."""
    event = load_event(environ_for("pull_request.fork.json"), pull_request_number=8)
    assert event.pull_request == load_event(environ_for("pull_request.fork.json")).pull_request
    assert event.untrusted_pull_request


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param(
            environ_for("push.main.json"),
            PullRequest(
                number=12,
                head_sha=MERGE_SHA,
                head_repository="octo-org/hello-apps",
                base_repository="octo-org/hello-apps",
            ),
            id="in-actions",
        ),
        pytest.param({}, PullRequest(number=12, head_sha="", head_repository=None, base_repository=None), id="outside"),
    ],
)
def test_the_pull_request_input_alone_names_a_pull_request_of_this_repository(
    environ: dict[str, str], expected: PullRequest
) -> None:
    """A number the payload does not know: this repository's pull request at the reported commit."""
    assert load_event(environ, pull_request_number=12).pull_request == expected


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(
            "{not json", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)", id="not-json"
        ),
        pytest.param(None, "[Errno 2] No such file or directory: '{path}'", id="missing"),
    ],
)
def test_an_unreadable_payload_says_where_and_why(tmp_path: Path, content: str | None, reason: str) -> None:
    """The message names the path and the reason; the hint says who writes the file."""
    path = tmp_path / "event.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_event({"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(path)})
    assert caught.value.message == f"Cannot read the event payload at GITHUB_EVENT_PATH={path}: " + reason.format(
        path=path
    )
    assert caught.value.hint == "The runner writes this file; outside Actions, unset GITHUB_EVENT_PATH."
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
