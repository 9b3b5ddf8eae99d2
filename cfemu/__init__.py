"""cfemu: a local emulator of the Cloudflare REST API v4 (Workers, static assets, D1, workers.dev).

Run it with `python -m cfemu serve --data-dir DIR --account-id ID --api-token TOKEN [--subdomain NAME]`;
see `cfemu.server` for the app and `tests/emulator_harness.py` for starting it from tests.
"""

__all__: list[str] = []
