"""The account's workers.dev subdomain."""

from __future__ import annotations

import httpx

from cfemu.launcher import Emulator
from tests.emulator.helpers import account_client, errors, result


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
