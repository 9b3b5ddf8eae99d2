"""The health check after a deploy: the app's URL must answer, with anything but a server error.

A password-gated app answers 302 or 401, which counts as up; only connection failures and 5xx count as down.
Requests repeat with a growing pause for `patience` seconds (a brand-new workers.dev subdomain takes up to a minute to
appear in DNS). A `*.localhost` host (the local emulator's workers.dev addresses) is loopback by definition
(RFC 6761), but not every resolver knows it: such a request goes to 127.0.0.1 with the original `Host` header.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx

from deployer.errors import VerifyError

__all__ = ["verify_url"]


async def verify_url(url: str, *, patience: float = 60.0, http: httpx.AsyncClient | None = None) -> int:
    """GET `url` until it answers below 500; returns that status, or raises `VerifyError` after `patience` s."""
    target = httpx.URL(url)
    headers = {"User-Agent": "cf-stateful-deployer (verify)"}
    if target.host == "localhost" or target.host.endswith(".localhost"):
        headers["Host"] = target.netloc.decode("ascii")
        target = target.copy_with(host="127.0.0.1")
    deadline = time.monotonic() + patience
    pause = 0.25
    last = "no answer"
    async with contextlib.AsyncExitStack() as stack:
        client = http if http is not None else httpx.AsyncClient(timeout=httpx.Timeout(10.0))
        if http is None:
            await stack.enter_async_context(client)
        while True:
            try:
                response = await client.get(target, headers=headers, follow_redirects=False)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
            else:
                if response.status_code < 500:
                    return response.status_code
                last = f"HTTP {response.status_code}"
            if time.monotonic() + pause > deadline:
                raise VerifyError(
                    f"{url} did not answer within {patience:.0f} s (last: {last})",
                    hint=(
                        "The deploy itself succeeded. A brand-new workers.dev subdomain can take a minute to appear "
                        "in DNS: run the job again, or set the input verify to false. A 5xx answer means the Worker "
                        "throws: check its logs (wrangler tail)."
                    ),
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)
