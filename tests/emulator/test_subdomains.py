"""The account's workers.dev subdomain."""

from __future__ import annotations

import httpx

from cfemu.launcher import Emulator
from tests.emulator.helpers import account_client, errors, put_script, result, script_form

SUBDOMAIN_REQUIRED = (
    "You need a workers.dev subdomain in order to proceed. Please go to the dashboard and open the Workers menu."
    " Opening the Workers landing page for the first time will create a workers.dev subdomain automatically."
)


def test_subdomain_from_command_line(api: httpx.Client) -> None:
    """`--subdomain demo` makes GET answer `{subdomain: demo}`."""
    assert result(api.get("/workers/subdomain")) == {"subdomain": "demo"}


def test_no_subdomain_is_10007(emulator_without_subdomain: Emulator) -> None:
    """A brand-new account has no subdomain: HTTP 404 code 10007."""
    with account_client(emulator_without_subdomain) as client:
        response = client.get("/workers/subdomain")
    assert response.status_code == 404
    assert errors(response) == [(10007, "You do not have a workers.dev subdomain")]


def test_put_registers_subdomain(emulator_without_subdomain: Emulator) -> None:
    """PUT registers the subdomain and GET then returns it."""
    with account_client(emulator_without_subdomain) as client:
        assert result(client.put("/workers/subdomain", json={"subdomain": "my-handle"})) == {"subdomain": "my-handle"}
        assert result(client.get("/workers/subdomain")) == {"subdomain": "my-handle"}


def test_put_rejects_invalid_name(api: httpx.Client) -> None:
    """A name that breaks the workers.dev rules is rejected."""
    response = api.put("/workers/subdomain", json={"subdomain": "-Bad_Name"})
    assert response.status_code == 400


def test_availability_free_is_10032(api: httpx.Client) -> None:
    """The availability check fails with 10032 for a free name."""
    assert errors(api.get("/workers/subdomains/someone-else"))[0][0] == 10032


def test_availability_taken_is_10031(api: httpx.Client) -> None:
    """The availability check fails with 10031 for the account's own name."""
    assert errors(api.get("/workers/subdomains/demo"))[0][0] == 10031


def test_the_first_upload_without_a_subdomain_is_10063(emulator_without_subdomain: Emulator) -> None:
    """A brand-new account's first Worker upload fails with 10063 (issue workers-sdk#9045) and creates nothing;
    once a subdomain is registered, the same upload succeeds."""
    with account_client(emulator_without_subdomain) as client:
        response = put_script(client, "first-app")
        assert response.status_code == 400
        assert errors(response) == [(10063, SUBDOMAIN_REQUIRED)]
        assert result(client.get("/workers/scripts")) == []
        assert errors(client.get("/workers/services/first-app"))[0][0] == 10090
        result(client.put("/workers/subdomain", json={"subdomain": "my-handle"}))
        assert result(put_script(client, "first-app"))["id"] == "first-app"


def test_an_existing_worker_still_takes_uploads_after_the_subdomain_is_removed(
    emulator_without_subdomain: Emulator,
) -> None:
    """Only creating a Worker needs the subdomain (GUESS): a new version or a re-upload of an existing one do not."""
    with account_client(emulator_without_subdomain) as client:
        result(client.put("/workers/subdomain", json={"subdomain": "my-handle"}))
        result(put_script(client, "app"))
        result(client.delete("/workers/subdomain"))
        result(put_script(client, "app"))
        form = script_form({"main_module": "index.js"})
        assert result(client.post("/workers/scripts/app/versions", files=form))["number"] == 3
        assert errors(put_script(client, "another-app"))[0][0] == 10063
