"""The in-process search index answers EXACTLY what the PostgreSQL adapter answers.

A differential test: one generation of real rows (written by the adapter, with and without
the `unaccent` extension), then many generated queries — words of the bench's vocabulary
with accents, case, stop words, synonyms, hyphens and words no product has; folded and
unfolded filters; prices; every sort; `in_stock`; pages and sizes — and the bench's 18
search shapes, each answered by both and compared field by field (total, every hit, the
facets with their order, and the answer's bytes as the route builds them). Every query
must be accepted by the in-process index: what it would hand on is a failure here too.
Then: a write moves the position and the next refresh serves it; an unconfirmed snapshot and
a generation over the limit hand on."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode

import pytest
from eventsourcing.persistence import Tracking

from api.http.routers.products import _public, answer_body
from api.http.stored import canonical
from application.event_store import APP_NAME
from bench.search import QUERIES as BENCH_QUERIES
from bench.seed import CATEGORIES, CERTIFICATIONS, WORDS
from infrastructure.read_stores.search_memory import MemorySearchIndex
from infrastructure.read_stores.search_postgres import PostgresSearchIndex, PostgresSearchStore
from infrastructure.read_stores.ts_rank import parse_lexemes, parse_tsvector
from projections.search import SearchQuery, SearchResult
from projections.search_document import SORTS
from tests.conftest import Servers, new_database

DOCUMENTS = 240
STOP_WORDS = ("de", "em", "a", "o", "com", "para")
ODD_WORDS = ("eco-1", "x.com/a", "1.5", "bicicleta", "garrafas", "CAFÉ", "Orgânico", "sabao")


def document(i: int) -> dict:
    """A product of the bench's vocabulary, with the catalog's product-level fields varied
    (missing ones included) so every sort meets ties and NULLs."""
    rng = random.Random(i)
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, 4))]
    description = " ".join(rng.choice((*WORDS, *STOP_WORDS)) for _ in range(rng.randint(0, 12)))
    category = CATEGORIES[i % len(CATEGORIES)]
    doc = {
        "id": f"00000000-0000-4000-8000-{i:012d}",
        "sku": f"SKU-{rng.randint(0, 99999):05d}-{i}",
        "name": " ".join(words).title() + (" ECO-1" if i % 17 == 0 else ""),
        "description": description + (" de café" if i % 5 == 0 else ""),
        "category": category.upper() if i % 9 == 0 else category,
        "price": f"{rng.choice((5, 25, 50, 99, 100, 250, 499, 500, 900))}.{rng.randint(0, 99):02d}",
        "available": rng.choice((0, 0, 1, 7, 40)),
        "certifications": rng.sample(CERTIFICATIONS, rng.randint(0, 2)),
        "carbon_footprint_kg": rng.choice(("1.0", "1.00", "0.250", "3", "")),
        "version": 1,
    }
    if i % 3:
        doc["category_path"] = ["loja", category]
        doc["sustainability_score"] = rng.choice((None, 10, 50, 50, 99))
        doc["rating_average"] = rng.choice((None, "4.5", "4.50", "3", "5"))
        doc["rating_count"] = rng.choice((0, 1, 10))
        doc["created_at"] = rng.choice(
            (None, "2026-11-01T10:00:00+00:00", "2026-11-02T10:00:00.000001+00:00")
        )
    if i % 4 == 0:
        doc["in_stock"] = bool(i % 8)
    return doc


FOLDING = ["unaccent", "folded-in-python"]


def loaded(store: PostgresSearchStore) -> PostgresSearchIndex:
    """Generation g1, active, with the DOCUMENTS written in four batches (positions 1-4)."""
    index = store.open("g1")
    store.activate("g1")
    docs = [document(i) for i in range(DOCUMENTS)]
    for position, start in enumerate(range(0, DOCUMENTS, 60), start=1):
        index.upsert(docs[start : start + 60], Tracking(APP_NAME, position))
    return index


def held_in_memory(store: PostgresSearchStore) -> MemorySearchIndex:
    held = MemorySearchIndex(store, max_documents=10_000, max_stale_s=3600, load_share=0)
    held.refresh()
    assert held.snapshot is not None
    return held


@pytest.fixture(params=FOLDING)
def store(request, database_url: str) -> Iterator[PostgresSearchStore]:
    built = PostgresSearchStore(database_url, use_unaccent=request.param == "unaccent")
    yield built
    built.close()


@pytest.fixture
def index(store: PostgresSearchStore) -> PostgresSearchIndex:
    return loaded(store)


@pytest.fixture
def memory(store: PostgresSearchStore, index: PostgresSearchIndex) -> MemorySearchIndex:
    return held_in_memory(store)


# The comparisons only read the rows: they share one loaded database per folding (module
# scope: one CREATE DATABASE and load instead of forty), each with a MemorySearchIndex of its
# own, so no test sees what words another one taught its snapshot. The tests that write
# take `store`/`index` above, a fresh database each.
@pytest.fixture(scope="module", params=FOLDING)
def shared(request, servers: Servers) -> Iterator[tuple[PostgresSearchStore, PostgresSearchIndex]]:
    with new_database(servers) as url:
        built = PostgresSearchStore(url, use_unaccent=request.param == "unaccent")
        try:
            yield built, loaded(built)
        finally:
            built.close()


@pytest.fixture
def rows(shared: tuple[PostgresSearchStore, PostgresSearchIndex]) -> Iterator[PostgresSearchIndex]:
    store, index = shared
    yield index
    assert store.generations() == ["g1"], "a comparison wrote to the shared rows"
    assert index.max_tracking_id(APP_NAME) == 4, "a comparison wrote to the shared rows"


@pytest.fixture
def fresh_memory(
    shared: tuple[PostgresSearchStore, PostgresSearchIndex], rows: PostgresSearchIndex
) -> MemorySearchIndex:
    return held_in_memory(shared[0])


def in_memory(memory: MemorySearchIndex, query: SearchQuery) -> SearchResult:
    found = memory.search(query)
    if found is None:  # words not learnt yet: learnt once, then answered
        memory.work()
        found = memory.search(query)
    assert found is not None, f"handed on: {query}"
    return found


def assert_same(memory: MemorySearchIndex, index: PostgresSearchIndex, query: SearchQuery):
    expected, got = index.search(query), in_memory(memory, query)
    assert got.total == expected.total, query
    assert got.items == expected.items, query
    for facet, counts in expected.facets.items():
        assert list(got.facets[facet].items()) == list(counts.items()), (query, facet)
    assert got.facets.keys() == expected.facets.keys()
    # The bytes built without the response model are the model's.
    assert answer_body(got) == canonical(_public(expected).model_dump(mode="json"))
    return expected


def spelled(rng: random.Random, word: str) -> str:
    return rng.choice((word, word.upper(), word.title(), word.replace("a", "á")))


def generated(rng: random.Random) -> SearchQuery:
    words = [
        spelled(rng, rng.choice((*WORDS, *STOP_WORDS, *ODD_WORDS)))
        for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3)))
    ]
    low = rng.choice((None, None, Decimal("25"), Decimal("99.5"), Decimal("0")))
    high = rng.choice((None, None, Decimal("500"), Decimal("100.00")))
    if low is not None and high is not None and low > high:
        low, high = high, low
    size = rng.choice((1, 5, 20, 50))
    return SearchQuery(
        q=" ".join(words) or None,
        category=rng.choice((None, None, "casa", "LOJA", "Escritório", "nenhuma")),
        certification=rng.choice((None, None, "fsc", "Orgânico Brasil", "B CORP")),
        min_price=low,
        max_price=high,
        page=rng.choice((1, 1, 2, 4)),
        size=size,
        sort=rng.choice(SORTS),
        in_stock=rng.random() < 0.3,
    )


def test_generated_queries_are_answered_exactly_as_postgres_answers_them(fresh_memory, rows):
    rng = random.Random(23)
    nonempty = 0
    for _ in range(400):
        nonempty += assert_same(fresh_memory, rows, generated(rng)).total > 0
    assert nonempty > 150  # the comparison is not over empty answers


@pytest.mark.parametrize("shape", BENCH_QUERIES, ids=urlencode)
def test_the_bench_search_shapes_are_answered_exactly(fresh_memory, rows, shape):
    params = dict(parse_qsl(urlencode(shape)))
    for key in ("min_price", "max_price"):
        if key in params:
            params[key] = Decimal(params[key])  # type: ignore[assignment]
    for key in ("page", "size"):
        if key in params:
            params[key] = int(params[key])  # type: ignore[assignment]
    if "in_stock" in params:
        params["in_stock"] = params["in_stock"] == "true"  # type: ignore[assignment]
    assert_same(fresh_memory, rows, SearchQuery(**params))  # type: ignore[arg-type]


def test_relevance_ties_and_near_ties_come_in_the_database_order(fresh_memory, rows):
    for q in ("garrafa", "café", "garrafa vidro", "sabonete vegetal coco", "eco-1", "de café"):
        for page in (1, 2, 3):
            assert_same(fresh_memory, rows, SearchQuery(q=q, size=7, page=page))


def test_a_write_is_served_after_the_next_refresh(store, index, memory):
    moved = document(5) | {"price": "1.00", "name": "Garrafa Nova"}
    index.upsert([moved], Tracking(APP_NAME, 100))
    memory.refresh()
    assert memory.snapshot is not None
    assert memory.snapshot.version == ("g1", 100)
    result = assert_same(memory, index, SearchQuery(q="garrafa", sort="price_asc", size=1))
    assert result.items[0].name == "Garrafa Nova"


def test_an_unconfirmed_snapshot_hands_every_search_on(store, index):
    now = [0.0]
    held = MemorySearchIndex(store, max_documents=10_000, max_stale_s=2, clock=lambda: now[0])
    assert held.search(SearchQuery()) is None
    assert held.wants_work()
    held.work()
    assert held.search(SearchQuery()) is not None
    now[0] = 1.5
    assert held.wants_work()
    assert held.search(SearchQuery()) is not None
    now[0] = 2.0
    assert held.search(SearchQuery()) is None  # older than max_stale_s: the store answers


def test_loads_take_at_most_a_tenth_of_a_core(store, index):
    now = [0.0]
    held = MemorySearchIndex(store, max_documents=10_000, max_stale_s=2, clock=lambda: now[0])
    held.refresh()
    assert held.snapshot is not None
    index.upsert([document(7)], Tracking(APP_NAME, 200))
    held.refresh()  # moved, but the last load was just now: not loaded again yet
    assert held.snapshot.version == ("g1", 4)
    now[0] = 1.9
    assert held.search(SearchQuery()) is not None  # still within the bound
    now[0] = 2.0
    assert held.search(SearchQuery()) is None  # unconfirmed past the bound: the store
    now[0] = 60.0  # (more than 9 times any load's CPU time later)
    held.refresh()
    assert held.snapshot.version == ("g1", 200)
    assert held.search(SearchQuery()) is not None


def test_a_generation_over_the_limit_is_not_held(store, index):
    held = MemorySearchIndex(store, max_documents=DOCUMENTS - 1, max_stale_s=60)
    held.work()
    assert held.snapshot is None
    assert held.search(SearchQuery()) is None


def test_texts_are_parsed_as_postgres_prints_them():
    assert parse_tsvector("'a''b':1A,2 'c\\\\d':3C 'x'") == {
        "a'b": (1 << 2 | 3, 2 << 2),
        "c\\d": (3 << 2 | 1,),
        "x": (),
    }
    assert parse_tsvector("'a':1Z") is None
    assert parse_lexemes("'eco' & '-1'") == ("eco", "-1")
    assert parse_lexemes("") == ()
    assert parse_lexemes("'a' | 'b'") is None
    assert parse_lexemes("'a':*") is None
