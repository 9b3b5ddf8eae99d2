"""Step 1's other half: the KV namespaces and R2 buckets the Worker binds, found or created by name like the
D1 database (`deployer.cloudflare.kv`, `deployer.cloudflare.r2`), and the ids the upload needs.

A namespace is found by its title (`Settings.kv_titles`), or, given by id (wrangler's `id`), checked to exist:
binding a namespace that is not there would fail the upload after the database and the assets were touched.
A bucket's name is its id. When the plan does not look them up (nothing in the configuration changed), the
ids are the ones the deployed Worker is bound to. A binding moved to another namespace or bucket (a new title
or name) is said in a warning: the one it leaves keeps its data, and binding it again brings the data back.
"""

from __future__ import annotations

from collections.abc import Callable

from deployer.bindings import KVBinding, R2Binding
from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import kv as kv_api
from deployer.cloudflare import r2 as r2_api
from deployer.errors import ConfigError
from deployer.settings import Settings
from deployer.state import RemoteState

__all__ = ["find_storage"]


async def find_storage(
    client: CloudflareClient,
    settings: Settings,
    remote: RemoteState,
    *,
    find: bool,
    done: list[str],
    log: Callable[..., None],
    warn: Callable[[str], None],
) -> dict[str, str]:
    """Binding → KV namespace id for the upload; with `find`, every namespace and bucket is found or created."""
    given = {binding: config.id for binding, config in settings.kv.items() if config.id}
    if not find:
        deployed = remote.bindings.get(KVBinding.key) or {}
        return {binding: given.get(binding) or deployed.get(binding, "") for binding in settings.kv}
    for binding, namespace_id in sorted(given.items()):
        if await kv_api.get_namespace(client, namespace_id) is None:
            raise ConfigError(
                f"The KV namespace {namespace_id} (binding {binding}) does not exist in this account",
                hint="Fix the id (wrangler kv namespace list shows them), or leave it out to have a namespace found "
                "or created by title.",
            )
    ids = dict(given)
    created: list[str] = []
    for binding, title in sorted(settings.kv_titles().items()):
        namespace, new = await kv_api.find_or_create_namespace(client, title)
        ids[binding] = namespace.id
        if new:
            created.append(f"the KV namespace {title} ({namespace.id})")
            done.append(f"created the KV namespace {title}")
    for _binding, bucket in sorted(settings.r2_buckets().items()):
        if await r2_api.ensure_bucket(client, bucket):
            created.append(f"the R2 bucket {bucket}")
            done.append(f"created the R2 bucket {bucket}")
    _warn_moved(remote, ids, settings.r2_buckets(), warn)
    log(
        kv=", ".join(f"{binding}={ids[binding]}" for binding in sorted(ids)) or None,
        r2=", ".join(f"{binding}={bucket}" for binding, bucket in sorted(settings.r2_buckets().items())) or None,
        created="; ".join(created) or "none",
    )
    return ids


def _warn_moved(
    remote: RemoteState, kv_ids: dict[str, str], buckets: dict[str, str], warn: Callable[[str], None]
) -> None:
    deployed_kv = remote.bindings.get(KVBinding.key) or {}
    deployed_r2 = remote.bindings.get(R2Binding.key) or {}
    for binding, namespace_id in sorted(kv_ids.items()):
        before = deployed_kv.get(binding)
        if before and before != namespace_id:
            warn(
                f"{binding} now binds the KV namespace {namespace_id}; the one it was bound to ({before}) is kept "
                "with its keys, and binding it again (its title or id) brings them back"
            )
    for binding, bucket in sorted(buckets.items()):
        before = deployed_r2.get(binding)
        if before and before != bucket:
            warn(
                f"{binding} now binds the R2 bucket {bucket}; the one it was bound to ({before}) is kept with its "
                "objects, and binding it again brings them back"
            )
