"""The JSON shapes of scripts and versions in API answers (shared by several endpoint modules)."""

from __future__ import annotations

from typing import Any

from cfemu.bindings import public_bindings
from cfemu.model import AUTHOR_EMAIL, Script, Version

__all__ = ["script_json", "version_json"]


def script_json(script: Script, version: Version | None) -> dict[str, Any]:
    """A script object (`ScriptUpdateResponse` / list item), described by `version`."""
    settings = script.settings
    result: dict[str, Any] = {
        "id": script.name,
        "tag": script.tag,
        "created_on": script.created_on,
        "modified_on": script.modified_on,
        "usage_model": "standard",
        "tags": list(settings.get("tags") or []),
        "logpush": bool(settings.get("logpush")),
        "tail_consumers": settings.get("tail_consumers"),
        "observability": settings.get("observability"),
        "last_deployed_from": script.last_deployed_from,
    }
    if version is not None:
        result.update(
            {
                "etag": version.etag,
                "handlers": list(version.handlers),
                "named_handlers": [],
                "compatibility_date": version.compatibility_date,
                "compatibility_flags": list(version.compatibility_flags),
                "has_modules": version.has_modules,
                "has_assets": version.has_assets,
                "startup_time_ms": version.startup_time_ms,
                "entry_point": version.main_module or version.body_part,
            }
        )
        if version.placement and version.placement.get("mode"):
            result["placement_mode"] = version.placement["mode"]
            result["placement"] = version.placement
    return result


def version_json(version: Version, *, has_preview: bool = False) -> dict[str, Any]:
    """A version object (`ApiVersion`): metadata, annotations and resources."""
    script: dict[str, Any] = {
        "etag": version.etag,
        "handlers": list(version.handlers),
        "last_deployed_from": version.source,
    }
    if version.placement and version.placement.get("mode"):
        script["placement_mode"] = version.placement["mode"]
    return {
        "id": version.id,
        "number": version.number,
        "metadata": {
            "created_on": version.created_on,
            "modified_on": version.created_on,
            "source": version.source,
            "author_id": "cfemu",
            "author_email": AUTHOR_EMAIL,
            "has_preview": has_preview,
        },
        "annotations": dict(version.annotations),
        "resources": {
            "bindings": public_bindings(version.bindings),
            "script": script,
            "script_runtime": {
                "compatibility_date": version.compatibility_date,
                "compatibility_flags": list(version.compatibility_flags),
                "usage_model": "standard",
                "limits": dict(version.limits or {}),
            },
        },
        "startup_time_ms": version.startup_time_ms,
    }
