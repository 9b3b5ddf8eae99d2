"""Checking and normalising the `bindings` of an upload, and hiding secret values on the way out.

Checked types (anything else is stored as sent):
- `d1`: needs `id` (wrangler) or `database_id` (the seed) naming an existing database of the account;
  stored as `{"type": "d1", "name", "id"}`. Otherwise code 10021 with the exact text wrangler matches:
  ``binding DB of type d1 must have a valid `id` specified``.
- `kv_namespace`: needs `namespace_id` naming an existing KV namespace of the account; stored as
  `{"type": "kv_namespace", "name", "namespace_id"}`. Otherwise code 10042 with the text Cloudflare answers a
  script upload with (quoted in workers-sdk issue #14249 and wrangler transcripts in public projects):
  ``KV namespace '<id>' is not valid. Please verify the namespace_id in your configuration.``
- `r2_bucket`: needs `bucket_name` naming an existing R2 bucket of the account in the binding's `jurisdiction`
  (absent: the default one); stored as `{"type": "r2_bucket", "name", "bucket_name"[, "jurisdiction"]}`. Otherwise
  code 10085 ``R2 bucket '<name>' not found. Please use a different name and try again.`` (workers-sdk issue #9418,
  a script PUT; the same text is expected by workers-sdk's remote-bindings e2e tests).
  GUESS: HTTP 400 for both, like the other refused bindings; a `jurisdiction` the SDK does not list (`eu`,
  `fedramp`, `fedramp-high`, `us`) is code 10021.
- `plain_text` / `secret_text`: need a string `text`. `json`: needs a `json` key. `assets`: a name.
- `inherit`: copies the binding named `old_name` (default: `name`) of the version `version_id` names,
  under the name `name`. `version_id` is a version id of the same script or the literal "latest"; absent
  (or null) means "latest", the newest version (source: the official SDKs' `WorkersBindingKindInherit`,
  e.g. cloudflare-python `types/workers/scripts/version_create_params.py`). With `bindings_inherit=strict`
  a binding the version lacks is code 10057; otherwise it is dropped.
  GUESS: the 10057 message text, and dropping silently when not strict.
  GUESS: a `version_id` that names no version of the script is HTTP 400 code 10021 naming the binding and
  the version, strict or not (the real text and code are undocumented).
- Every binding needs string `name` and `type`, and names must be unique (code 10021).
  GUESS: the texts of these messages.

`keep_bindings: [types]` appends previous bindings of those types whose names the new list lacks (an upload
that sends none keeps the secret types: see `cfemu.metadata`).
`public_bindings()` is what read endpoints show: secrets as `{name, type}` only, and a D1 binding with its
database id under both `id` and `database_id`. GUESS: that both are sent. Sources: the official SDK's read types
(cloudflare-python 5.9.0 `types/workers/scripts/script_and_version_setting_get_response.py`,
`BindingWorkersBindingKindD1`: `database_id` required, `id` optional) and wrangler 4.86, which reads `id` from
the bindings the API returns (`packages/workers-utils/src/map-worker-metadata-bindings.ts`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cfemu.context import Context
from cfemu.d1 import database_exists
from cfemu.envelope import ApiError
from cfemu.kv import namespace_exists
from cfemu.r2 import bucket_exists

__all__ = ["SECRET_TYPES", "VersionBindings", "normalise_bindings", "public_bindings"]

SECRET_TYPES = frozenset({"secret_text", "secret_key"})

# The `jurisdiction` values an r2_bucket binding may name (the SDK's `WorkersBindingKindR2Bucket`).
_R2_JURISDICTIONS = ("eu", "fedramp", "fedramp-high", "us")

# The bindings of the script's version with this id, or None when the script has no such version.
VersionBindings = Callable[[str], Sequence[dict[str, Any]] | None]


def _invalid(message: str) -> ApiError:
    return ApiError(400, 10021, message)


def _check(ctx: Context, binding: dict[str, Any]) -> dict[str, Any]:
    name, kind = binding["name"], binding["type"]
    if kind == "d1":
        database_id = binding.get("id", binding.get("database_id"))
        if not isinstance(database_id, str) or not database_exists(ctx.store, database_id):
            raise _invalid(f"binding {name} of type d1 must have a valid `id` specified")
        return {"type": "d1", "name": name, "id": database_id}
    if kind == "kv_namespace":
        namespace_id = binding.get("namespace_id")
        if not isinstance(namespace_id, str) or not namespace_exists(ctx.store, namespace_id):
            shown = namespace_id if isinstance(namespace_id, str) else ""
            raise ApiError(
                400,
                10042,
                f"KV namespace '{shown}' is not valid. Please verify the namespace_id in your configuration.",
            )
        return {"type": "kv_namespace", "name": name, "namespace_id": namespace_id}
    if kind == "r2_bucket":
        return _r2_bucket(ctx, binding)
    if kind in ("plain_text", "secret_text") and not isinstance(binding.get("text"), str):
        raise _invalid(f"binding {name} of type {kind} must have a `text` string specified")
    if kind == "json" and "json" not in binding:
        raise _invalid(f"binding {name} of type json must have a `json` value specified")
    return dict(binding)


def _r2_bucket(ctx: Context, binding: dict[str, Any]) -> dict[str, Any]:
    bucket_name, jurisdiction = binding.get("bucket_name"), binding.get("jurisdiction")
    if jurisdiction is not None and jurisdiction not in _R2_JURISDICTIONS:
        raise _invalid(f"binding {binding['name']} of type r2_bucket has an invalid jurisdiction {jurisdiction!r}")
    if not isinstance(bucket_name, str) or not bucket_exists(ctx.store, bucket_name, jurisdiction or "default"):
        shown = bucket_name if isinstance(bucket_name, str) else ""
        raise ApiError(400, 10085, f"R2 bucket '{shown}' not found. Please use a different name and try again.")
    stored = {"type": "r2_bucket", "name": binding["name"], "bucket_name": bucket_name}
    if jurisdiction is not None:
        stored["jurisdiction"] = jurisdiction
    return stored


def _inherit_source(
    binding: dict[str, Any], previous: Sequence[dict[str, Any]], versions: VersionBindings
) -> Sequence[dict[str, Any]]:
    """The bindings `binding` inherits from: those of its `version_id`, or `previous` for "latest"."""
    version_id = binding.get("version_id")
    if version_id is None or version_id == "latest":
        return previous
    if not isinstance(version_id, str):
        raise _invalid(f"binding {binding['name']} of type inherit must have a string `version_id`")
    found = versions(version_id)
    if found is None:
        raise _invalid(
            f"binding {binding['name']} of type inherit names version {version_id}, which is not a version of"
            " this script"
        )
    return found


def _inherit(
    binding: dict[str, Any], previous: Sequence[dict[str, Any]], versions: VersionBindings, strict: bool
) -> dict[str, Any] | None:
    source = _inherit_source(binding, previous, versions)
    old_name = binding.get("old_name") or binding["name"]
    match = next((b for b in source if b.get("name") == old_name), None)
    if match is None:
        if strict:
            raise ApiError(400, 10057, f"binding {binding['name']} of type inherit could not find a binding to inherit")
        return None
    return {**match, "name": binding["name"]}


def normalise_bindings(
    ctx: Context,
    raw: Any,
    *,
    keep_types: Any,
    previous: Sequence[dict[str, Any]],
    versions: VersionBindings,
    strict_inherit: bool,
) -> tuple[dict[str, Any], ...]:
    """The checked binding list of a new version (see the module docstring).

    `previous` are the newest version's bindings (what `keep_bindings` and "latest" inherit from);
    `versions` looks up the bindings of any version of the same script, for an inherit's `version_id`.
    """
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise _invalid("bindings must be an array")
    result: list[dict[str, Any]] = []
    for binding in raw:
        if not isinstance(binding, dict) or not isinstance(binding.get("name"), str) or not binding["name"]:
            raise _invalid("every binding needs a string `name`")
        if not isinstance(binding.get("type"), str):
            raise _invalid(f"binding {binding['name']} needs a string `type`")
        if binding["type"] == "inherit":
            inherited = _inherit(binding, previous, versions, strict_inherit)
            if inherited is not None:
                result.append(inherited)
            continue
        result.append(_check(ctx, binding))
    names = [binding["name"] for binding in result]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise _invalid(f"binding names must be unique; repeated: {', '.join(duplicates)}")
    if keep_types is not None:
        if not isinstance(keep_types, list) or not all(isinstance(kind, str) for kind in keep_types):
            raise _invalid("keep_bindings must be an array of binding types")
        used = set(names)
        result += [dict(b) for b in previous if b.get("type") in keep_types and b.get("name") not in used]
    return tuple(result)


def public_bindings(bindings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """`bindings` as read endpoints show them: secret values removed, D1 ids under both names."""
    shown: list[dict[str, Any]] = []
    for binding in bindings:
        if binding.get("type") in SECRET_TYPES:
            shown.append({"name": binding["name"], "type": binding["type"]})
        elif binding.get("type") == "d1":
            shown.append({**binding, "database_id": binding.get("id")})
        else:
            shown.append(dict(binding))
    return shown
