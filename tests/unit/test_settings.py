"""Settings: where values come from, which source wins, and how bad values are reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployer.errors import ConfigError
from deployer.settings import DEFAULT_API_BASE_URL, Settings


def write_app_yml(app_dir: Path, text: str) -> Path:
    app_dir.mkdir(parents=True, exist_ok=True)
    path = app_dir / "app.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_apply_when_nothing_is_set(tmp_path: Path) -> None:
    """Without flags, environment or app.yml, the defaults hold and the name comes from the folder."""
    app = tmp_path / "my-app"
    app.mkdir()
    settings = Settings.load(cli={"app_dir": app}, environ={})
    assert settings.api_base_url == DEFAULT_API_BASE_URL
    assert settings.script_name == "my-app"
    assert settings.database_name == "my-app-db"
    assert settings.d1.binding == "DB"
    assert settings.assets.html_handling == "auto-trailing-slash"


def test_app_yml_is_read_from_the_app_folder(tmp_path: Path) -> None:
    """Every app.yml key reaches the model."""
    write_app_yml(
        tmp_path,
        "name: shop\ncompatibility_date: '2025-02-03'\ncompatibility_flags: [nodejs_compat]\n"
        "assets: {html_handling: none, not_found_handling: 404-page, run_worker_first: ['/api/*']}\n"
        "d1: {name: shop-data, binding: STORE}\nvars: {GREETING: hi}\nsecrets: [APP_PASSWORD, STRIPE_KEY]\n",
    )
    settings = Settings.load(cli={"app_dir": tmp_path}, environ={"STRIPE_KEY": "sk", "APP_PASSWORD": "pw"})
    assert settings.script_name == "shop"
    assert settings.compatibility_flags == ("nodejs_compat",)
    assert settings.assets.run_worker_first == ["/api/*"]
    assert settings.database_name == "shop-data"
    assert settings.d1.binding == "STORE"
    assert settings.vars == {"GREETING": "hi"}
    assert {k: v.get_secret_value() for k, v in settings.secret_values().items()} == {
        "APP_PASSWORD": "pw",
        "STRIPE_KEY": "sk",
    }


@pytest.mark.parametrize(
    ("cli", "environ", "expected"),
    [
        pytest.param({}, {}, "from-yml", id="app.yml-over-default"),
        pytest.param({}, {"INPUT_NAME": "from-input"}, "from-input", id="input-over-app.yml"),
        pytest.param({"name": "from-cli"}, {"INPUT_NAME": "from-input"}, "from-cli", id="cli-over-input"),
        pytest.param({}, {"INPUT_NAME": ""}, "from-yml", id="empty-input-is-unset"),
    ],
)
def test_precedence_is_cli_then_environment_then_app_yml(
    tmp_path: Path, cli: dict[str, str], environ: dict[str, str], expected: str
) -> None:
    """CLI flags beat the environment, which beats app.yml, which beats defaults."""
    write_app_yml(tmp_path, "name: from-yml\n")
    settings = Settings.load(cli={"app_dir": tmp_path, **cli}, environ=environ)
    assert settings.name == expected


def test_inputs_keep_their_hyphens_and_beat_conventional_names(tmp_path: Path) -> None:
    """`INPUT_API-TOKEN` (how the runner spells input api-token) wins over CLOUDFLARE_API_TOKEN."""
    environ = {
        "INPUT_API-TOKEN": "from-input",
        "CLOUDFLARE_API_TOKEN": "from-env",
        "CLOUDFLARE_ACCOUNT_ID": "0123456789abcdef0123456789abcdef",
        "INPUT_API-BASE-URL": "http://127.0.0.1:9/client/v4/",
    }
    settings = Settings.load(cli={"app_dir": tmp_path}, environ=environ)
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == "from-input"
    assert settings.account_id == "0123456789abcdef0123456789abcdef"
    assert settings.api_base_url == "http://127.0.0.1:9/client/v4"


def test_secret_values_never_show_in_repr(tmp_path: Path) -> None:
    """Tokens and passwords are SecretStr: printing the settings does not reveal them."""
    environ = {"CLOUDFLARE_API_TOKEN": "tok-123456", "APP_PASSWORD": "hunter2-pw"}
    settings = Settings.load(cli={"app_dir": tmp_path}, environ=environ)
    text = repr(settings) + str(settings)
    assert "tok-123456" not in text
    assert "hunter2-pw" not in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("A=1\nB=two words\n", {"A": "1", "B": "two words"}, id="key-value-lines"),
        pytest.param("A: '1'\nB: x\n", {"A": "1", "B": "x"}, id="yaml-mapping"),
        pytest.param('{"A": "1"}', {"A": "1"}, id="json-object"),
    ],
)
def test_vars_input_accepts_lines_yaml_and_json(tmp_path: Path, raw: str, expected: dict[str, str]) -> None:
    """The `vars` input may be KEY=VALUE lines or a YAML/JSON mapping."""
    settings = Settings.load(cli={"app_dir": tmp_path}, environ={"INPUT_VARS": raw})
    assert settings.vars == expected


def test_an_invalid_app_yml_value_names_the_key_and_the_file(tmp_path: Path) -> None:
    """A bad value in app.yml says which key, that it came from app.yml, and points at its line."""
    path = write_app_yml(tmp_path, "name: ok\nassets:\n  html_handling: sometimes\n")
    with pytest.raises(ConfigError) as caught:
        Settings.load(cli={"app_dir": tmp_path}, environ={})
    message = str(caught.value)
    assert "assets.html_handling (from app.yml key assets.html_handling)" in message
    assert "auto-trailing-slash" in message
    assert caught.value.file == path
    assert caught.value.line == 3


def test_an_invalid_flag_names_the_flag(tmp_path: Path) -> None:
    """A bad --name is reported as coming from --name."""
    with pytest.raises(ConfigError, match=r"name \(from --name\): 'Bad_Name' is not a valid Worker name"):
        Settings.load(cli={"app_dir": tmp_path, "name": "Bad_Name"}, environ={})


def test_an_invalid_input_names_the_input_variable(tmp_path: Path) -> None:
    """A bad value from the runner names the INPUT_ variable it came from."""
    with pytest.raises(ConfigError, match=r"api_base_url \(from INPUT_API-BASE-URL\)"):
        Settings.load(cli={"app_dir": tmp_path}, environ={"INPUT_API-BASE-URL": "ftp://x"})


def test_every_invalid_field_is_reported_at_once(tmp_path: Path) -> None:
    """Several problems come back in one error, so one fix round is enough."""
    write_app_yml(tmp_path, "compatibility_date: tomorrow\nd1: {binding: 'no spaces'}\n")
    with pytest.raises(ConfigError, match="2 settings are invalid") as caught:
        Settings.load(cli={"app_dir": tmp_path}, environ={})
    assert "compatibility_date" in str(caught.value)
    assert "d1.binding" in str(caught.value)


def test_unknown_app_yml_keys_are_refused(tmp_path: Path) -> None:
    """A typo in app.yml is an error naming the key, not silently ignored."""
    write_app_yml(tmp_path, "name: x\ncompatibilty_date: '2025-01-01'\n")
    with pytest.raises(ConfigError, match="compatibilty_date: not a setting of this deployer") as caught:
        Settings.load(cli={"app_dir": tmp_path}, environ={})
    assert caught.value.line == 2


def test_broken_yaml_points_at_the_line(tmp_path: Path) -> None:
    """A YAML syntax error names app.yml and the line."""
    write_app_yml(tmp_path, "name: x\nassets:\n  html_handling: none\n bad: [\n")
    with pytest.raises(ConfigError, match="is not valid YAML") as caught:
        Settings.load(cli={"app_dir": tmp_path}, environ={})
    assert caught.value.line is not None


def test_a_name_both_var_and_secret_is_refused(tmp_path: Path) -> None:
    """One binding name cannot be both a plain var and a secret."""
    write_app_yml(tmp_path, "vars: {TOKEN: x}\nsecrets: [TOKEN]\n")
    with pytest.raises(ConfigError, match="TOKEN is declared both as a var and as a secret"):
        Settings.load(cli={"app_dir": tmp_path}, environ={})


def test_run_worker_first_rules_must_be_paths(tmp_path: Path) -> None:
    """run_worker_first route rules start with / or !/ as the API requires."""
    write_app_yml(tmp_path, "assets: {run_worker_first: ['api/*']}\n")
    with pytest.raises(ConfigError, match="must start with '/' or '!/'"):
        Settings.load(cli={"app_dir": tmp_path}, environ={})


def test_a_token_with_a_line_break_is_refused_without_echoing_it(tmp_path: Path) -> None:
    """A badly pasted token fails as a setting error that never shows the token."""
    with pytest.raises(ConfigError, match="printable ASCII") as caught:
        Settings.load(cli={"app_dir": tmp_path}, environ={"INPUT_API-TOKEN": "SECRETTOK\nEN2"})
    assert "SECRETTOK" not in str(caught.value)


def test_a_given_password_counts_as_declared(tmp_path: Path) -> None:
    """APP_PASSWORD given without being listed in app.yml is still sent, never silently dropped."""
    write_app_yml(tmp_path, "name: t6\n")
    settings = Settings.load(cli={"app_dir": tmp_path}, environ={"APP_PASSWORD": "pw1"})
    assert list(settings.secret_values()) == ["APP_PASSWORD"]


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        pytest.param("compatibility_date: 2025-02-03\n", "compatibility_date", "2025-02-03", id="unquoted-date"),
        pytest.param("vars: {DEBUG: true, PORT: 8080}\n", "vars", {"DEBUG": "true", "PORT": "8080"}, id="scalars"),
        pytest.param("secrets: APP_PASSWORD\n", "secrets", ("APP_PASSWORD",), id="one-secret-name"),
    ],
)
def test_app_yml_values_are_read_as_written(tmp_path: Path, text: str, field: str, expected: object) -> None:
    """YAML's typed scalars become what the user wrote: a date string, text vars, a one-name list."""
    write_app_yml(tmp_path, text)
    assert getattr(Settings.load(cli={"app_dir": tmp_path}, environ={}), field) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("A=1\nB\n", "INPUT_VARS line 2 has no '='", id="line-without-equals"),
        pytest.param("a: [", "INPUT_VARS is neither NAME=value lines nor a YAML mapping", id="broken-yaml"),
    ],
)
def test_a_malformed_vars_input_is_a_config_error(tmp_path: Path, raw: str, message: str) -> None:
    """A bad `vars` input names the input and the expected form."""
    with pytest.raises(ConfigError, match=message):
        Settings.load(cli={"app_dir": tmp_path}, environ={"INPUT_VARS": raw})


