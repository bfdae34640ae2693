"""`ecovarejo migrate`: the store set up on its own (serve and worker do it at start too)."""

from __future__ import annotations

import json

import psycopg

from tests.e2e.test_cli import clean_env, run


def test_migrate_sets_the_store_up_and_a_second_run_finds_it_in_place(settings):
    env = clean_env(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        ECOVAREJO_JWT_SECRET="s" * 40,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
    )
    first = run("migrate", "--json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"migrated": True, "head": 0}
    with psycopg.connect(settings.database_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables").fetchall()}
        guards = conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ecovarejo_events'::regclass"
        ).fetchone()
    assert "ecovarejo_events" in tables
    assert guards is not None
    assert guards[0] > 0  # the immutability guard and the chain's trigger
    again = run("migrate", env=env)
    assert again.returncode == 0, again.stderr
    assert (
        again.stdout.strip()
        == "store ready: tables, triggers and the hash chain in place (0 events)"
    )
