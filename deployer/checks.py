"""The app's own checks of its live URL (`checks:` in app.yml), run after the default ones on every deploy.

```yaml
checks:
  - path: /api/health            # required: a path on the app's own URL
    status: 200                  # expected status (default 200)
    contains: '"ok":true'        # text the body must contain (optional)
  - path: /api/items
    sign_in: true                # sign in with the app's password first (POST /login, the seed's gate)
  - path: /api/items
    method: POST                 # GET (default), HEAD or POST (with no body)
    status: 400
```

A path is untrusted input (on a fork's preview it is someone else's app.yml): it must be a path on the app's own
host, so it starts with one `/` and holds no backslash, scheme or control character; a check never reaches
another host. Redirects are not followed: a redirect is what `status` (e.g. 302) is compared with.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["AppCheck"]

_PATH = re.compile(r"^/(?![/\\])[\x21-\x7e]*$")


class AppCheck(BaseModel):
    """One request to the live app and what its answer must be."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    method: Literal["GET", "HEAD", "POST"] = "GET"
    status: int = Field(default=200, ge=100, le=599)
    contains: str | None = None
    sign_in: bool = False

    @field_validator("path")
    @classmethod
    def _own_path(cls, value: str) -> str:
        if not _PATH.match(value) or "\\" in value:
            msg = f"{value!r} is not a path on the app's own URL: start it with a single '/' (e.g. /api/health)"
            raise ValueError(msg)
        return value

    @property
    def name(self) -> str:
        """How the check is named in the log and the summary."""
        words = [f"{self.method} {self.path} is {self.status}"]
        if self.contains:
            words.append(f"with {self.contains!r}")
        if self.sign_in:
            words.append("(signed in)")
        return " ".join(words)
