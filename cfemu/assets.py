"""Placeholder."""

from __future__ import annotations

from starlette.routing import BaseRoute

__all__ = ["routes"]


def routes() -> list[BaseRoute]:
    """Routes of this module."""
    return []


def is_upload_path(path: str) -> bool:
    """True for the JWT-authenticated asset upload path."""
    return path.endswith("/workers/assets/upload")
