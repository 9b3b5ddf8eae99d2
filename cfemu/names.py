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


# "A maximum of eight tags per script" (Cloudflare's Workers for Platforms limits page).
MAX_SCRIPT_TAGS = 8


def check_tags(tags: object) -> list[str]:
    """Script tags as the API takes them: a list of at most 8 strings without `,` or `&` (they are the
    separators of the script list's `tags` filter). GUESS: code 10021 and these texts for refused tags."""
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise ApiError(400, 10021, "tags must be an array of strings")
    if len(tags) > MAX_SCRIPT_TAGS:
        raise ApiError(400, 10021, f"a script may have at most {MAX_SCRIPT_TAGS} tags, got {len(tags)}")
    bad = [tag for tag in tags if not tag or "," in tag or "&" in tag]
    if bad:
        raise ApiError(400, 10021, f"invalid tag {bad[0]!r}: tags are non-empty and contain no ',' or '&'")
    return tags
