"""The example app runs for real: login flow, API, D1, assets, workers.dev routing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from cfemu.d1_files import d1_sqlite_path
from cfemu.miniflare_runtime import MiniflareRuntime
from devkit.example import APP_PASSWORD, EXAMPLE_SCRIPT
from tests.runtime.helpers import ASSET_TYPES, Proxy, create_items_db, items_app_state

DB_ID = "6f0c5b3e-0d5c-4a7e-9a43-3c1d2b7e8f10"


async def _login(client_session: Proxy, runtime: MiniflareRuntime) -> str:
    async with client_session.client() as client:
        response = await client.post("/login", data={"password": APP_PASSWORD})
    assert response.status_code == 302
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    return cookie.split(";", 1)[0]


async def test_items_app_end_to_end(runtime: MiniflareRuntime, proxy: Proxy, tmp_path: Path) -> None:
    db_file = d1_sqlite_path(runtime.d1_persist_dir, DB_ID)
    create_items_db(db_file)
    state = items_app_state(
        tmp_path / "store",
        version_id="v1",
        database_id=DB_ID,
        extra_assets=[
            ("/notes.txt", b"plain notes", "text/markdown; charset=utf-8"),  # stored type differs from extension
            ("/blob", b"\x00\x01", None),  # stored without a type
        ],
    )
    result = await runtime.activate(state)
    assert result.handlers == ("fetch",)
    assert result.startup_time_ms > 0
    assert runtime.url_for(EXAMPLE_SCRIPT) is not None
    assert runtime.version_for(EXAMPLE_SCRIPT) == "v1"

    async with proxy.client() as client:
        # Logged out: pages redirect to the login page, the API answers 401.
        response = await client.get("/")
        assert (response.status_code, response.headers["location"]) == (302, "/login.html")
        response = await client.get("/app.js")  # an existing asset, still gated (run_worker_first)
        assert (response.status_code, response.headers["location"]) == (302, "/login.html")
        response = await client.get("/api/items")
        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized"}

        response = await client.get("/login.html")
        assert response.status_code == 200
        assert response.headers["content-type"] == ASSET_TYPES["/login.html"]
        assert b'name="password"' in response.content

        # Wrong password, then the right one.
        response = await client.post("/login", data={"password": "nope"})
        assert (response.status_code, response.headers["location"]) == (302, "/login.html?error=1")
        assert "set-cookie" not in response.headers
        response = await client.post("/login", data={"password": APP_PASSWORD})
        assert (response.status_code, response.headers["location"]) == (302, "/")
        set_cookie = response.headers["set-cookie"]
        assert set_cookie.startswith("app_session=")
        for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=2592000"):
            assert attribute in set_cookie
        session = {"Cookie": set_cookie.split(";", 1)[0]}

        # Logged in: the app page, the assets with their stored types, the API backed by D1.
        response = await client.get("/", headers=session)
        assert response.status_code == 200
        assert response.headers["content-type"] == ASSET_TYPES["/app.html"]
        response = await client.get("/app.js", headers=session)
        assert response.status_code == 200
        assert response.headers["content-type"] == ASSET_TYPES["/app.js"]
        response = await client.get("/notes.txt", headers=session)
        assert (response.status_code, response.text) == (200, "plain notes")
        assert response.headers["content-type"] == "text/markdown; charset=utf-8"
        response = await client.get("/blob", headers=session)
        assert (response.status_code, response.content) == (200, b"\x00\x01")
        assert "content-type" not in response.headers
        response = await client.get("/nope.css", headers=session)
        assert response.status_code == 404  # not_found_handling none

        response = await client.get("/api/items", headers=session)
        assert response.status_code == 200
        assert response.json() == []
        response = await client.post("/api/items", headers=session, json={"name": "from the worker"})
        assert response.status_code == 201
        created = response.json()
        assert created["name"] == "from the worker"

    # The Worker's row is in the file the API reads.
    conn = sqlite3.connect(db_file)
    try:
        assert conn.execute("SELECT id, name FROM items").fetchall() == [(created["id"], "from the worker")]
        conn.execute("INSERT INTO items (name) VALUES ('from python')")
        conn.commit()
    finally:
        conn.close()
    async with proxy.client() as client:
        response = await client.get("/api/items", headers=session)
        assert [item["name"] for item in response.json()] == ["from python", "from the worker"]
        response = await client.post("/logout", headers=session)
        assert response.status_code == 302
        assert "Max-Age=0" in response.headers["set-cookie"]


async def test_workers_dev_routing(runtime: MiniflareRuntime, proxy: Proxy, tmp_path: Path) -> None:
    echo = """export default { async fetch(request) {
      const headers = Object.fromEntries(request.headers);
      if (new URL(request.url).pathname === "/cookies") {
        const h = new Headers({ location: new URL("/next", request.url).href });
        h.append("set-cookie", "a=1; Path=/");
        h.append("set-cookie", "b=2; Path=/");
        return new Response(null, { status: 303, headers: h });
      }
      return Response.json({ url: request.url, method: request.method, headers, body: await request.text() });
    } };"""
    from tests.runtime.helpers import simple_state

    await runtime.activate(simple_state("echo", "e1", echo))
    proxy.enabled["echo"] = True
    async with proxy.client("echo") as client:
        response = await client.post(
            "/some/path?x=1&y=%2F", content=b"hello", headers={"MF-Original-URL": "http://evil/"}
        )
        assert response.status_code == 200
        seen = response.json()
        # The Worker sees the browser's URL and Host; miniflare control headers are not passed through.
        assert seen["url"] == f"http://echo.demo.workers.dev.localhost:{proxy.port}/some/path?x=1&y=%2F"
        assert seen["headers"]["host"] == f"echo.demo.workers.dev.localhost:{proxy.port}"
        assert seen["headers"]["cf-connecting-ip"] == "127.0.0.1"
        assert "mf-original-url" not in seen["headers"]
        assert (seen["method"], seen["body"]) == ("POST", "hello")

        response = await client.get("/cookies")
        assert response.status_code == 303  # not followed
        assert response.headers["location"] == f"http://echo.demo.workers.dev.localhost:{proxy.port}/next"
        assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]

    # Not enabled on workers.dev → 403; unknown script → 404; not a workers.dev host → 404.
    proxy.enabled["echo"] = False
    async with proxy.client("echo") as client:
        response = await client.get("/")
        assert response.status_code == 403
        assert "not enabled on workers.dev" in response.text
    async with proxy.client("ghost") as client:
        response = await client.get("/")
        assert response.status_code == 404
    async with proxy.client() as client:
        response = await client.get("/", headers={"Host": f"127.0.0.1:{proxy.port}"})
        assert response.status_code == 404

    # stop() takes it off the air.
    await runtime.stop("echo")
    assert runtime.url_for("echo") is None
    proxy.enabled["echo"] = True
    async with proxy.client("echo") as client:
        response = await client.get("/")
        assert response.status_code == 404
