"""A small `multipart/form-data` encoder with full control over each part's headers.

Cloudflare's uploads need details a generic form encoder hides: a `metadata` part that is a plain form field
with `Content-Type: application/json`, module parts typed `application/javascript+module`, and asset parts whose
Content-Type is the MIME type the asset will be served with. Names and filenames are escaped as browsers do
(WHATWG: `"` → `%22`, CR → `%0D`, LF → `%0A`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["FormPart", "encode_multipart"]


@dataclass(frozen=True, slots=True)
class FormPart:
    """One part of a form: `filename=None` makes it a plain field."""

    name: str
    content: bytes
    content_type: str | None = None
    filename: str | None = None


def _quote(value: str) -> str:
    return value.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def encode_multipart(parts: Iterable[FormPart], *, boundary: str | None = None) -> tuple[bytes, str]:
    """Encode `parts`; return the body and the matching `Content-Type` header value."""
    boundary = boundary or f"----deployer{secrets.token_hex(16)}"
    chunks: list[bytes] = []
    for part in parts:
        disposition = f'form-data; name="{_quote(part.name)}"'
        if part.filename is not None:
            disposition += f'; filename="{_quote(part.filename)}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if part.content_type:
            head += f"Content-Type: {part.content_type}\r\n"
        chunks += [head.encode(), b"\r\n", part.content, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"
