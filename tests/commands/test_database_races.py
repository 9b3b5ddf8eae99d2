"""When the database changes between its read and the deploy's SQL (`apply_checked`, against cfemu): another
deploy filled it, or a request of this deploy was applied before the client retried it. The change is made
here by hand, between the read and the write, so each case happens every time."""

from __future__ import annotations

from pathlib import Path

from cfemu.launcher import Emulator
from deployer.app import load_app
from deployer.cloudflare import CloudflareClient
from deployer.cloudflare import d1 as d1_api
from deployer.commands._database import Applied, apply_checked, read_state
from deployer.database import DatabasePlanner
from deployer.errors import SchemaError
from tests.commands.test_database_step import ADD_DONE, migration, query
from tests.commands.test_deploy import deploy


def client_for(emulator: Emulator) -> CloudflareClient:
    return CloudflareClient(
        base_url=emulator.api_base_url, api_token=emulator.api_token, account_id=emulator.account_id
    )


async def apply_after(
    emulator: Emulator, app: Path, database: d1_api.Database, meanwhile: str
) -> tuple[list[str], Applied | SchemaError]:
    """Read the database, run `meanwhile` on it (the other writer), then apply what the first read planned."""
    local = load_app(app)
    warnings: list[str] = []

    replan = DatabasePlanner(local, database.name, schema_changed=None, allow_destructive=False).plan
    async with client_for(emulator) as client:
        state = await read_state(client, database.uuid)
        work = replan(state)
        query(emulator, database.uuid, meanwhile)
        try:
            applied: Applied | SchemaError = await apply_checked(
                client, local, database, state, work, replan=replan, warn=warnings.append, done=[]
            )
        except SchemaError as exc:
            applied = exc
    return warnings, applied


async def new_database(emulator: Emulator, name: str) -> d1_api.Database:
    async with client_for(emulator) as client:
        return await d1_api.create_database(client, name)


async def test_a_new_database_filled_meanwhile_with_the_same_schema_is_accepted_and_seeded_once(
    emulator: Emulator, app: Path
) -> None:
    (app / "seed.sql").write_text("INSERT INTO items (name) VALUES ('seeded');\n")
    database = await new_database(emulator, "race-db")
    other = (
        app / "schema.sql"
    ).read_text() + "\nCREATE TABLE d1_migrations (id INTEGER PRIMARY KEY, name TEXT UNIQUE);"
    warnings, applied = await apply_after(
        emulator, app, database, other + "\nINSERT INTO items (name) VALUES ('seeded');"
    )
    assert isinstance(applied, Applied)
    assert (applied.bookmark, applied.restore, applied.migrations, applied.files) == (None, "", (), ())
    assert query(emulator, database.uuid, "SELECT name FROM items") == [{"name": "seeded"}]
    assert warnings == [
        "D1 database race-db changed while this deploy applied its SQL (another deploy at the same time, or a "
        "request of this one applied before a retry); it was read again and only what it lacks is applied"
    ]


async def test_a_new_database_filled_meanwhile_without_this_apps_tables_stops_the_deploy(
    emulator: Emulator, app: Path
) -> None:
    """The other deploy had another schema.sql: this one's tables are missing, so it must not report success."""
    (app / "schema.sql").write_text(
        (app / "schema.sql").read_text()
        + "\nCREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, label TEXT);\nCREATE TABLE labels (x);\n"
    )
    database = await new_database(emulator, "race-db")
    other = (
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);\nCREATE TABLE d1_migrations (id INTEGER, name TEXT);"
    )
    _, applied = await apply_after(emulator, app, database, other)
    assert isinstance(applied, SchemaError)
    assert applied.message == (
        "D1 database race-db was filled by another deploy while this one applied its SQL, and it lacks table "
        "labels, tags that this app's schema.sql creates (the two deploys had different schema.sql files); this "
        "deploy's schema.sql and seed.sql were not applied"
    )
    assert applied.hint == (
        "Nothing of this deploy's SQL was kept. Add the missing tables with a migration "
        "(migrations/0001_add_missing_tables.sql) and deploy again."
    )
    assert query(emulator, database.uuid, "SELECT name FROM sqlite_master WHERE name = 'tags'") == []


