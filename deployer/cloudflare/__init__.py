"""Typed access to the parts of the Cloudflare v4 API the deployer uses."""

from __future__ import annotations

from deployer.cloudflare.client import ApiResponse, CloudflareClient

__all__ = ["ApiResponse", "CloudflareClient"]
