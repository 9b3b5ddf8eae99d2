"""Validation of Worker script names.

Cloudflare's backend regex (quoted in workers-sdk PR #829) is `^[a-z0-9_][a-z0-9-_]*$`; a bad name is
rejected with HTTP 400 code 10016 `workers.api.error.invalid_script_name` (seen in public error reports).
GUESS: the 63-character cap is the DNS label limit that workers.dev hostnames impose.
"""

from __future__ import annotations

import re

from cfemu.envelope import ApiError

__all__ = ["SCRIPT_NAME_RE", "check_script_name"]

SCRIPT_NAME_RE = re.compile(r"^[a-z0-9_][a-z0-9_-]{0,62}$")


def check_script_name(name: str) -> str:
    """Return `name` if it is a valid script name, else raise 10016."""
    if not SCRIPT_NAME_RE.match(name):
        raise ApiError(400, 10016, "workers.api.error.invalid_script_name")
    return name
