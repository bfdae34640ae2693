"""What the PostgreSQL search adapter promises beyond the shared contract: atomic writes of
documents with their position, and generations shared by every process on one database."""

from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from eventsourcing.persistence import Tracking

from application.event_store import APP_NAME
from infrastructure.read_stores.search_postgres import PostgresSearchStore
from projections.search import SearchQuery, active_index

DOC = {
    "id": "p-1",
    "sku": "ECO-0001",
    "name": "Café Orgânico",
    "description": "",
    "category": "alimentos",
    "price": "39.90",
    "available": 5,
    "certifications": ["FSC"],
    "carbon_footprint_kg": "0.5",
    "version": 1,
}


@pytest.fixture
def stores(database_url):
    first, second = PostgresSearchStore(database_url), PostgresSearchStore(database_url)
    yield first, second
    first.close()
    second.close()


def test_a_failed_write_keeps_neither_its_documents_nor_its_position(stores):
    store, _ = stores
    index = store.open("g1")
    broken = {**DOC, "id": "p-2", "sku": "ECO-0002", "name": None}  # NOT NULL refuses it
    with pytest.raises(psycopg.errors.NotNullViolation):
        index.upsert([DOC, broken], Tracking(APP_NAME, 1))
    assert index.get("p-1") is None
    assert index.max_tracking_id(APP_NAME) is None
    index.upsert([DOC], Tracking(APP_NAME, 1))  # the retry of that position is not refused
    assert index.get("p-1") is not None
    assert index.max_tracking_id(APP_NAME) == 1


def test_every_process_reads_the_generation_another_one_activated(stores):
    first, second = stores
    first.open("g1").upsert([DOC], Tracking(APP_NAME, 1))
    first.activate("g1")
    second.open("g2").upsert([], Tracking(APP_NAME, 1))
    assert active_index(second).search(SearchQuery()).total == 1
    second.activate("g2")
    assert first.active_generation() == "g2"
    assert active_index(first).search(SearchQuery()).total == 0


def test_processes_starting_together_set_the_schema_up_once(database_url):
    with ThreadPoolExecutor(4) as pool:
        stores = list(pool.map(lambda _: PostgresSearchStore(database_url), range(4)))
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda store: store.open("g1"), stores))
        assert all(store.unaccent for store in stores)
        assert stores[0].generations() == ["g1"]
    finally:
        for store in stores:
            store.close()


OLDER_TABLE = """
CREATE TABLE search_products_g1 (
    id text PRIMARY KEY, sku text NOT NULL, name text NOT NULL, description text NOT NULL,
    category text NOT NULL, price numeric(12, 2) NOT NULL, available integer NOT NULL,
    certifications text[] NOT NULL, carbon_footprint_kg text NOT NULL, version integer NOT NULL,
    document tsvector NOT NULL
)
"""


def test_a_table_of_the_older_shape_is_refilled_from_the_log(database_url):
    """Before search forgave, a generation's table had no folded keys: it is dropped and its
    position forgotten, so the runner reads the log again from the start."""
    PostgresSearchStore(database_url).close()  # the bookkeeping tables
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(OLDER_TABLE)
        conn.execute(
            "INSERT INTO search_products_g1 VALUES"
            " ('p-0', 'OLD', 'Velho', '', 'casa', 1, 1, '{}', '1', 1, ''::tsvector)"
        )
        conn.execute(
            "INSERT INTO search_generations (generation, notification_id) VALUES ('g1', 7)"
        )
    store = PostgresSearchStore(database_url)
    try:
        index = store.open("g1")
        assert index.max_tracking_id(APP_NAME) is None
        assert index.search(SearchQuery()).total == 0
        index.upsert([DOC], Tracking(APP_NAME, 1))
        assert [hit.sku for hit in index.search(SearchQuery(category="ALIMENTOS")).items] == [
            "ECO-0001"
        ]
    finally:
        store.close()


def test_the_current_shape_is_kept_across_restarts(database_url):
    store = PostgresSearchStore(database_url)
    store.open("g1").upsert([DOC], Tracking(APP_NAME, 3))
    store.close()
    again = PostgresSearchStore(database_url)
    try:
        index = again.open("g1")
        assert index.max_tracking_id(APP_NAME) == 3
        assert index.search(SearchQuery()).total == 1
    finally:
        again.close()
