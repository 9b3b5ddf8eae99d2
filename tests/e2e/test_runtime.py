"""cfemu runs what was deployed: redeploys swap versions, broken uploads are refused, data lives in one D1 file.

One emulator and one deployed items-app for the module; every test leaves the app deployed and working.
"""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cfemu.launcher import running_emulator
from devkit.loopback import localhost_client
from tests.e2e.helpers import (
    APP_PASSWORD,
    DeployedApp,
    deploy,
    deploy_example,
    deployed_version_id,
    edited_copy,
    sign_in,
)
from tests.emulator.helpers import errors, put_script, result
from tests.integration.deploying import run_deploy

_copies = itertools.count(1)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedApp]:
    """items-app deployed by the CLI to a cfemu of this module's own."""
    root = tmp_path_factory.mktemp("e2e-runtime")
    with running_emulator(root / "cfemu", run_workers=True) as emu:
        yield deploy_example(emu, root)


def _variant(app: DeployedApp, append: dict[str, str]) -> Path:
    """A copy of the deployed app's folder with text appended to some files ({relative path: text})."""
    return edited_copy(app.app_dir, app.app_dir.parent / f"variant-{next(_copies)}" / "items-app", append=append)


def _wrapped_variant(app: DeployedApp, first: str) -> Path:
    """A variant whose Worker runs `first` (JavaScript with `req`, `env`, `ctx`) before the app's own fetch."""
    variant = _variant(app, {})
    code = (variant / "worker.js").read_text().replace("export default {", "const app = {", 1)
    (variant / "worker.js").write_text(
        code + f"\nexport default {{ fetch(req, env, ctx) {{\n  {first}\n  return app.fetch(req, env, ctx);\n}} }};\n"
    )
    return variant


def _listed(client: httpx.Client) -> list[str]:
    response = client.get("/api/items")
    assert response.status_code == 200, response.text
    return [row["name"] for row in response.json()]


def _add_item(client: httpx.Client, name: str) -> int:
    response = client.post("/api/items", json={"name": name})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_app_rows_reach_query_and_survive_a_code_only_redeploy(app: DeployedApp) -> None:
    """A row the app writes is in /query at once, and is still served after a code-only redeploy."""
    with app.client() as client:
        sign_in(client)
        item_id = _add_item(client, "written by the Worker")
        assert app.query("SELECT name FROM items WHERE id = ?", item_id) == [{"name": "written by the Worker"}]
        app.query("INSERT INTO items (name) VALUES (?)", "written through /query")
        assert {"written by the Worker", "written through /query"} <= set(_listed(client))

        before = deployed_version_id(app)
        assert deploy(app.emu, _variant(app, {"worker.js": "\n// a code-only change\n"})) == app.url
        assert deployed_version_id(app) != before
        assert {"written by the Worker", "written through /query"} <= set(_listed(client))  # same session, too
        assert app.query("SELECT count(*) AS n FROM items WHERE id = ?", item_id) == [{"n": 1}]


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("\nexport const broken = ;\n", "Uncaught SyntaxError: Unexpected token ';'"),
        ("\nthrow new Error('refusing to start');\n", "Uncaught Error: refusing to start"),
    ],
    ids=["syntax-error", "throws-at-startup"],
)
def test_broken_worker_is_refused_and_the_previous_version_keeps_answering(
    app: DeployedApp, broken: str, message: str
) -> None:
    """The CLI's upload fails with 10021 and workerd's message; the deployed version still serves."""
    with app.client() as client:
        sign_in(client)
        _add_item(client, f"before {message}")
        before = deployed_version_id(app)

        run = run_deploy(app.emu, _variant(app, {"worker.js": broken}))
        assert run.returncode != 0
        assert message in run.stderr and "[code: 10021]" in run.stderr

        assert deployed_version_id(app) == before
        assert f"before {message}" in _listed(client)
        assert client.get("/").status_code == 200


