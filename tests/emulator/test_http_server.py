"""The emulator's HTTP server: keep-alive without Nagle stalls, no Server header, and Host-based routing."""

from __future__ import annotations

import time

import httpx

from cfemu.launcher import Emulator
from devkit.loopback import localhost_client
from tests.emulator.helpers import put_script, result


def test_keep_alive_requests_do_not_stall(emulator: Emulator) -> None:
    """20 GETs on one keep-alive connection take well under the ~40 ms each a Nagle/delayed-ACK stall costs."""
    url = f"{emulator.api_base_url}/accounts/{emulator.account_id}/workers/subdomain"
    with httpx.Client(headers={"Authorization": f"Bearer {emulator.api_token}"}, trust_env=False) as client:
        assert client.get(url).status_code == 200  # opens the connection
        started = time.perf_counter()
        for _ in range(20):
            assert client.get(url).status_code == 200
        elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"20 keep-alive requests took {elapsed:.3f} s"


def test_answers_carry_no_server_header(emulator: Emulator) -> None:
    """Cloudflare's API does not name uvicorn; neither does the emulator."""
    response = httpx.get(f"{emulator.root_url}/__emulator/health", trust_env=False)
    assert response.status_code == 200
    assert "server" not in response.headers


def test_loopback_names_other_than_workers_dev_are_the_api(emulator: Emulator) -> None:
    """`localhost:PORT` is the API like `127.0.0.1:PORT`, authentication included."""
    with localhost_client(f"http://localhost:{emulator.port}") as client:
        response = client.get(f"/client/v4/accounts/{emulator.account_id}/workers/subdomain")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 9106


def test_workers_dev_host_without_runtime_says_so_and_is_not_logged(api: httpx.Client, emulator: Emulator) -> None:
    """With --no-runtime a deployed script's URL answers 503 naming the flag; such requests skip the API log."""
    result(put_script(api, "stored-only"))
    result(api.post("/workers/scripts/stored-only/subdomain", json={"enabled": True}))
    seq = emulator.last_seq()
    with localhost_client(emulator.workers_url("stored-only")) as client:
        response = client.get("/")
        unknown = client.get("/", headers={"Host": f"ghost.demo.workers.dev.localhost:{emulator.port}"})
    assert response.status_code == 503
    assert "--no-runtime" in response.text
    assert unknown.status_code == 404
    assert emulator.requests(since=seq) == []
