"""Where a deployed app answers."""

from __future__ import annotations

import pytest

from deployer.cloudflare.workers import workers_dev_url


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        pytest.param("https://api.cloudflare.com/client/v4", "https://shop.acme.workers.dev", id="cloudflare"),
        pytest.param(
            "http://127.0.0.1:8787/client/v4", "http://shop.acme.workers.dev.localhost:8787", id="local-emulator"
        ),
        pytest.param("http://localhost:9000/client/v4", "http://shop.acme.workers.dev.localhost:9000", id="localhost"),
    ],
)
def test_workers_dev_url_follows_the_target(base: str, expected: str) -> None:
    """Cloudflare gives https://script.handle.workers.dev; a loopback API serves it under .localhost."""
    assert workers_dev_url(base, "shop", "acme") == expected
