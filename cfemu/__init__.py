"""cfemu: a local emulator of the Cloudflare REST API v4 (Workers, static assets, D1, workers.dev).

Run it with `python -m cfemu serve --data-dir DIR --account-id ID --api-token TOKEN [--subdomain NAME]`;
see `cfemu.server` for the app and `cfemu.launcher` for starting it as a subprocess (tests, the bench, the demo).
"""

__all__: list[str] = []
