# test_migrate.py - polderctl migrate: applies the embedded schema once, a second
# run changes nothing, and other commands refuse to work on an unmigrated database.

from conftest import drop_database, new_database, write_config


def test_migrate_creates_the_directory_and_audit_schemas(polderctl, sql):
    r = polderctl.ok("migrate")
    assert "applied migration(s) 1, 2" in r.stdout
    tables = {row[0] for row in sql(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        " WHERE table_schema IN ('directory', 'audit')")}
    assert {"directory.orgs", "directory.domains", "directory.accounts", "directory.aliases",
            "directory.groups", "directory.group_members", "directory.app_passwords",
            "directory.auth_failures", "directory.addresses", "audit.events"} <= tables
    versions = [row[0] for row in sql("SELECT version FROM public.polder_schema_migrations ORDER BY version")]
    assert versions[:2] == [1, 2]


def test_migrate_twice_is_a_no_op(polderctl, sql):
    before = sql("SELECT count(*) FROM public.polder_schema_migrations")[0][0]
    r = polderctl.ok("migrate")
    assert "schema is up to date" in r.stdout
    assert sql("SELECT count(*) FROM public.polder_schema_migrations")[0][0] == before
    # only the run that changed something left an audit event
    assert sql("SELECT count(*) FROM audit.events WHERE event = 'admin.migrate'")[0][0] == 1


def test_commands_on_an_unmigrated_database_ask_for_migrate(pg, polderctl, tmp_path, expect_failure):
    name = new_database(pg, "unmigrated")
    try:
        config = write_config(tmp_path / "unmigrated.toml", pg, name)
        r = polderctl("org", "list", config=config)
        expect_failure(r, 1, "no Polder schema yet", "polderctl migrate")
    finally:
        drop_database(pg, name)


def test_audit_events_cannot_be_rewritten(migrated, sql, pg, database):
    import psycopg2
    import pytest
    conn = pg.connect(database)
    try:
        with pytest.raises(psycopg2.Error, match="append-only"):
            with conn.cursor() as cur:
                cur.execute("UPDATE audit.events SET actor = 'someone else'")
    finally:
        conn.close()
