"""A `Runtime` that really runs the deployed Workers: workerd via the npm package miniflare.

One long-lived Node process (`node cfemu/supervisor.mjs`) owns every Miniflare instance; this class talks
to it with JSON lines over its stdin/stdout (request ids and replies, see the protocol at the top of
supervisor.mjs). It is started lazily by the first `activate`, in its own process group
(`start_new_session=True`), with its stderr (miniflare's log and each Worker's console output, prefixed
`[script@version]`) appended to `<data_dir>/runtime.log`. If the parent dies, the supervisor sees its
stdin close, disposes every instance (stopping their workerd processes) and exits; `close()` asks it to
shut down, waits, then kills the whole process group.

`activate(state)`:
1. writes the version (`cfemu.runtime_spec.write_version`) to a fresh directory
   `<data_dir>/runtime/<script>/<version_id>/` (a `~N` suffix is added if that directory is still in use
   by a running instance, e.g. when a version is re-activated): the module parts under their names, and
   the assets under `public/` at their URL paths, plus the `_headers` / `_redirects` texts of the asset
   config as files (miniflare parses and applies those);
2. starts a NEW Miniflare instance for it (its own workerd, listening on 127.0.0.1 on a free port);
3. only once it is ready, points the script at it (`url_for`, `acquire`) and retires the previous
   instance: that one is disposed after the requests it is still serving have finished (bounded by
   `drain_timeout`), and its directory is removed.
If the version fails to start, `WorkerStartupError` carries workerd's own message (e.g.
`Uncaught SyntaxError: Unexpected end of input\n  at worker.js:4`), the failed instance is disposed
and the previous version keeps serving.

Bindings: `plain_text`/`secret_text` → string bindings, `json` → JSON binding, `d1` → miniflare D1 (all
databases persisted under one `d1Persist` directory, see `cfemu.d1_files` for the file of a database),
`kv_namespace` → a miniflare KV namespace by its id and `r2_bucket` → a miniflare R2 bucket by its storage name
(persisted under `kvPersist` / `r2Persist`, see `cfemu.storage_files`: every Worker bound to the same namespace or
bucket shares its data, which outlives versions and restarts), `assets` → the assets binding. Other binding types
are not emulated (logged and left out).

Assets: `html_handling` / `not_found_handling` go to miniflare's `assetConfig`; `run_worker_first: true`
becomes `routerConfig.invoke_user_worker_ahead_of_assets`, and a list of route globs becomes
`routerConfig.static_routing` exactly as wrangler converts it (`/x/*` rules → user_worker, `!/x/*` →
asset_worker, negative rules win); the deprecated `serve_directly: false` means `run_worker_first: true`.
Each asset is served with the Content-Type stored at upload (None → no Content-Type header) and the ETag
`"<the hash the upload's manifest gave it>"`, as Cloudflare's asset worker does: the supervisor patches miniflare's
assets plugin for both, since miniflare derives types from file extensions and its content hashes from a
file's path and mtime (details and sources in supervisor_assets.mjs).

`RuntimeResult.handlers` comes from a helper worker started in the same workerd that imports the main
module and lists the handler methods of its default export (`fetch`, `scheduled`, `queue`, `email`, `tail`,
...; object or WorkerEntrypoint class). It gets the same text/JSON/D1 bindings; if only it fails, the
version is started again without it and `handlers` is None (also for service-worker uploads).
`RuntimeResult.startup_time_ms` is the time the Miniflare instance took to become ready (≈150–300 ms);
DIFFERENCE: Cloudflare reports only the script's own startup (usually a few ms).

DIFFERENCE: an exception thrown by the Worker while handling a request gives miniflare's 500 response
(`text/plain`, the error's stack) instead of Cloudflare's "Error 1101 Worker threw exception" page.
Responses get miniflare's emulation of Cloudflare's automatic compression (gzip/br by Content-Type when
the client accepts it).

`scheduled(script, cron=…, scheduled_time_ms=…)` runs the serving instance's scheduled handler (workerd's
`Fetcher.scheduled()`, through miniflare's `getWorker()`), holding a lease on it, and returns the outcome once
the handler and its `ctx.waitUntil()` work are done (at most 15 minutes, Cloudflare's limit for a Cron Trigger).

The runtime keeps nothing across restarts: after the emulator starts (or after `RuntimeUnavailableError`
reported that the supervisor died) each deployed script must be activated again.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import itertools
import json
import os
import shutil
import signal
import time
import urllib.request
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from cfemu.runtime import (
    RuntimeResult,
    RuntimeUnavailableError,
    ScheduledResult,
    ScriptState,
    WorkerStartupError,
)
from cfemu.runtime_spec import PersistDirs, module_type_for, safe_relative, static_routing_from_rules, write_version
from cfemu.storage_files import kv_persist_dir, r2_persist_dir

__all__ = [
    "Lease",
    "MiniflareRuntime",
    "RuntimeUnavailableError",
    "module_type_for",
    "static_routing_from_rules",
]

_REPO_ROOT = Path(__file__).resolve().parent.parent
_SUPERVISOR = Path(__file__).resolve().parent / "supervisor.mjs"
_READ_LIMIT = 16 * 1024 * 1024
_SCHEDULED_TIMEOUT_S = 15 * 60.0


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """A cookie policy that stores nothing (the proxy passes cookies through, it never keeps them)."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        """Refuse every cookie."""
        return False


@dataclass(eq=False)
class _Instance:
    """One running Miniflare instance (one version of one script)."""

    key: str
    script_name: str
    version_id: str
    url: str
    directory: Path
    inflight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)


class Lease:
    """A claim on the instance serving a script; it is not disposed until every lease is released."""

    def __init__(self, instance: _Instance) -> None:
        self._instance: _Instance | None = instance
        self.key = instance.key
        self.url = instance.url.rstrip("/")
        self.version_id = instance.version_id
        instance.inflight += 1
        instance.idle.clear()

    def release(self) -> None:
        """Give the claim back (idempotent)."""
        instance, self._instance = self._instance, None
        if instance is None:
            return
        instance.inflight -= 1
        if instance.inflight == 0:
            instance.idle.set()


class MiniflareRuntime:
    """Runs each script's deployed version in its own Miniflare instance (see the module docstring)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        node: str | None = None,
        node_modules: Path | None = None,
        d1_persist_dir: Path | None = None,
        introspect_handlers: bool = True,
        start_timeout: float = 60.0,
        drain_timeout: float = 30.0,
    ) -> None:
        """`node` defaults to $CFEMU_NODE or `node` on PATH; `node_modules` to the repository's node_modules
        (the one next to cfemu/); `d1_persist_dir` (miniflare's `d1Persist`) to `<data_dir>/d1`. KV and R2 data
        go where `cfemu.storage_files` says (`<data_dir>/kv`, `<data_dir>/r2`)."""
        self.data_dir = data_dir
        self.d1_persist_dir = d1_persist_dir if d1_persist_dir is not None else data_dir / "d1"
        self.persist = PersistDirs(d1=self.d1_persist_dir, kv=kv_persist_dir(data_dir), r2=r2_persist_dir(data_dir))
        self.runtime_dir = data_dir / "runtime"
        self.log_path = data_dir / "runtime.log"
        self._node = node or os.environ.get("CFEMU_NODE") or shutil.which("node") or "node"
        self._node_modules = node_modules
        self._introspect = introspect_handlers
        self._start_timeout = start_timeout
        self._drain_timeout = drain_timeout
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._log: IO[bytes] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._keys = itertools.count(1)
        self._live: dict[str, _Instance] = {}
        self._script_locks: dict[str, asyncio.Lock] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._in_use_dirs: set[Path] = set()
        self._start_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self._client: httpx.AsyncClient | None = None
        self._closed = False

    # ------------------------------------------------------------------ public API

    @property
    def supervisor_pid(self) -> int | None:
        """PID (and process group id) of the running supervisor, or None."""
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    def url_for(self, script_name: str) -> str | None:
        """Base URL (`http://127.0.0.1:PORT`) of the instance serving `script_name`, or None."""
        instance = self._live.get(script_name)
        return instance.url.rstrip("/") if instance is not None else None

    def version_for(self, script_name: str) -> str | None:
        """The version id `script_name` is serving, or None."""
        instance = self._live.get(script_name)
        return instance.version_id if instance is not None else None

    def acquire(self, script_name: str) -> Lease | None:
        """Claim the instance serving `script_name` for one request (None if nothing serves it).

        Release the lease when the response has been fully sent; a retired instance is disposed only
        after its leases are released (or `drain_timeout` passed).
        """
        instance = self._live.get(script_name)
        return Lease(instance) if instance is not None else None

    @contextlib.contextmanager
    def lease(self, script_name: str) -> Iterator[Lease | None]:
        """`acquire` as a context manager."""
        claim = self.acquire(script_name)
        try:
            yield claim
        finally:
            if claim is not None:
                claim.release()

    def http_client(self) -> httpx.AsyncClient:
        """A shared HTTP client for talking to the instances (no redirects, no proxies from the environment).

        It has no default headers: httpx would otherwise add `Accept-Encoding`, `Accept` and `User-Agent`
        to every proxied request, and the Worker would compress answers for clients that never asked.
        It keeps no cookies: one client shared by every browser must never send one's cookies for another.
        """
        if self._client is None:
            self._client = httpx.AsyncClient(
                cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
                follow_redirects=False,
                trust_env=False,
                timeout=httpx.Timeout(None, connect=10.0),
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            )
            for name in list(self._client.headers):
                del self._client.headers[name]
        return self._client

    async def activate(self, state: ScriptState) -> RuntimeResult:
        """Start `state` in a new instance, then make it the one serving its script (see module docstring)."""
        if self._closed:
            raise RuntimeUnavailableError("the runtime is closed")
        script = state.script_name
        safe_relative(script, "script")
        safe_relative(state.version_id, "version id")
        if "/" in script or "/" in state.version_id:
            raise WorkerStartupError(f"Invalid script or version name {script!r} / {state.version_id!r}")
        lock = self._script_locks.setdefault(script, asyncio.Lock())
        async with lock:
            await self._ensure_supervisor()
            directory = self._fresh_directory(script, state.version_id)
            self._in_use_dirs.add(directory)
            key = f"{script}/{state.version_id}#{next(self._keys)}"
            sent = False
            try:
                spec = await asyncio.to_thread(
                    write_version,
                    state,
                    directory,
                    persist=self.persist,
                    introspect=self._introspect,
                    warn=lambda line: _log_line(self._log, line),
                )
                sent = True
                reply = await self._call({"op": "start", "key": key, "spec": spec}, wait_s=self._start_timeout)
            except BaseException:
                # Cancelled or timed out: the supervisor may still finish starting it, so tell it to throw
                # the instance away (it remembers the key if the start is still under way).
                if sent:
                    self._in_background(self._dispose_key(key))
                self._in_use_dirs.discard(directory)
                await asyncio.to_thread(shutil.rmtree, directory, True)
                raise
            if not reply.get("ok"):
                self._in_use_dirs.discard(directory)
                await asyncio.to_thread(shutil.rmtree, directory, True)
                raise WorkerStartupError(str(reply.get("error") or "The Worker failed to start"))
            instance = _Instance(
                key=key, script_name=script, version_id=state.version_id, url=str(reply["url"]), directory=directory
            )
            instance.idle.set()
            previous = self._live.get(script)
            self._live[script] = instance
            if previous is not None:
                self._retire(previous)
            handlers = reply.get("handlers")
            return RuntimeResult(
                startup_time_ms=round(float(reply.get("startup_ms", 0.0))),
                handlers=tuple(str(h) for h in handlers) if isinstance(handlers, list) else None,
            )

    async def stop(self, script_name: str) -> None:
        """Stop serving `script_name` and dispose its instance (after in-flight requests, bounded)."""
        lock = self._script_locks.setdefault(script_name, asyncio.Lock())
        async with lock:
            instance = self._live.pop(script_name, None)
            if instance is not None:
                await self._dispose_when_idle(instance)

    async def scheduled(self, script_name: str, *, cron: str, scheduled_time_ms: int) -> ScheduledResult | None:
        """Run the scheduled handler of the version serving `script_name` (None if nothing serves it)."""
        claim = self.acquire(script_name)
        if claim is None:
            return None
        try:
            request = {"op": "scheduled", "key": claim.key, "cron": cron, "scheduled_time": scheduled_time_ms}
            reply = await self._call(request, wait_s=_SCHEDULED_TIMEOUT_S)
        finally:
            claim.release()
        if not reply.get("ok"):
            raise RuntimeUnavailableError(f"the scheduled event could not be delivered: {reply.get('error')}")
        return ScheduledResult(outcome=str(reply["outcome"]), no_retry=bool(reply.get("no_retry")))

    async def close(self) -> None:
        """Dispose every instance, stop the supervisor and kill its process group."""
        self._closed = True
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        self._live.clear()
        proc = self._proc
        if proc is not None:
            if proc.returncode is None:
                with contextlib.suppress(Exception):
                    await self._call({"op": "shutdown"}, wait_s=20.0)
                if proc.stdin is not None:
                    proc.stdin.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), timeout=10.0)
            _kill_group(proc.pid)
            if proc.returncode is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), timeout=5.0)
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        self._proc = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._log is not None:
            self._log.close()
            self._log = None

    # ------------------------------------------------------------------ supervisor process

    async def _ensure_supervisor(self) -> None:
        async with self._start_lock:
            if self._proc is not None and self._proc.returncode is None:
                return
            self._live.clear()  # a dead supervisor took its instances with it
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if self.runtime_dir.exists():
                # Nothing is running yet: version directories left by an earlier process are stale.
                await asyncio.to_thread(shutil.rmtree, self.runtime_dir, True)
            self.runtime_dir.mkdir(parents=True, exist_ok=True)
            for persist_dir in (self.persist.d1, self.persist.kv, self.persist.r2):
                persist_dir.mkdir(parents=True, exist_ok=True)
            if self._log is None:
                self._log = self.log_path.open("ab")
            env = dict(os.environ)
            env.update({"NO_COLOR": "1", "FORCE_COLOR": "0"})
            env.pop("NODE_OPTIONS", None)
            if self._node_modules is not None:
                env["CFEMU_NODE_MODULES"] = str(self._node_modules.resolve())
            try:
                self._proc = await asyncio.create_subprocess_exec(
                    self._node,
                    str(_SUPERVISOR),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=self._log,
                    cwd=str(self.runtime_dir),
                    env=env,
                    start_new_session=True,
                    limit=_READ_LIMIT,
                )
            except OSError as exc:
                raise RuntimeUnavailableError(f"cannot start {self._node} {_SUPERVISOR}: {exc}") from exc
            self._reader = asyncio.create_task(self._read_replies(self._proc))
            try:
                reply = await self._call({"op": "ping"}, wait_s=30.0)
            except RuntimeUnavailableError as exc:
                raise RuntimeUnavailableError(f"{exc} (see {self.log_path})") from None
            if not reply.get("content_type_patch"):
                _log_line(self._log, "cfemu: miniflare assets plugin not patched: miniflare's asset types and ETags")

    async def _read_replies(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            while True:
                line = await proc.stdout.readline()
                if not line:
                    break
                try:
                    reply = json.loads(line)
                except ValueError:
                    _log_line(self._log, f"cfemu: bad line from supervisor: {line[:200]!r}")
                    continue
                future = self._pending.pop(int(reply.get("id", -1)), None)
                if future is not None and not future.done():
                    future.set_result(reply)
        finally:
            returncode = await proc.wait()
            if proc is self._proc:
                # Whatever the supervisor still ran is gone or orphaned: clean up its process group.
                _kill_group(proc.pid)
                self._live.clear()
            error = RuntimeUnavailableError(f"the runtime supervisor exited (status {returncode})")
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(error)
            self._pending.clear()

    async def _call(self, request: dict[str, Any], *, wait_s: float) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.returncode is not None or proc.stdin is None:
            raise RuntimeUnavailableError("the runtime supervisor is not running")
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            async with self._write_lock:
                proc.stdin.write((json.dumps({"id": request_id, **request}) + "\n").encode())
                await proc.stdin.drain()
            return await asyncio.wait_for(future, timeout=wait_s)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise RuntimeUnavailableError(f"the runtime supervisor is gone: {exc}") from exc
        except TimeoutError:
            raise RuntimeUnavailableError(f"the runtime supervisor did not answer {request['op']!r} in time") from None
        finally:
            self._pending.pop(request_id, None)

    # ------------------------------------------------------------------ instances

    def _in_background(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _retire(self, instance: _Instance) -> None:
        self._in_background(self._dispose_when_idle(instance))

    async def _dispose_key(self, key: str) -> None:
        with contextlib.suppress(RuntimeUnavailableError):
            await self._call({"op": "dispose", "key": key}, wait_s=30.0)

    async def _dispose_when_idle(self, instance: _Instance) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(instance.idle.wait(), timeout=self._drain_timeout)
        try:
            reply = await self._call({"op": "dispose", "key": instance.key}, wait_s=30.0)
            if not reply.get("ok"):
                _log_line(self._log, f"cfemu: dispose {instance.key} failed: {reply.get('error')}")
        except RuntimeUnavailableError as exc:
            _log_line(self._log, f"cfemu: dispose {instance.key}: {exc}")
        finally:
            self._in_use_dirs.discard(instance.directory)
            await asyncio.to_thread(shutil.rmtree, instance.directory, True)

    def _fresh_directory(self, script: str, version_id: str) -> Path:
        base = self.runtime_dir / script / version_id
        candidate, n = base, 1
        while candidate in self._in_use_dirs:
            n += 1
            candidate = base.with_name(f"{version_id}~{n}")
        return candidate


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _log_line(log: IO[bytes] | None, text: str) -> None:
    if log is None:
        return
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    with contextlib.suppress(ValueError, OSError):
        log.write(f"{stamp} {text}\n".encode())
        log.flush()
