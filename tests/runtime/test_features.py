"""Bindings, handler detection, Worker formats and asset routing options."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from cfemu.miniflare_runtime import MiniflareRuntime, module_type_for, static_routing_from_rules
from cfemu.runtime import ModuleFile, ScriptState, WorkerStartupError
from tests.runtime.helpers import make_asset, simple_state


async def _get(url: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=30.0, follow_redirects=False) as client:
        return await client.get(url, **kwargs)  # type: ignore[arg-type]


def _state(
    name: str,
    *,
    modules: tuple[ModuleFile, ...] = (),
    main_module: str | None = None,
    bindings: tuple[dict[str, object], ...] = (),
    assets: tuple[tuple[str, bytes, str | None], ...] = (),
    asset_config: dict[str, object] | None = None,
    store: Path,
) -> ScriptState:
    return ScriptState(
        script_name=name,
        version_id="v1",
        main_module=main_module,
        modules=modules,
        bindings=bindings,
        compatibility_date="2025-01-01",
        compatibility_flags=(),
        assets=tuple(make_asset(store, path, content, ctype) for path, content, ctype in assets),
        asset_config=asset_config or {},
    )


async def test_text_and_json_bindings_and_handlers(runtime: MiniflareRuntime) -> None:
    source = """export default {
      fetch(request, env) { return Response.json({ plain: env.PLAIN, secret: env.SECRET, config: env.CONFIG }); },
      scheduled() {},
    };"""
    bindings = (
        {"type": "plain_text", "name": "PLAIN", "text": "hello"},
        {"type": "secret_text", "name": "SECRET", "text": "s3cr3t"},
        {"type": "json", "name": "CONFIG", "json": {"a": [1, 2], "b": None}},
        {"type": "queue", "name": "JOBS", "queue_name": "jobs"},  # not emulated: left out
    )
    result = await runtime.activate(simple_state("binds", "v1", source, bindings=bindings))
    assert result.handlers == ("fetch", "scheduled")
    base = runtime.url_for("binds")
    assert base is not None
    assert (await _get(base)).json() == {"plain": "hello", "secret": "s3cr3t", "config": {"a": [1, 2], "b": None}}


async def test_entrypoint_class_handlers_and_extra_modules(runtime: MiniflareRuntime, tmp_path: Path) -> None:
    main = """import { WorkerEntrypoint } from "cloudflare:workers";
    import { greet } from "./lib/greet.js";
    import text from "./data.txt";
    export default class extends WorkerEntrypoint { fetch() { return new Response(greet(text)); } };"""
    state = _state(
        "entry",
        main_module="main.js",
        modules=(
            ModuleFile("main.js", "application/javascript+module", main.encode()),
            ModuleFile("lib/greet.js", "application/javascript+module", b"export const greet = (s) => `hi ${s}`;"),
            ModuleFile("data.txt", "text/plain", b"there"),
            ModuleFile("main.js.map", "application/source-map", b"{}"),
        ),
        store=tmp_path,
    )
    result = await runtime.activate(state)
    assert result.handlers == ("fetch",)
    base = runtime.url_for("entry")
    assert base is not None
    assert (await _get(base)).text == "hi there"


async def test_service_worker_format(runtime: MiniflareRuntime, tmp_path: Path) -> None:
    source = b'addEventListener("fetch", (event) => event.respondWith(new Response("sw " + GREETING)));'
    state = _state(
        "sw",
        modules=(ModuleFile("worker.js", "application/javascript", source),),
        bindings=({"type": "plain_text", "name": "GREETING", "text": "hello"},),
        store=tmp_path,
    )
    result = await runtime.activate(state)
    assert result.handlers is None
    base = runtime.url_for("sw")
    assert base is not None
    assert (await _get(base)).text == "sw hello"


async def test_assets_only_worker_headers_and_redirects(runtime: MiniflareRuntime, tmp_path: Path) -> None:
    state = _state(
        "site",
        assets=(("/index.html", b"<h1>home</h1>", "text/html; charset=utf-8"), ("/a/b.css", b"b{}", "text/css")),
        asset_config={
            "html_handling": "auto-trailing-slash",
            "not_found_handling": "404-page",
            "_headers": "/a/*\n  X-Test: yes\n",
            "_redirects": "/old /a/b.css 301\n",
        },
        store=tmp_path,
    )
    result = await runtime.activate(state)
    assert result.handlers is None
    base = runtime.url_for("site")
    assert base is not None
    response = await _get(base + "/")
    assert (response.status_code, response.text) == (200, "<h1>home</h1>")
    response = await _get(base + "/index.html")
    assert (response.status_code, response.headers["location"]) == (307, "/")  # auto-trailing-slash
    response = await _get(base + "/a/b.css")
    assert (response.status_code, response.headers["content-type"], response.headers["x-test"]) == (
        200,
        "text/css",
        "yes",
    )
    response = await _get(base + "/old")
    assert (response.status_code, response.headers["location"]) == (301, "/a/b.css")
    assert (await _get(base + "/missing")).status_code == 404


async def test_run_worker_first_route_globs(runtime: MiniflareRuntime, tmp_path: Path) -> None:
    state = _state(
        "mixed",
        main_module="index.js",
        modules=(
            ModuleFile(
                "index.js",
                "application/javascript+module",
                b"export default { fetch() { return new Response('worker'); } };",
            ),
        ),
        bindings=({"type": "assets", "name": "ASSETS"},),
        assets=(
            ("/api/docs/index.html", b"docs", "text/html"),
            ("/api/data.json", b"{}", "application/json"),
            ("/page.html", b"page", "text/html"),
        ),
        asset_config={"html_handling": "none", "run_worker_first": ["/api/*", "!/api/docs/*"]},
        store=tmp_path,
    )
    await runtime.activate(state)
    base = runtime.url_for("mixed")
    assert base is not None
    assert (await _get(base + "/api/data.json")).text == "worker"  # exists as an asset, but the rule wins
    assert (await _get(base + "/api/docs/index.html")).text == "docs"  # negative rule: assets first
    assert (await _get(base + "/page.html")).text == "page"  # no rule: asset if it exists
    assert (await _get(base + "/other")).text == "worker"  # ... else the Worker


def test_static_routing_conversion() -> None:
    assert static_routing_from_rules(["/api/*", "!/api/docs/*"]) == {
        "user_worker": ["/api/*"],
        "asset_worker": ["/api/docs/*"],
    }
    with pytest.raises(WorkerStartupError, match="must start with"):
        static_routing_from_rules(["api/*"])
    with pytest.raises(WorkerStartupError, match="Only negative"):
        static_routing_from_rules(["!/x"])
    with pytest.raises(WorkerStartupError, match="redundant"):
        static_routing_from_rules(["/api/*", "/api/x"])


def test_module_types() -> None:
    assert module_type_for("application/javascript+module", is_main=True) == "ESModule"
    assert module_type_for("application/javascript", is_main=False) == "CommonJS"
    assert module_type_for("application/javascript; charset=utf-8", is_main=True) == "ESModule"
    assert module_type_for("application/wasm", is_main=False) == "CompiledWasm"
    assert module_type_for("application/source-map", is_main=False) is None
    with pytest.raises(WorkerStartupError):
        module_type_for("image/png", is_main=False)


async def test_bad_names_are_rejected(runtime: MiniflareRuntime, tmp_path: Path) -> None:
    state = _state(
        "evil",
        main_module="index.js",
        modules=(ModuleFile("index.js", "application/javascript+module", b"export default {};"),),
        assets=(("/../../escape.txt", b"x", "text/plain"),),
        store=tmp_path,
    )
    with pytest.raises(WorkerStartupError, match="Invalid asset name"):
        await runtime.activate(state)
    missing_main = _state(
        "nomain",
        main_module="main.js",
        modules=(ModuleFile("index.js", "application/javascript+module", b"export default {};"),),
        store=tmp_path,
    )
    with pytest.raises(WorkerStartupError, match="main_module"):
        await runtime.activate(missing_main)


async def test_top_level_env_access(runtime: MiniflareRuntime, tmp_path: Path) -> None:
    # Top-level code may read bindings through "cloudflare:workers". Handler detection runs the main module a
    # second time in a helper worker that has the text/JSON/D1 bindings but no assets binding; when only that
    # helper fails, the version still starts (handlers then unknown).
    source = """import { env } from "cloudflare:workers";
    const GREETING = env.GREETING.toUpperCase();
    if (!env.ASSETS) throw new Error("no assets binding");
    export default { fetch() { return new Response(GREETING); } };"""
    state = _state(
        "toplevel",
        main_module="index.js",
        modules=(ModuleFile("index.js", "application/javascript+module", source.encode()),),
        bindings=({"type": "plain_text", "name": "GREETING", "text": "hey"}, {"type": "assets", "name": "ASSETS"}),
        store=tmp_path,
    )
    result = await runtime.activate(state)
    assert result.handlers is None
    base = runtime.url_for("toplevel")
    assert base is not None
    assert (await _get(base)).text == "HEY"
    assert "retrying without handler introspection" in runtime.log_path.read_text()