def test_direct_upload_of_a_throwing_worker_gets_a_10021_envelope(app: DeployedApp) -> None:
    """A PUT whose module throws at startup answers HTTP 400 code 10021 with the runtime's text."""
    code = b"throw new TypeError('no config'); export default { fetch() { return new Response('x'); } };"
    with app.api() as api:
        response = put_script(api, "thrower", modules={"index.js": (code, "application/javascript+module")})
    assert response.status_code == 400
    [(error_code, text)] = errors(response)
    assert error_code == 10021
    assert text.startswith("Uncaught TypeError: no config") and "index.js:1" in text


def test_secret_change_restarts_the_worker_with_the_new_value(app: DeployedApp) -> None:
    """After PUT .../secrets the running Worker accepts the new password and refuses the old one."""
    with app.api() as api:
        secret = {"name": "APP_PASSWORD", "text": "a brand new passphrase", "type": "secret_text"}
        result(api.put("/workers/scripts/items-app/secrets", json=secret))
        try:
            with app.client() as client:
                assert (
                    client.post("/login", data={"password": APP_PASSWORD}).headers["location"] == "/login.html?error=1"
                )
                sign_in(client, "a brand new passphrase")
        finally:
            result(api.put("/workers/scripts/items-app/secrets", json={**secret, "text": APP_PASSWORD}))
    with app.client() as client:
        sign_in(client)


def test_changed_asset_is_served_with_its_content_type(app: DeployedApp) -> None:
    """A redeploy with a changed public/login.html serves the new bytes as text/html."""
    deploy(app.emu, _variant(app, {"public/login.html": "<!-- asset v2 -->\n"}))
    with app.client() as client:
        response = client.get("/login.html")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text.endswith("<!-- asset v2 -->\n")


def test_a_script_not_enabled_on_workers_dev_answers_403(app: DeployedApp) -> None:
    """Turning the workers.dev toggle off makes the URL answer 403; turning it on again restores the app."""
    with app.api() as api, app.client() as client:
        result(api.delete("/workers/scripts/items-app/subdomain"))
        try:
            response = client.get("/login.html")
            assert response.status_code == 403
            assert "not enabled on workers.dev" in response.text
        finally:
            result(api.post("/workers/scripts/items-app/subdomain", json={"enabled": True}))
        assert client.get("/login.html").status_code == 200


@pytest.mark.parametrize("host", ["ghost.demo", "items-app.someone-else"])
def test_unknown_script_or_foreign_subdomain_answers_404(app: DeployedApp, host: str) -> None:
    """A workers.dev name with no script, or another account's subdomain, is not served."""
    with localhost_client(f"http://{host}.workers.dev.localhost:{app.emu.port}") as client:
        response = client.get("/")
    assert response.status_code == 404
    assert "no Worker is deployed" in response.text


def test_request_bodies_stream_to_the_worker_and_stay_out_of_the_api_log(app: DeployedApp) -> None:
    """An 8 MB POST reaches the Worker whole; workers.dev traffic is not in the API request log."""
    echo = (
        b"export default { async fetch(req) { return new Response(String((await req.arrayBuffer()).byteLength)); } };"
    )
    with app.api() as api:
        result(put_script(api, "echo", modules={"index.js": (echo, "application/javascript+module")}))
        result(api.post("/workers/scripts/echo/subdomain", json={"enabled": True}))
    seq = app.emu.last_seq()
    with localhost_client(app.emu.workers_url("echo")) as client:
        response = client.post("/upload", content=b"x" * 8_000_000)
    assert (response.status_code, response.text) == (200, "8000000")
    assert "server" not in response.headers
    assert app.emu.requests(since=seq) == []


def test_the_worker_sees_the_browser_url(app: DeployedApp) -> None:
    """`request.url` inside the Worker is the workers.dev.localhost URL the browser used."""
    code = b"export default { fetch(req) { return Response.json({ url: req.url }); } };"
    with app.api() as api:
        result(put_script(api, "whoami", modules={"index.js": (code, "application/javascript+module")}))
        result(api.post("/workers/scripts/whoami/subdomain", json={"enabled": True}))
    with localhost_client(app.emu.workers_url("whoami")) as client:
        body = json.loads(client.get("/a/b?c=1").text)
    assert body == {"url": f"{app.emu.workers_url('whoami')}/a/b?c=1"}


