"""Reading the event: the commit to report, the pull request, forks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deployer.errors import ConfigError
from deployer.github.event import load_event
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
