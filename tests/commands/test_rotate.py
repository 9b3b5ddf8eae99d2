"""`rotate` refuses, before any change, what it cannot do well: each refusal names the input and the fix, and
the Worker's versions, deployments, bindings and tags are exactly as they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from cfemu.launcher import Emulator
from deployer.commands import Options, execute
from deployer.errors import ConfigError
from deployer.rotation import Mode
from devkit.example import EXAMPLE_SCRIPT
from tests.commands.conftest import settings_for
from tests.commands.test_deploy import deploy
from tests.emulator.helpers import account_client, result, script_form


def remote_snapshot(emulator: Emulator) -> tuple[object, ...]:
    """Everything a rotation could change: versions, deployments, settings (bindings, tags) and secrets."""
    base = f"/workers/scripts/{EXAMPLE_SCRIPT}"
    with account_client(emulator) as api:
        return tuple(result(api.get(base + path)) for path in ("/versions", "/deployments", "/settings", "/secrets"))


@pytest.mark.parametrize(
    ("names", "mode", "environ", "message", "fix"),
    [
        pytest.param(
            ("MODE",),
            None,
            {"MODE": "x"},
            "MODE is a plain_text binding of the Worker items-app, not a secret",
            "Rename the var or the secret",
            id="a-plain-var",
        ),
        pytest.param(
            ("APP_PASSWORD",),
            None,
            {"APP_PASSWORD": ""},
            "No new value for APP_PASSWORD",
            "Pass the new APP_PASSWORD",
            id="an-empty-value",
        ),
        pytest.param(
            ("API_KEY",),
            None,
            {"API_KEY": "a-new-key-value"},
            "The Worker items-app has no secret named API_KEY",
            "deploy it with its first value",
            id="a-secret-the-worker-lacks",
        ),
        pytest.param(
            ("APP_PASSWORD",),
            "revoke",
            {"APP_PASSWORD": "another-password"},
            "mode: revoke applies to SESSION_SECRET only, not to APP_PASSWORD",
            "add SESSION_SECRET to the secrets to rotate",
            id="a-mode-for-a-password",
        ),
        pytest.param(
            ("SESSION_SECRET",),
            None,
            {"SESSION_SECRET": "chosen-by-hand-123"},
            "rotate generates the new session key itself",
            "Leave out the session-secret input",
            id="a-value-for-the-generated-key",
        ),
        pytest.param(
            ("SESSION_SECRET_PREVIOUS",),
            None,
            {},
            "SESSION_SECRET_PREVIOUS is not rotated on its own",
            "mode: revoke removes it",
            id="the-previous-key",
        ),
    ],
)
async def test_each_refusal_names_the_input_and_the_fix_and_changes_nothing(
    emulator: Emulator,
    app: Path,
    names: tuple[str, ...],
    mode: Mode | None,
    environ: dict[str, str],
    message: str,
    fix: str,
) -> None:
    (app / "app.yml").write_text((app / "app.yml").read_text() + "vars:\n  MODE: live\n")
    await deploy(emulator, app)
    before = remote_snapshot(emulator)
    settings = settings_for(emulator, app, **environ)
    if names != ("SESSION_SECRET_PREVIOUS",):
        settings = settings.model_copy(update={"secrets": (*settings.secrets, *names)})
    with pytest.raises(ConfigError) as refused:
        await execute("rotate", settings, Options(rotate=names, rotate_mode=mode))
    assert message in refused.value.message
    assert refused.value.hint is not None and fix in refused.value.hint
    assert remote_snapshot(emulator) == before


async def test_a_worker_that_does_not_exist_is_refused(emulator: Emulator, app: Path) -> None:
    with pytest.raises(ConfigError, match="There is no Worker named items-app to rotate secrets of"):
        await execute("rotate", settings_for(emulator, app), Options())
    with account_client(emulator) as api:
        assert result(api.get("/workers/scripts")) == []


async def test_a_gradual_deployment_is_not_ended_by_a_rotation(emulator: Emulator, app: Path) -> None:
    """Two versions share the traffic: rotate refuses before any change, whichever of them is newest."""
    await deploy(emulator, app)
    base = f"/workers/scripts/{EXAMPLE_SCRIPT}"
    with account_client(emulator) as api:
        (live,) = result(api.get(base + "/deployments"))["deployments"][0]["versions"]
        metadata = {"main_module": "worker.js", "keep_assets": True, "keep_bindings": ["secret_text"]}
        metadata["bindings"] = [{"type": "inherit", "name": name} for name in ("DB", "ASSETS")]
        code = {
            "worker.js": (b"export default { fetch() { return new Response('v2') } };", "application/javascript+module")
        }
        newer = result(api.post(base + "/versions", files=script_form(metadata, code)))["id"]
        split = [{"version_id": live["version_id"], "percentage": 90}, {"version_id": newer, "percentage": 10}]
        result(api.post(base + "/deployments", json={"strategy": "percentage", "versions": split}))
    before = remote_snapshot(emulator)
    with pytest.raises(ConfigError, match=r"gradual deployment \(2 versions share its traffic: 90% / 10%\)"):
        await execute("rotate", settings_for(emulator, app), Options())
    assert remote_snapshot(emulator) == before