INSPECT = b"""export default { async fetch(req) {
  const url = new URL(req.url);
  if (url.pathname === "/set") return new Response("set", { headers: { "set-cookie": "who=first; Path=/" } });
  return Response.json({ cookie: req.headers.get("cookie"), body: req.body !== null,
                         te: req.headers.get("transfer-encoding"), ua: req.headers.get("user-agent"),
                         accept: req.headers.get("accept") });
} };"""


@pytest.fixture(scope="module")
def inspect_url(app: DeployedApp) -> str:
    """The URL of a Worker that reports what it received (and sets a cookie at /set)."""
    with app.api() as api:
        result(put_script(api, "inspect", modules={"index.js": (INSPECT, "application/javascript+module")}))
        result(api.post("/workers/scripts/inspect/subdomain", json={"enabled": True}))
    return app.emu.workers_url("inspect")


def test_cookies_pass_through_but_are_never_shared_between_clients(inspect_url: str) -> None:
    """A cookie the Worker set for one client reaches the Worker from that client only."""
    with localhost_client(inspect_url) as first, localhost_client(inspect_url) as second:
        assert first.get("/set").headers["set-cookie"] == "who=first; Path=/"
        assert first.get("/echo").json()["cookie"] == "who=first"
        assert second.get("/echo").json()["cookie"] is None


def _raw_request(url: str, head: str) -> dict[str, object]:
    """Send exactly `head` (request line and headers) to the Worker at `url`; its JSON answer."""
    parsed = httpx.URL(url)
    with socket.create_connection(("127.0.0.1", parsed.port or 80), timeout=30) as conn:
        conn.sendall(f"{head}Host: {parsed.netloc.decode()}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 200"), answer
    parsed_body: dict[str, object] = json.loads(body)
    return parsed_body


def test_requests_reach_the_worker_as_sent(inspect_url: str) -> None:
    """A bodiless DELETE arrives without a body, and the proxy adds no headers of its own (no User-Agent)."""
    seen = _raw_request(inspect_url, "DELETE /x HTTP/1.1\r\n")
    assert seen == {"cookie": None, "body": False, "te": None, "ua": None, "accept": None}
    posted = _raw_request(inspect_url, "POST /x HTTP/1.1\r\nContent-Length: 0\r\n")
    assert posted["body"] is True


def test_a_worker_that_throws_on_every_request_fails_the_deploy_fast_with_its_answer(app: DeployedApp) -> None:
    """It starts, so Cloudflare takes it; the check of the live app sees 500s and says so with the body."""
    variant = _wrapped_variant(app, "throw new Error('kaboom');")
    try:
        run = run_deploy(app.emu, variant, "--no-rollback-on-failure", verify=True)  # rollback: test_rollback.py
        assert run.returncode == 1
        assert "answers HTTP 500 (3 tries)" in run.stderr
        assert "The deploy itself went through" in run.stderr
    finally:
        assert run_deploy(app.emu, app.app_dir).returncode == 0  # the shared app serves its own code again


def test_a_gate_that_lets_api_calls_through_fails_the_checks(app: DeployedApp) -> None:
    """A Worker whose /api/ answers 200 without a session fails the seed's logged-out check, by name."""
    variant = _wrapped_variant(app, 'if (new URL(req.url).pathname.startsWith("/api/")) return Response.json([]);\n')
    try:
        run = run_deploy(app.emu, variant, "--no-rollback-on-failure", verify=True)
        assert run.returncode == 1
        assert "1 of 3 checks of the live app failed" in run.stderr
        assert "FAIL /api/items without a session is 401 JSON: HTTP 200" in run.stderr
    finally:
        assert run_deploy(app.emu, app.app_dir).returncode == 0
