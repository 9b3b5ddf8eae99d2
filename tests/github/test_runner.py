"""The runner contract: inputs, outputs file, summary and workflow commands."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from deployer.github.runner import Runner, error_command, input_variable, workflow_command, write_outputs
from devkit.outputs import read_outputs


def test_input_names_keep_their_hyphens() -> None:
    """`api-token` is read from INPUT_API-TOKEN (not INPUT_API_TOKEN); spaces become underscores."""
    assert input_variable("api-token") == "INPUT_API-TOKEN"
    assert input_variable("my input") == "INPUT_MY_INPUT"
    runner = Runner({"INPUT_API-TOKEN": "  t  ", "INPUT_API_TOKEN": "wrong"})
    assert runner.input("api-token") == "t"
    assert runner.input("app-dir", ".") == "."


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("", True, id="empty-default"),
        pytest.param("true", True, id="true"),
        pytest.param("TRUE", True, id="TRUE"),
        pytest.param("False", False, id="False"),
        pytest.param("yes", None, id="yes-is-not-yaml-1.2"),
    ],
)
def test_boolean_inputs_follow_yaml_core_booleans(raw: str, expected: bool | None) -> None:
    """Booleans accept true/True/TRUE and false/False/FALSE; anything else is None (the caller's error)."""
    assert Runner({"INPUT_VERIFY": raw}).bool_input("verify", default=True) is expected


def test_multi_line_outputs_use_a_delimiter_that_is_not_in_the_value(tmp_path: Path) -> None:
    """A value with newlines is written as name<<DELIM … DELIM and reads back unchanged."""
    path = tmp_path / "out"
    value = "line one\nname=not-an-output\nghadelimiter_x"
    write_outputs(path, {"url": "https://a.example", "report": value})
    text = path.read_text(encoding="utf-8")
    delimiter = text.splitlines()[1].split("<<", 1)[1]
    assert delimiter.startswith("ghadelimiter_")
    assert delimiter not in value
    assert read_outputs(path) == {"url": "https://a.example", "report": value}


def test_outputs_are_appended_and_a_repeated_value_is_not_rewritten(tmp_path: Path) -> None:
    """set_outputs appends to GITHUB_OUTPUT, remembers every output, and skips unchanged values."""
    path = tmp_path / "out"
    path.write_text("earlier=step\n", encoding="utf-8")
    runner = Runner({"GITHUB_OUTPUT": str(path)})
    runner.set_outputs({"script-name": "app"})
    runner.set_outputs({"script-name": "app", "status": "deployed"})
    assert path.read_text(encoding="utf-8") == "earlier=step\nscript-name=app\nstatus=deployed\n"
    assert runner.outputs == {"script-name": "app", "status": "deployed"}


def test_masks_are_sent_once_per_line_of_a_multi_line_secret() -> None:
    """Each line of a multi-line secret is masked on its own, escaped, and each value only once."""
    out = io.StringIO()
    runner = Runner({}, out)
    runner.mask("-----BEGIN KEY-----\nabc%def\n")
    runner.mask("abc%def")
    runner.mask("")
    assert out.getvalue().splitlines() == ["::add-mask::-----BEGIN KEY-----", "::add-mask::abc%25def"]


def test_commands_escape_data_and_properties() -> None:
    """Data escapes %, CR, LF; properties also ':' and ','; empty properties are left out."""
    assert workflow_command("notice", "50% done\nnext", title="a:b,c") == "::notice title=a%3Ab%2Cc::50%25 done%0Anext"
    assert error_command("boom", file="app/app.yml", line=3, title=None) == "::error file=app/app.yml,line=3::boom"


def test_groups_wrap_the_block_even_when_it_fails() -> None:
    """::group:: and ::endgroup:: surround a block, also one that raises."""
    out = io.StringIO()
    runner = Runner({}, out)

    def failing_step() -> None:
        with runner.group("Deploy app"):
            print("inside", file=out)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        failing_step()
    assert out.getvalue().splitlines() == ["::group::Deploy app", "inside", "::endgroup::"]


def test_the_summary_is_appended_and_cut_before_the_runner_limit(tmp_path: Path) -> None:
    """Markdown is appended to GITHUB_STEP_SUMMARY; past ~1 MiB it is truncated with a note."""
    path = tmp_path / "summary"
    runner = Runner({"GITHUB_STEP_SUMMARY": str(path)})
    runner.summary("# one")
    runner.summary("x" * (2 * 1024 * 1024))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# one\n")
    assert text.endswith("*(summary truncated)*\n")
    assert len(text.encode()) < 1024 * 1024


def test_without_runner_files_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside Actions (no GITHUB_OUTPUT / GITHUB_STEP_SUMMARY) outputs are only remembered: no file appears."""
    monkeypatch.chdir(tmp_path)
    stdout = io.StringIO()
    runner = Runner({}, stdout)
    runner.set_outputs({"url": "u"})
    runner.summary("# s")
    assert runner.outputs == {"url": "u"}
    assert list(tmp_path.iterdir()) == []
    assert stdout.getvalue() == ""


def test_masked_values_are_scrubbed_from_outputs_and_the_summary(tmp_path: Path) -> None:
    """What the runner does not mask itself (the outputs file, the summary) never carries a masked value."""
    outputs, summary = tmp_path / "out", tmp_path / "summary"
    runner = Runner({"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}, io.StringIO())
    runner.mask("s3cr3t-token")
    runner.set_outputs({"error": "header value b'Bearer s3cr3t-token' refused"})
    runner.summary("| error | s3cr3t-token |")
    assert "s3cr3t-token" not in outputs.read_text() + summary.read_text()
    assert "Bearer ***" in outputs.read_text()
