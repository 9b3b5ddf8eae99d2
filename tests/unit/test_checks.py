"""app.yml's own checks: what a check may say, and that its path never leaves the app's own host."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from deployer.checks import AppCheck
from deployer.commands._verify import target_of
from deployer.errors import ConfigError
from deployer.settings import Settings


@pytest.mark.parametrize("path", ["/", "/api/health", "/a?b=c&d=%2F", "/login.html#top"])
def test_a_path_on_the_apps_own_host_is_accepted(path: str) -> None:
    assert AppCheck(path=path).path == path


@pytest.mark.parametrize(
    "path",
    ["//evil.example/x", "/\\evil.example", "https://evil.example/", "api/health", "", "/a b", "/\x00", "/ä"],
)
def test_a_path_that_could_reach_another_host_is_refused(path: str) -> None:
    with pytest.raises(ValidationError, match="not a path on the app's own URL"):
        AppCheck(path=path)


def test_defaults_and_names() -> None:
    check = AppCheck(path="/api/items", sign_in=True, contains="[")
    assert (check.method, check.status) == ("GET", 200)
    assert check.name == "GET /api/items is 200 with '[' (signed in)"


@pytest.mark.parametrize("extra", [{"method": "DELETE"}, {"status": 99}, {"status": 600}, {"colour": "red"}])
def test_unknown_methods_statuses_and_keys_are_refused(extra: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        AppCheck.model_validate({"path": "/", **extra})


def test_app_yml_checks_are_read_and_a_bad_one_names_its_key(tmp_path: Path) -> None:
    (tmp_path / "app.yml").write_text("checks:\n  - {path: /api/health, status: 204}\n")
    settings = Settings.load(cli={"app_dir": tmp_path}, environ={})
    assert settings.checks == (AppCheck(path="/api/health", status=204),)
    (tmp_path / "app.yml").write_text("checks:\n  - {path: //evil.example}\n")
    with pytest.raises(ConfigError, match="checks"):
        Settings.load(cli={"app_dir": tmp_path}, environ={})


@pytest.mark.parametrize("path", ["/..//evil.example/x", "/a/../..//evil.example", "/%2F%2Fevil.example"])
def test_dot_segments_never_move_a_check_to_another_host(path: str) -> None:
    """Such paths pass the check above; the request is still sent to the app's own host."""
    target, _ = target_of("https://items-app.demo.workers.dev", AppCheck(path=path).path)
    assert target.host == "items-app.demo.workers.dev"
    local, local_headers = target_of("http://items-app.demo.workers.dev.localhost:8787", path)
    assert (local.host, local_headers["Host"]) == ("127.0.0.1", "items-app.demo.workers.dev.localhost:8787")