def test_an_app_yml_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    """A Latin-1 app.yml is reported with the file, not a traceback."""
    (tmp_path / "app.yml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="is not UTF-8"):
        Settings.load(cli={"app_dir": tmp_path}, environ={})


# --- what the app folder may and may not ask for (issue 9) ---------------------------------------------------


@pytest.mark.parametrize("name", ["CLOUDFLARE_API_TOKEN", "GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "RUNNER_TEMP",
                                  "INPUT_API-TOKEN", "CF_API_TOKEN", "github_token"])  # fmt: skip
def test_a_secret_may_not_be_named_after_the_deployers_own_variables(tmp_path: Path, name: str) -> None:
    """`secrets: [CLOUDFLARE_API_TOKEN]` in app.yml would hand the token to the Worker: refused, by name."""
    (tmp_path / "app.yml").write_text(f"secrets: [{name}]\n")
    with pytest.raises(ConfigError) as caught:
        Settings.load(cli={"app_dir": tmp_path}, environ={name: "the-value", "CLOUDFLARE_API_TOKEN": "tok"})
    assert "own variable" in caught.value.message or "identifiers" in caught.value.message
    assert "the-value" not in str(caught.value)


@pytest.mark.parametrize("variable", ["CLOUDFLARE_API_TOKEN", "GITHUB_TOKEN", "INPUT_GITHUB-TOKEN"])
def test_a_secret_whose_value_is_a_credential_of_the_run_is_not_sent(tmp_path: Path, variable: str) -> None:
    (tmp_path / "app.yml").write_text("secrets: [API_KEY]\n")
    environ = {variable: "credential-value-123", "API_KEY": "credential-value-123", "CLOUDFLARE_API_TOKEN": "tok"}
    environ[variable] = "credential-value-123"
    with pytest.raises(ConfigError, match="The value given for the secret API_KEY is this run's") as caught:
        Settings.load(cli={"app_dir": tmp_path}, environ=environ)
    assert "credential-value-123" not in str(caught.value)


def test_on_a_workflow_run_app_yml_may_not_declare_secrets(tmp_path: Path) -> None:
    """The fork-preview pattern deploys a pull request's files: its app.yml does not choose secrets."""
    (tmp_path / "app.yml").write_text("secrets: [DEPLOY_KEY]\n")
    environ = {"GITHUB_EVENT_NAME": "workflow_run", "DEPLOY_KEY": "k"}
    with pytest.raises(ConfigError, match="this is a workflow_run run"):
        Settings.load(cli={"app_dir": tmp_path}, environ=environ)
    named_by_the_workflow = Settings.load(
        cli={"app_dir": tmp_path / "nothing"}, environ={**environ, "INPUT_SECRETS": "DEPLOY_KEY"}
    )
    assert named_by_the_workflow.secrets == ("DEPLOY_KEY",)


def test_a_var_flag_overrides_one_key_of_app_yml(tmp_path: Path) -> None:
    (tmp_path / "app.yml").write_text("vars: {GREETING: hello, MODE: production}\n")
    settings = Settings.load(cli={"app_dir": tmp_path, "vars": {"MODE": "staging"}}, environ={"INPUT_VARS": "EXTRA=1"})
    assert settings.vars == {"GREETING": "hello", "MODE": "staging", "EXTRA": "1"}


def test_a_compatibility_date_in_the_future_is_refused_before_anything(tmp_path: Path) -> None:
    (tmp_path / "app.yml").write_text("compatibility_date: 2999-01-01\n")
    with pytest.raises(ConfigError, match=r"2999-01-01 is in the future \(today is"):
        Settings.load(cli={"app_dir": tmp_path}, environ={})


def test_an_account_id_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"account_id \(from CLOUDFLARE_ACCOUNT_ID\): an account id is 32 hex"):
        Settings.load(cli={"app_dir": tmp_path}, environ={"CLOUDFLARE_ACCOUNT_ID": "my-account"})


@pytest.mark.parametrize(("folder", "becomes"), [("Ünïcødé___", "'n-c-d'"), ("My_App", "'my-app'"), ("___", "nothing")])
def test_a_folder_name_that_is_not_a_worker_name_asks_for_an_explicit_name(
    tmp_path: Path, folder: str, becomes: str
) -> None:
    """Deriving a name would change it silently (and two folders could share a Worker): ask instead."""
    app = tmp_path / folder
    app.mkdir()
    settings = Settings.load(cli={"app_dir": app}, environ={})
    with pytest.raises(ConfigError, match="is not a valid Worker name") as caught:
        _ = settings.script_name
    assert becomes in caught.value.message
    assert "--name" in (caught.value.hint or "")
    assert Settings.load(cli={"app_dir": app, "name": "my-app"}, environ={}).script_name == "my-app"
