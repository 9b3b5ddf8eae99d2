"""HS256 JWTs for the asset upload flow.

Two kinds, told apart by the `typ` claim and both carrying the session id (`sid`) and account (`acct`):

- `asset-upload`: returned by `assets-upload-session` when some files are missing; authorises
  `POST /workers/assets/upload`.
- `asset-completion`: returned by the last bucket upload (or straight from the session call when nothing
  is missing); goes into the script metadata as `assets.jwt`.

Both expire one hour after issue (Cloudflare's documented lifetime). The key is per data dir, so tokens
survive an emulator restart. No `wrangler_single_asset_uploads` claim is ever set, which keeps wrangler on
the bulk upload path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Literal

__all__ = ["TOKEN_LIFETIME_S", "TokenError", "TokenKind", "issue_token", "read_token"]

TOKEN_LIFETIME_S = 3600
TokenKind = Literal["asset-upload", "asset-completion"]


class TokenError(Exception):
    """The token is malformed, badly signed, expired, or of the wrong kind."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(
    key: bytes, *, kind: TokenKind, session_id: str, account_id: str, lifetime: int = TOKEN_LIFETIME_S
) -> str:
    """A signed JWT of `kind` for `session_id`, valid for `lifetime` seconds (one hour, as Cloudflare's)."""
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"typ": kind, "sid": session_id, "acct": account_id, "iat": now, "exp": now + lifetime}
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64url(signature)


def read_token(key: bytes, token: str, *, kind: TokenKind, account_id: str) -> str:
    """Verify `token` and return its session id; raise `TokenError` saying why it is unusable."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("not a JWT")
    expected = hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    try:
        signature = _unb64url(parts[2])
        claims: Any = json.loads(_unb64url(parts[1]))
    except ValueError:
        raise TokenError("not a JWT") from None
    if not hmac.compare_digest(signature, expected):
        raise TokenError("bad signature")
    if not isinstance(claims, dict):
        raise TokenError("not a JWT")
    if claims.get("typ") != kind:
        raise TokenError(f"expected a {kind} token")
    if claims.get("acct") != account_id:
        raise TokenError("token belongs to another account")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= time.time():
        raise TokenError("token expired")
    session_id = claims.get("sid")
    if not isinstance(session_id, str):
        raise TokenError("token has no session id")
    return session_id
