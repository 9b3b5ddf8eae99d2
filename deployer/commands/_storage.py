"""The KV namespaces and R2 buckets the Worker binds, found or created by name like the D1 database
(`deployer.cloudflare.kv`, `deployer.cloudflare.r2`), in two halves so that nothing is created before a refusal:

- `check_storage`, before any write: reads only. A namespace is found by its title (`Settings.kv_titles`), or,
  given by id (wrangler's `id`), checked to exist; a bucket's name is its id. A binding that would move away
  from the namespace or bucket the deployed Worker is bound to (which holds its data: a new title, a new bucket
  name, a wrangler project whose namespace has another title) is refused, like a switch of D1 database, unless
  `allow-new-database` is given; the one it leaves keeps its data either way.
- `create_storage`, after the database's refusals and writes (steps 1-4), just before the Worker upload: creates
  what the check did not find, and gives the upload its namespace ids.

When the plan does not look them up (nothing in the configuration changed), the ids are the ones the deployed
Worker is bound to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from deployer.bindings import KVBinding, R2Binding
from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import kv as kv_api
from deployer.cloudflare import r2 as r2_api
from deployer.errors import ConfigError, DataSafetyError
from deployer.settings import Settings
from deployer.state import RemoteState

__all__ = ["StoragePlan", "check_storage", "create_storage"]


@dataclass(frozen=True, slots=True)
class StoragePlan:
    """What the check found: namespace ids known now, and what must be created (binding → title, bucket names)."""

    kv_ids: dict[str, str]
    new_namespaces: dict[str, str] = field(default_factory=dict)
    new_buckets: tuple[str, ...] = ()
    buckets: dict[str, str] = field(default_factory=dict)  # binding → bucket, for the log
    moves: tuple[str, ...] = ()  # switches allowed by allow-new-database, for a warning
    looked_up: bool = False


async def check_storage(
    client: CloudflareClient, settings: Settings, remote: RemoteState, *, find: bool, allow_switch: bool
) -> StoragePlan:
    """Read what exists and refuse what would hide data or cannot be bound (see the module docstring)."""
    given = {binding: config.id for binding, config in settings.kv.items() if config.id}
    deployed_kv = remote.bindings.get(KVBinding.key) or {}
    if not find:
        return StoragePlan({binding: given.get(binding) or deployed_kv.get(binding, "") for binding in settings.kv})
    for binding, namespace_id in sorted(given.items()):
        if await kv_api.get_namespace(client, namespace_id) is None:
            raise ConfigError(
                f"The KV namespace {namespace_id} (binding {binding}) does not exist in this account",
                hint="Fix the id (wrangler kv namespace list shows them), or leave it out to have a namespace found "
                "or created by title.",
            )
    kv_ids = dict(given)
    new_namespaces: dict[str, str] = {}
    for binding, title in sorted(settings.kv_titles().items()):
        found = await kv_api.find_namespace(client, title)
        if found is None:
            new_namespaces[binding] = title
        else:
            kv_ids[binding] = found.id
    buckets = settings.r2_buckets()
    new_buckets = tuple(
        sorted({bucket for bucket in buckets.values() if not await r2_api.bucket_exists(client, bucket)})
    )
    moves = [
        move
        for binding, move in _moves(remote, kv_ids, new_namespaces, buckets)
        if await _holds(client, remote, binding)
    ]
    if moves and not allow_switch:
        raise DataSafetyError(
            "This deploy would bind the Worker to other storage than the one holding its data:\n"
            + "\n".join(f"  {move}" for move in moves),
            hint="To keep the data, name the storage the Worker is bound to (kv: {BINDING: {id: <id>}}, or its title;"
            " r2: {BINDING: <bucket>}). To switch on purpose, deploy with --allow-new-database (action input "
            "allow-new-database: true); what it leaves is kept, with its data.",
        )
    return StoragePlan(kv_ids, new_namespaces, new_buckets, buckets, tuple(moves), looked_up=True)


def _moves(
    remote: RemoteState, kv_ids: dict[str, str], new_namespaces: dict[str, str], buckets: dict[str, str]
) -> list[tuple[tuple[str, str], str]]:
    """((kind key, binding), what moves) for each binding that would leave the namespace or bucket it has."""
    deployed_kv = remote.bindings.get(KVBinding.key) or {}
    deployed_r2 = remote.bindings.get(R2Binding.key) or {}
    moves = []
    for binding, before in sorted(deployed_kv.items()):
        if not before:
            continue
        if binding in new_namespaces:
            moves.append(
                (
                    (KVBinding.key, binding),
                    f"{binding}: from the KV namespace {before} to a new, empty one titled {new_namespaces[binding]!r}",
                )
            )
        elif binding in kv_ids and kv_ids[binding] != before:
            moves.append(
                (
                    (KVBinding.key, binding),
                    f"{binding}: from the KV namespace {before} to the namespace {kv_ids[binding]}",
                )
            )
    for binding, before in sorted(deployed_r2.items()):
        if before and binding in buckets and buckets[binding] != before:
            moves.append(
                ((R2Binding.key, binding), f"{binding}: from the R2 bucket {before} to the bucket {buckets[binding]}")
            )
    return moves


async def _holds(client: CloudflareClient, remote: RemoteState, binding: tuple[str, str]) -> bool:
    """Whether the namespace or bucket the Worker is bound to still exists (a deleted one holds no data to keep)."""
    kind, name = binding
    before = (remote.bindings.get(kind) or {})[name]
    if kind == KVBinding.key:
        return await kv_api.get_namespace(client, before) is not None
    return await r2_api.bucket_exists(client, before)


async def create_storage(
    client: CloudflareClient,
    plan: StoragePlan,
    *,
    done: list[str],
    log: Callable[..., None],
    warn: Callable[[str], None],
) -> dict[str, str]:
    """Create what `check_storage` did not find; binding → namespace id for the upload."""
    if not plan.looked_up:
        return plan.kv_ids
    for move in plan.moves:
        warn(f"The Worker's binding moves (allow-new-database): {move}; what it leaves is kept, with its data")
    kv_ids = dict(plan.kv_ids)
    created: list[str] = []
    for binding, title in sorted(plan.new_namespaces.items()):
        namespace, new = await kv_api.find_or_create_namespace(client, title)  # another deploy may have made it
        kv_ids[binding] = namespace.id
        if new:
            created.append(f"the KV namespace {title} ({namespace.id})")
            done.append(f"created the KV namespace {title}")
    for bucket in plan.new_buckets:
        if await r2_api.ensure_bucket(client, bucket):
            created.append(f"the R2 bucket {bucket}")
            done.append(f"created the R2 bucket {bucket}")
    log(
        kv=", ".join(f"{binding}={kv_ids[binding]}" for binding in sorted(kv_ids)) or None,
        r2=", ".join(f"{binding}={bucket}" for binding, bucket in sorted(plan.buckets.items())) or None,
        created="; ".join(created) or "none",
    )
    return kv_ids