async def test_a_migration_applied_meanwhile_is_reported_with_the_bookmark_taken_before(
    emulator: Emulator, app: Path
) -> None:
    """As when the client retried a request Cloudflare had already applied: the migration is in the ledger, so
    it is not applied twice, and this deploy still reports it and the bookmark that undoes it."""
    first = await deploy(emulator, app)
    database = d1_api.Database(first.database_id or "", "items-app-db")
    migration(app, "0001_add_done.sql", ADD_DONE)
    warnings, applied = await apply_after(
        emulator, app, database, ADD_DONE + "INSERT INTO d1_migrations (name) VALUES ('0001_add_done.sql');"
    )
    assert isinstance(applied, Applied), applied
    assert applied.migrations == ("0001_add_done.sql",)
    assert applied.bookmark and applied.bookmark in applied.restore
    assert len(warnings) == 1
    assert query(emulator, database.uuid, "SELECT count(*) AS n FROM d1_migrations") == [{"n": 1}]


async def test_what_another_deploy_left_undone_is_applied_after_reading_again(emulator: Emulator, app: Path) -> None:
    """The other deploy applied 0001 only: this one's request (0001 and 0002) fails whole, then 0002 alone is
    applied. (schema.sql gained a table since the database was made: not a new database, so not looked for.)"""
    first = await deploy(emulator, app)
    database = d1_api.Database(first.database_id or "", "items-app-db")
    schema = app / "schema.sql"
    schema.write_text(schema.read_text() + "\nCREATE TABLE IF NOT EXISTS extra (x);\n")
    migration(app, "0001_add_done.sql", ADD_DONE)
    migration(app, "0002_add_note.sql", "ALTER TABLE items ADD COLUMN note TEXT;\n")
    meanwhile = ADD_DONE + "INSERT INTO d1_migrations (name) VALUES ('0001_add_done.sql');"
    warnings, applied = await apply_after(emulator, app, database, meanwhile)
    assert isinstance(applied, Applied), applied
    assert applied.migrations == ("0001_add_done.sql", "0002_add_note.sql")
    assert applied.files == ("migrations/0002_add_note.sql",)
    assert applied.bookmark and applied.bookmark in applied.restore and len(warnings) == 1
    ledger = query(emulator, database.uuid, "SELECT name FROM d1_migrations ORDER BY id")
    assert ledger == [{"name": "0001_add_done.sql"}, {"name": "0002_add_note.sql"}]
    assert query(emulator, database.uuid, "SELECT done, note FROM items") == []


async def test_a_retry_after_a_race_that_fails_names_its_own_file(emulator: Emulator, app: Path) -> None:
    first = await deploy(emulator, app)
    database = d1_api.Database(first.database_id or "", "items-app-db")
    migration(app, "0001_add_done.sql", ADD_DONE)
    migration(app, "0002_bad.sql", "ALTER TABLE nowhere ADD COLUMN x INTEGER;\n")
    meanwhile = ADD_DONE + "INSERT INTO d1_migrations (name) VALUES ('0001_add_done.sql');"
    _, applied = await apply_after(emulator, app, database, meanwhile)
    assert isinstance(applied, SchemaError)
    assert applied.message.startswith("migrations/0002_bad.sql line 1 failed on D1 database items-app-db")


async def test_a_failure_on_a_database_nobody_changed_is_the_sqls_own(emulator: Emulator, app: Path) -> None:
    first = await deploy(emulator, app)
    database = d1_api.Database(first.database_id or "", "items-app-db")
    migration(app, "0001_bad.sql", "ALTER TABLE nowhere ADD COLUMN x INTEGER;\n")
    warnings, applied = await apply_after(emulator, app, database, "SELECT 1;")
    assert isinstance(applied, SchemaError) and "no such table: nowhere" in applied.message
    assert warnings == []
    assert applied.bookmark is not None  # taken before the failing request, and carried by the error
