"""One behaviour suite for the product search port, run against every adapter.

- PostgreSQL, always (a fresh real database per test), with the `unaccent` and
  `fuzzystrmatch` extensions and with their Python fallbacks.
- Elasticsearch, only when ELASTICSEARCH_URL points at a real cluster: none can run in this
  build environment, so without it those cases are skipped, not faked.
- osmem-server, when that package is installed: an in-memory OpenSearch-compatible test
  double, reached over HTTP by the real adapter and client (see tests/contract/osmem.py).
  It exercises the requests and the answers' parsing (bulk with external versions, 409s,
  the tracking document, aliases, filters, aggregations, paging), but it is not
  Elasticsearch: passing here proves nothing for a real cluster, and the text-analysis
  cases are skipped on it because it mishandles stemmer filters.

Every adapter is fed as production feeds it: real StockItem aggregates, their real events,
through the real projector, at increasing log positions. The catalog's product-level fields
(category path, score, rating, creation time, in stock), which the projector of products
with variants adds, are written as documents of the agreed shape (`product_doc`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from decimal import Decimal

import pytest
from elasticsearch import Elasticsearch
from eventsourcing.persistence import Tracking

from application.event_store import APP_NAME
from domain.cart import Cart
from domain.category import CategoryTree
from domain.money import Money
from domain.product import Certification, Product, SustainabilityProfile, Variant
from domain.review import Review
from domain.stock_item import StockItem
from infrastructure.read_stores.search_elasticsearch import ElasticsearchSearchStore
from infrastructure.read_stores.search_postgres import PostgresSearchStore
from projections.base import GenerationMovedError
from projections.search import (
    InvalidSearchQueryError,
    SearchIndex,
    SearchProjection,
    SearchQuery,
    SearchStore,
    SuggestQuery,
    active_index,
    live_index,
)
from tests.conftest import Servers, new_database
from tests.contract.osmem import PlainMimeNode

CATALOG = [
    # sku, name, description, category, price, quantity, certifications
    (
        "ECO-0001",
        "Café Orgânico em Grãos",
        "Café arábica torrado no sul de Minas",
        "alimentos",
        "39.90",
        50,
        ["Orgânico Brasil", "Fair Trade"],
    ),
    (
        "ECO-0002",
        "Sabonete de Argila Verde",
        "Feito à mão com óleo de café e argila",
        "higiene",
        "18.50",
        30,
        ["Cruelty Free"],
    ),
    (
        "ECO-0003",
        "Camiseta de Algodão Orgânica",
        "Malha macia de fibra certificada",
        "vestuário",
        "89.90",
        20,
        ["GOTS", "Fair Trade"],
    ),
    (
        "ECO-0004",
        "Garrafa Térmica de Inox",
        "Aço inox reciclável, mantém a temperatura por 12 horas",
        "casa",
        "129.90",
        10,
        ["B Corp"],
    ),
    (
        "ECO-0005",
        "Escova de Dente de Bambu",
        "Cabo de bambu biodegradável",
        "higiene",
        "12.00",
        100,
        ["FSC"],
    ),
]


def stock_item(sku, name, description, category, price, quantity, certifications):
    return StockItem.register(
        sku=sku,
        name=name,
        description=description,
        category=category,
        price=Money.brl(price),
        initial_quantity=quantity,
        sustainability={
            "carbon_footprint_kg": "1.250",
            "certifications": certifications,
            "recyclable": True,
            "biodegradable": False,
        },
    )


class Feed:
    """Plays events into an index through the projector, one log position each."""

    def __init__(self, index: SearchIndex, start: int = 0):
        self.index = index
        self.projection = SearchProjection(index)
        self.position = start

    def play(self, *aggregates) -> int:
        for aggregate in aggregates:
            for event in aggregate.collect_events():
                self.replay(event, self.position + 1)
        return self.position

    def replay(self, event, position: int) -> None:
        self.projection.process_event(event, Tracking(APP_NAME, position))
        self.position = max(self.position, position)


# Tests of text analysis (accent folding, stemming, relevance, every word required).
text_analysis = pytest.mark.text_analysis
OSMEM_TEXT = (
    "osmem-server 0.1.6 is not faithful here: with any `stemmer` token filter in a custom "
    "analyzer its match queries match every document (seen with plain curl, no client)"
)


@pytest.fixture(scope="session")
def osmem_url() -> Iterator[str]:
    osmem_server = pytest.importorskip(
        "osmem_server",
        reason="osmem-server is not installed: no in-memory OpenSearch double to run against",
    )
    with osmem_server.OsmemServer.start(japanese=False) as server:
        yield server.url


def elasticsearch_store(client: Elasticsearch) -> Iterator[ElasticsearchSearchStore]:
    """A store under an alias of its own, and its indices deleted afterwards."""
    store = ElasticsearchSearchStore(client, alias=f"ecovarejo-test-{uuid.uuid4().hex[:12]}")
    yield store
    client.options(ignore_status=404).indices.delete(index=f"{store.alias}-*")
    client.close()


ADAPTERS = ["postgres", "postgres-without-extensions", "elasticsearch", "osmem"]


def adapter(
    request: pytest.FixtureRequest, database_url: Callable[[], str]
) -> Iterator[SearchStore]:
    """The store of adapter `request.param`; `database_url()` gives a fresh database."""
    if request.param.startswith("postgres"):
        # Without extensions: accents folded and suggestion typos checked in Python, as on
        # a server where `unaccent` and `fuzzystrmatch` cannot be installed.
        with_extensions = request.param == "postgres"
        built = PostgresSearchStore(
            database_url(),
            use_unaccent=with_extensions,
            use_fuzzystrmatch=with_extensions,
        )
        assert built.unaccent == built.levenshtein == with_extensions
        yield built
        built.close()
    elif request.param == "elasticsearch":
        url = os.environ.get("ELASTICSEARCH_URL")
        if not url:
            pytest.skip(
                "ELASTICSEARCH_URL is not set: no Elasticsearch cluster to run the contract "
                "against (none can run in this build environment; use docker compose)"
            )
        yield from elasticsearch_store(Elasticsearch(url))
    else:
        # A test double, not Elasticsearch: what passes here is no proof for a real cluster.
        url = request.getfixturevalue("osmem_url")
        client = Elasticsearch(url, node_class=PlainMimeNode)
        yield from elasticsearch_store(client)


def skip_text_analysis_on_osmem(request: pytest.FixtureRequest, kind: str) -> None:
    if kind == "osmem" and request.node.get_closest_marker("text_analysis"):
        pytest.skip(OSMEM_TEXT)


@pytest.fixture(params=ADAPTERS)
def store(request) -> Iterator[SearchStore]:
    skip_text_analysis_on_osmem(request, request.param)
    yield from adapter(request, lambda: request.getfixturevalue("database_url"))


@pytest.fixture
def index(store: SearchStore) -> SearchIndex:
    return store.open("g1")


def fed(index: SearchIndex) -> Feed:
    feed = Feed(index)
    feed.play(*(stock_item(*row) for row in CATALOG))
    return feed


@pytest.fixture
def catalog(index: SearchIndex) -> Feed:
    return fed(index)


# The tests that only search or suggest share one fed catalog per adapter (module scope: one
# database and feed instead of one per test, for each PostgreSQL variant); the tests that
# write take `index`/`catalog` above, a fresh store each. Each test checks on leaving that
# the catalog is still at the position the feed left it.
@pytest.fixture(scope="module", params=ADAPTERS)
def shared_catalog(request, servers: Servers) -> Iterator[tuple[str, SearchIndex]]:
    with ExitStack() as stack:
        store = stack.enter_context(
            contextmanager(adapter)(request, lambda: stack.enter_context(new_database(servers)))
        )
        index = store.open("g1")
        fed(index)
        yield request.param, index


@pytest.fixture
def catalog_index(request, shared_catalog: tuple[str, SearchIndex]) -> Iterator[SearchIndex]:
    kind, index = shared_catalog
    skip_text_analysis_on_osmem(request, kind)
    yield index
    assert index.max_tracking_id(APP_NAME) == len(CATALOG), "a read-only test wrote to it"


def skus(result) -> list[str]:
    return [item.sku for item in result.items]


def search(index: SearchIndex, **criteria):
    return index.search(SearchQuery(**criteria))


# Text relevance and accents -----------------------------------------------------------------


@text_analysis
def test_ranks_a_match_in_the_name_above_a_match_in_the_description(catalog_index):
    assert skus(search(catalog_index, q="café")) == ["ECO-0001", "ECO-0002"]


@text_analysis
def test_finds_organica_without_the_accent(catalog_index):
    result = search(catalog_index, q="organica")
    assert "ECO-0003" in skus(result)
    hit = next(item for item in result.items if item.sku == "ECO-0003")
    assert hit.name == "Camiseta de Algodão Orgânica"  # folded for matching, not for showing


@text_analysis
def test_finds_cafe_without_the_accent(catalog_index):
    assert skus(search(catalog_index, q="cafe")) == ["ECO-0001", "ECO-0002"]


@text_analysis
def test_ignores_accents_and_case_in_the_query(catalog_index):
    assert skus(search(catalog_index, q="ALGODAO")) == ["ECO-0003"]
    assert skus(search(catalog_index, q="térmica")) == ["ECO-0004"]


@text_analysis
def test_needs_every_word_of_the_query(catalog_index):
    assert skus(search(catalog_index, q="café grãos")) == ["ECO-0001"]
    assert search(catalog_index, q="café bambu").total == 0


@text_analysis
def test_finds_words_in_the_category(catalog_index):
    assert skus(search(catalog_index, q="higiene")) == ["ECO-0002", "ECO-0005"]


@text_analysis
def test_a_query_that_matches_nothing_answers_empty_with_empty_facets(catalog_index):
    result = search(catalog_index, q="bicicleta")
    assert (result.total, result.items) == (0, [])
    assert result.facets == {"category": {}, "certification": {}, "price": {}}


# Filters --------------------------------------------------------------------------------


def test_filters_by_category(catalog_index):
    assert skus(search(catalog_index, category="higiene")) == ["ECO-0002", "ECO-0005"]


def test_filters_by_certification(catalog_index):
    assert skus(search(catalog_index, certification="Fair Trade")) == ["ECO-0001", "ECO-0003"]


@text_analysis
def test_combines_text_and_filters(catalog_index):
    assert skus(search(catalog_index, q="café", category="higiene")) == ["ECO-0002"]
    assert search(catalog_index, q="café", certification="FSC").total == 0


def test_filters_by_an_inclusive_price_range(catalog_index):
    result = search(catalog_index, min_price=Decimal("18.50"), max_price=Decimal("89.90"))
    assert skus(result) == ["ECO-0001", "ECO-0002", "ECO-0003"]


def test_filters_by_a_lower_or_an_upper_price_alone(catalog_index):
    assert skus(search(catalog_index, min_price=Decimal("89.91"))) == ["ECO-0004"]
    assert skus(search(catalog_index, max_price=Decimal("12"))) == ["ECO-0005"]


def test_answers_the_fields_of_a_hit_with_money_as_decimal(catalog_index):
    (hit,) = search(catalog_index, category="casa").items
    assert hit.sku == "ECO-0004"
    assert hit.name == "Garrafa Térmica de Inox"
    assert hit.price == Decimal("129.90")
    assert isinstance(hit.price, Decimal)
    assert hit.available == 10
    assert hit.certifications == ["B Corp"]
    assert hit.carbon_footprint_kg == "1.250"


# Facets ---------------------------------------------------------------------------------


def test_counts_facets_over_the_whole_catalog(catalog_index):
    result = search(catalog_index)
    assert result.total == 5
    assert result.facets["category"] == {"higiene": 2, "alimentos": 1, "casa": 1, "vestuário": 1}
    assert result.facets["certification"] == {
        "Fair Trade": 2,
        "B Corp": 1,
        "Cruelty Free": 1,
        "FSC": 1,
        "GOTS": 1,
        "Orgânico Brasil": 1,
    }


def test_counts_facets_over_the_filtered_set_only(catalog_index):
    result = search(catalog_index, category="higiene")
    assert result.facets == {
        "category": {"higiene": 2},
        "certification": {"Cruelty Free": 1, "FSC": 1},
        "price": {"-25": 2},
    }


@text_analysis
def test_counts_facets_over_the_matches_of_a_text_query(catalog_index):
    assert search(catalog_index, q="café").facets["category"] == {"alimentos": 1, "higiene": 1}


def test_lists_facets_most_frequent_first(catalog_index):
    facets = search(catalog_index).facets
    assert next(iter(facets["category"])) == "higiene"
    assert next(iter(facets["certification"])) == "Fair Trade"


# Pagination -----------------------------------------------------------------------------


def test_pages_through_results_in_a_stable_order(catalog_index):
    pages = [search(catalog_index, page=page, size=2) for page in (1, 2, 3, 4)]
    assert [skus(p) for p in pages] == [
        ["ECO-0001", "ECO-0002"],
        ["ECO-0003", "ECO-0004"],
        ["ECO-0005"],
        [],
    ]
    assert {p.total for p in pages} == {5}


def test_facets_do_not_depend_on_the_page(catalog_index):
    assert search(catalog_index, page=2, size=1).facets == search(catalog_index).facets


# Following the log ----------------------------------------------------------------------


def test_reflects_stock_movements_after_their_events(index):
    feed = Feed(index)
    item = stock_item(*CATALOG[0])
    feed.play(item)
    order = uuid.uuid4()
    item.receive(10)  # 60
    item.adjust(-5, "avaria")  # 55
    item.reserve(order, 4)  # 51 available
    feed.play(item)
    assert search(index, category="alimentos").items[0].available == 51
    item.commit(order)  # shipped: still 51 available
    other = uuid.uuid4()
    item.reserve(other, 1)
    item.release(other)
    feed.play(item)
    doc = index.get(str(StockItem.create_id("ECO-0001")))
    assert doc is not None
    assert (doc["available"], doc["version"]) == (51, item.version)


def test_reflects_a_price_change_in_results_and_price_filters(index, catalog):
    item = stock_item(*CATALOG[3])
    item.collect_events()  # registered already, by the catalog fixture
    item.change_price(Money.brl("99.00"))
    catalog.play(item)
    (hit,) = search(index, category="casa").items
    assert hit.price == Decimal("99.00")
    assert skus(search(index, min_price=Decimal("89"), max_price=Decimal("100"))) == [
        "ECO-0003",
        "ECO-0004",
    ]


def test_an_archived_product_leaves_results_and_facets(index, catalog):
    item = stock_item(*CATALOG[3])
    item.collect_events()  # registered already, by the catalog fixture
    before = search(index)
    item.archive()
    [archived] = item.collect_events()
    catalog.replay(archived, catalog.position + 1)
    catalog.replay(archived, catalog.position)  # a replay of the same position: no change
    assert search(index).total == before.total - 1
    assert "ECO-0004" not in skus(search(index, size=50))
    assert index.get(str(item.id)) is None


def test_the_unfiltered_facets_follow_every_change_as_a_filtered_count_does(index, catalog):
    """PostgreSQL keeps the whole catalog's facets as documents are written; they must
    answer what counting the hits answers (a filter every product passes counts them)."""
    cafe, camiseta, garrafa = (stock_item(*CATALOG[i]) for i in (0, 2, 3))
    for item in (cafe, camiseta, garrafa):
        item.collect_events()  # registered already, by the catalog fixture
    cafe.change_price(Money.brl("250.00"))
    camiseta.edit(
        name="Camiseta de Algodão Orgânica",
        description="Malha macia",
        category="Vestuário",
        weight_grams=200,
        sustainability={"carbon_footprint_kg": "1.250", "certifications": ["GOTS", "Vegano"]},
    )
    garrafa.archive()
    catalog.play(cafe, camiseta, garrafa)
    everything, counted = search(index), search(index, min_price=Decimal("0"))
    assert (everything.total, everything.facets) == (counted.total, counted.facets)
    assert everything.facets["price"]["200-500"] == 1
    assert everything.facets["certification"]["Vegano"] == 1
    assert "B Corp" not in everything.facets["certification"]  # the archived one's


def test_keeps_a_document_per_aggregate_id_with_the_sku_as_a_field(catalog_index):
    doc = catalog_index.get(str(StockItem.create_id("ECO-0002")))
    assert doc is not None
    assert doc["sku"] == "ECO-0002"
    assert doc["price"] == "18.50"
    assert doc["certifications"] == ["Cruelty Free"]
    assert doc["version"] == 1
    assert catalog_index.get(str(uuid.uuid4())) is None


def test_records_the_log_position_of_the_last_event(catalog_index):
    assert catalog_index.max_tracking_id(APP_NAME) == 5
    assert catalog_index.max_tracking_id("") == 5  # one log: readers may ask with any name


def test_a_repeated_position_is_applied_once(index, catalog):
    item = stock_item(*CATALOG[4])
    item.collect_events()
    item.receive(7)
    (received,) = item.collect_events()
    catalog.replay(received, 6)
    catalog.replay(received, 6)  # redelivered after a crash
    catalog.replay(received, 3)  # an old position
    doc = index.get(str(StockItem.create_id("ECO-0005")))
    assert doc is not None
    assert doc["available"] == 107
    assert index.max_tracking_id(APP_NAME) == 6


def test_a_stale_position_changes_no_document(index, catalog):
    stale = {**index.get(str(StockItem.create_id("ECO-0001"))), "available": 0}  # type: ignore[dict-item]
    index.upsert([stale], Tracking(APP_NAME, 2))
    assert index.get(str(StockItem.create_id("ECO-0001")))["available"] == 50  # type: ignore[index]


def test_events_of_unknown_products_and_other_aggregates_only_advance_the_position(index):
    feed = Feed(index)
    unknown = stock_item(*CATALOG[0])
    unknown.collect_events()  # its registration never reached the log we follow
    unknown.receive(1)
    cart = Cart(customer_id="cliente-1")
    cart.add_item("ECO-0001", "Café", 1, Money.brl("39.90"))
    position = feed.play(unknown, cart)
    assert position == 3
    assert index.max_tracking_id(APP_NAME) == 3
    assert search(index).total == 0


# Generations ----------------------------------------------------------------------------


def test_readers_see_the_old_generation_until_the_new_one_is_activated(store):
    old = store.open("g1")
    Feed(old).play(stock_item(*CATALOG[0]))
    store.activate("g1")

    new = store.open("g2")
    assert store.active_generation() == "g1"
    Feed(new).play(*(stock_item(*row) for row in CATALOG))
    assert search(active_index(store)).total == 1
    assert active_index(store).max_tracking_id(APP_NAME) == 1

    store.activate("g2")
    assert store.active_generation() == "g2"
    assert search(active_index(store)).total == 5
    assert active_index(store).max_tracking_id(APP_NAME) == 5


def test_the_live_index_refuses_to_write_once_another_generation_is_active(store):
    live = live_index(store)  # g1, active by default
    Feed(live).play(stock_item(*CATALOG[0]))
    rebuilt = store.open("g2")
    Feed(rebuilt).play(stock_item(*CATALOG[0]))
    store.activate("g2")
    (late,) = stock_item(*CATALOG[1]).collect_events()
    with pytest.raises(GenerationMovedError):
        Feed(live).replay(late, 2)
    assert live.max_tracking_id(APP_NAME) == 1
    Feed(live_index(store)).replay(late, 2)  # the restarted runner writes to g2
    assert skus(search(active_index(store))) == ["ECO-0001", "ECO-0002"]


def test_lists_generations_and_drops_only_an_inactive_one(store):
    store.open("g1")
    store.activate("g1")
    store.open("g2")
    assert store.generations() == ["g1", "g2"]
    with pytest.raises(ValueError, match="active"):
        store.drop("g1")
    store.activate("g2")
    store.drop("g1")
    assert store.generations() == ["g2"]


def test_a_new_generation_starts_empty_at_no_position(store):
    index = store.open("g7")
    assert index.max_tracking_id(APP_NAME) is None
    assert search(index).total == 0


def test_refuses_to_activate_a_generation_that_does_not_exist(store):
    with pytest.raises(LookupError):
        store.activate("g9")


# Forgiving filters and words ----------------------------------------------------------------


def test_filters_by_category_regardless_of_case_and_accents(catalog_index):
    for spelling in ("vestuario", "VESTUÁRIO", " Vestuário "):
        assert skus(search(catalog_index, category=spelling)) == ["ECO-0003"], spelling


def test_filters_by_certification_regardless_of_case_and_accents(catalog_index):
    assert skus(search(catalog_index, certification="fair trade")) == ["ECO-0001", "ECO-0003"]
    assert skus(search(catalog_index, certification="organico brasil")) == ["ECO-0001"]
    assert search(catalog_index, certification="fair").total == 0  # a whole name, not a part


@text_analysis
def test_finds_camiseta_organica_in_any_case_and_without_accents(catalog_index):
    assert skus(search(catalog_index, q="camiseta organica")) == ["ECO-0003"]
    assert skus(search(catalog_index, q="CAMISETA")) == ["ECO-0003"]


@text_analysis
def test_finds_a_plural_by_its_stem(catalog_index):
    assert skus(search(catalog_index, q="camisetas")) == ["ECO-0003"]
    assert skus(search(catalog_index, q="garrafas termicas")) == ["ECO-0004"]


@text_analysis
def test_a_word_finds_its_synonyms(catalog_index):
    assert skus(search(catalog_index, q="camisa")) == ["ECO-0003"]
    assert skus(search(catalog_index, q="squeeze inox")) == ["ECO-0004"]
    assert search(catalog_index, q="camisa bambu").total == 0  # still every word required


@text_analysis
def test_a_query_of_signs_only_finds_nothing(catalog_index):
    assert search(catalog_index, q="?!").total == 0


@text_analysis
@pytest.mark.parametrize(
    ("odd", "with_cafe"),
    [  # read as the analyzer reads any text: `s`, `config` and `100` are words no product has
        ("%s", []),
        ("%(config)s", []),
        ("100%", []),
        ("%%", ["ECO-0001", "ECO-0002"]),  # signs only: no word, so café alone
        ("{}", ["ECO-0001", "ECO-0002"]),
    ],
)
def test_placeholder_and_format_signs_in_a_query_are_text_not_syntax(catalog_index, odd, with_cafe):
    assert sorted(skus(search(catalog_index, q=f"café {odd}"))) == with_cafe
    assert search(catalog_index, q=odd).total == 0


# Sorts ------------------------------------------------------------------------------------

BY_PRICE = ["ECO-0005", "ECO-0002", "ECO-0001", "ECO-0003", "ECO-0004"]


def test_sorts_by_price_both_ways(catalog_index):
    assert skus(search(catalog_index, sort="price_asc")) == BY_PRICE
    assert skus(search(catalog_index, sort="price_desc")) == BY_PRICE[::-1]


def test_pages_in_price_order(catalog_index):
    pages = [skus(search(catalog_index, sort="price_asc", page=p, size=2)) for p in (1, 2, 3)]
    assert pages == [BY_PRICE[0:2], BY_PRICE[2:4], BY_PRICE[4:]]


@text_analysis
def test_sorts_the_matches_of_a_text_query_by_price(catalog_index):
    assert skus(search(catalog_index, q="café", sort="price_asc")) == ["ECO-0002", "ECO-0001"]


def test_an_unknown_sort_is_refused_naming_the_allowed_ones():
    with pytest.raises(InvalidSearchQueryError, match="relevance, price_asc, price_desc"):
        SearchQuery(sort="cheapest")


def product_doc(number: int, name: str, price: str, **fields) -> dict:
    """A product document of the agreed shape, as the catalog's projector writes it."""
    return {
        "id": f"00000000-0000-4000-8000-{number:012d}",
        "sku": f"PRD-{number:04d}",
        "name": name,
        "description": "",
        "category": fields.pop("category", "vestuário"),
        "price": price,
        "available": fields.pop("available", 5),
        "certifications": fields.pop("certifications", []),
        "carbon_footprint_kg": fields.pop("carbon_footprint_kg", "1.000"),
        "version": 1,
        **fields,
    }


SHOP = [
    product_doc(
        1,
        "Camiseta Básica",
        "59.90",
        category_path=["vestuario", "camisetas"],
        sustainability_score=72,
        rating_average="4.5",
        rating_count=10,
        created_at="2026-11-01T10:00:00+00:00",
        carbon_footprint_kg="2.100",
        in_stock=True,
    ),
    product_doc(
        2,
        "Calça de Linho",
        "189.00",
        category_path=["vestuario", "calcas"],
        sustainability_score=88,
        rating_average="4.5",
        rating_count=30,
        created_at="2026-12-01T10:00:00+00:00",
        carbon_footprint_kg="3.400",
        in_stock=False,  # every variant sold out, though the document's units say 5
    ),
    product_doc(
        3,
        "Camiseta Listrada",
        "69.90",
        category_path=["vestuario", "camisetas"],
        sustainability_score=40,
        rating_average="3.9",
        rating_count=4,
        created_at="2026-11-15T10:00:00+00:00",
        carbon_footprint_kg="0.900",
    ),
    # An older document: none of the product-level fields.
    product_doc(4, "Caneca de Cerâmica", "35.00", category="casa", available=0),
]


@pytest.fixture
def shop_documents(index: SearchIndex) -> list[dict]:
    index.upsert([dict(doc) for doc in SHOP], Tracking(APP_NAME, 1))
    return SHOP


def test_sorts_newest_first_with_undated_products_last(index, shop_documents):
    assert skus(search(index, sort="newest")) == ["PRD-0002", "PRD-0003", "PRD-0001", "PRD-0004"]


def test_sorts_best_rated_first_then_by_number_of_ratings(index, shop_documents):
    assert skus(search(index, sort="rating")) == ["PRD-0002", "PRD-0001", "PRD-0003", "PRD-0004"]


def test_sorts_by_sustainability_score_and_by_lowest_footprint(index, shop_documents):
    assert skus(search(index, sort="score")) == ["PRD-0002", "PRD-0001", "PRD-0003", "PRD-0004"]
    assert skus(search(index, sort="footprint")) == [
        "PRD-0003",
        "PRD-0004",
        "PRD-0001",
        "PRD-0002",
    ]


def test_a_hit_shows_stock_score_and_rating_with_defaults_for_an_older_document(
    index, shop_documents
):
    hits = {hit.sku: hit for hit in search(index).items}
    assert (hits["PRD-0001"].sustainability_score, hits["PRD-0001"].in_stock) == (72, True)
    assert hits["PRD-0001"].rating_average == Decimal("4.50")
    assert hits["PRD-0001"].rating_count == 10
    older = hits["PRD-0004"]
    assert (older.sustainability_score, older.rating_average, older.rating_count) == (None, None, 0)
    assert older.in_stock is False  # no unit available


def test_a_document_hands_back_the_product_fields_it_was_given_and_no_defaults(
    index, shop_documents
):
    given = index.get(SHOP[0]["id"])
    assert given is not None
    assert given["category_path"] == ["vestuario", "camisetas"]
    assert (given["sustainability_score"], given["rating_count"]) == (72, 10)
    assert given["in_stock"] is True
    older = index.get(SHOP[3]["id"])
    assert older is not None
    assert not {"category_path", "in_stock", "sustainability_score"} & set(older)


# In stock ---------------------------------------------------------------------------------


def test_in_stock_leaves_out_products_without_a_unit_to_sell(index, shop_documents):
    assert skus(search(index, in_stock=True)) == ["PRD-0001", "PRD-0003"]
    assert search(index).total == 4


def test_in_stock_follows_the_units_of_a_stock_item(index, catalog):
    item = stock_item(*CATALOG[4])
    item.collect_events()
    item.adjust(-100, "inventário")
    catalog.play(item)
    assert "ECO-0005" not in skus(search(index, in_stock=True))
    item.receive(3)
    catalog.play(item)
    assert "ECO-0005" in skus(search(index, in_stock=True))


# Category tree ----------------------------------------------------------------------------


def test_a_parent_category_finds_and_counts_its_children(index, shop_documents):
    result = search(index, category="Vestuário")
    assert skus(result) == ["PRD-0001", "PRD-0002", "PRD-0003"]
    assert result.facets["category"] == {"vestuario": 3, "camisetas": 2, "calcas": 1}
    assert skus(search(index, category="CAMISETAS")) == ["PRD-0001", "PRD-0003"]


def test_a_document_without_a_path_counts_under_its_category(index, shop_documents):
    assert search(index).facets["category"] == {
        "vestuario": 3,
        "camisetas": 2,
        "calcas": 1,
        "casa": 1,
    }


# Price ranges -----------------------------------------------------------------------------


def test_counts_products_per_price_range_cheapest_first(catalog_index):
    facets = search(catalog_index).facets["price"]
    assert facets == {"-25": 2, "25-50": 1, "50-100": 1, "100-200": 1}
    assert list(facets) == ["-25", "25-50", "50-100", "100-200"]


def test_a_price_at_a_bound_counts_in_the_range_it_opens(index, shop_documents):
    index.upsert([product_doc(9, "Sacola", "50.00")], Tracking(APP_NAME, 2))
    assert search(index, category="vestuario").facets["price"] == {"50-100": 3, "100-200": 1}
    assert search(index, max_price=Decimal("50")).facets["price"] == {"25-50": 1, "50-100": 1}


# Suggestions ------------------------------------------------------------------------------


def suggest(index: SearchIndex, q: str, size: int = 8) -> list[str]:
    return [s.sku for s in index.suggest(SuggestQuery(q=q, size=size))]


def test_suggests_names_starting_with_what_was_typed(catalog_index):
    assert suggest(catalog_index, "camis") == ["ECO-0003"]
    assert suggest(catalog_index, "CAMISETA") == ["ECO-0003"]
    assert suggest(catalog_index, "Garrafa Tér") == ["ECO-0004"]


def test_suggests_by_a_later_word_of_the_name(catalog_index):
    assert set(suggest(catalog_index, "organ")) == {"ECO-0001", "ECO-0003"}
    assert suggest(catalog_index, "bambu") == ["ECO-0005"]


def test_forgives_one_typo(catalog_index):
    assert suggest(catalog_index, "camisteta") == ["ECO-0003"]  # a letter too many
    assert suggest(catalog_index, "garafa") == ["ECO-0004"]  # a letter missing
    assert suggest(catalog_index, "sabonote") == ["ECO-0002"]  # a letter wrong


def test_forgives_no_more_than_one_typo_nor_one_in_the_first_letter(catalog_index):
    assert suggest(catalog_index, "camistetta") == []
    assert suggest(catalog_index, "xamiseta") == []
    assert suggest(catalog_index, "bicicleta") == []


def test_lists_exact_prefixes_before_typos(catalog_index):
    found = suggest(catalog_index, "organica")
    assert found == ["ECO-0003", "ECO-0001"]  # `organica` exactly, then `organico`


def test_answers_at_most_size_suggestions(catalog_index):
    assert len(suggest(catalog_index, "c", size=2)) == 2


def test_suggestions_follow_renames_and_archiving(index, catalog):
    item = stock_item(*CATALOG[3])
    item.collect_events()
    item.edit(name="Squeeze de Alumínio")
    catalog.play(item)
    assert suggest(index, "garrafa") == []
    assert suggest(index, "squeeze") == ["ECO-0004"]
    item.archive()
    catalog.play(item)
    assert suggest(index, "squeeze") == []


# Products, the category tree and reviews folded into the variants' documents ----------------


def camiseta_shop(feed: Feed) -> tuple[CategoryTree, Product, list[StockItem]]:
    """Vestuário > Camisetas, and a T-shirt in two sizes filed under Camisetas."""
    tree = CategoryTree.start()
    tree.add("vestuario", "Vestuário")
    camisetas = tree.add("camisetas", "Camisetas", "vestuario")
    product = Product.create(
        slug="camiseta-organica",
        name="Camiseta Orgânica",
        description="Algodão orgânico",
        category_id=camisetas,
        option_names=("Tamanho",),
        variants=(Variant("CAM-P", (("Tamanho", "P"),)), Variant("CAM-M", (("Tamanho", "M"),))),
        profile=SustainabilityProfile(Decimal("2"), 80, "compostable"),
    )
    items = [
        StockItem.register(
            sku=sku,
            name=f"Camiseta Orgânica — {size}",
            description="Algodão orgânico",
            category="Camisetas",
            price=Money.brl(price),
            initial_quantity=5,
            sustainability={"carbon_footprint_kg": "2", "certifications": []},
            product_id=product.id,
        )
        for sku, size, price in (("CAM-P", "P", "59.90"), ("CAM-M", "M", "64.90"))
    ]
    feed.play(tree, product, *items)
    return tree, product, items


def review_of(product: Product, customer: str, rating: int) -> Review:
    return Review.submit(
        product_id=product.id,
        customer_id=customer,
        order_id=uuid.uuid4(),
        sku="CAM-P",
        rating=rating,
        author="Ana",
        title="",
        words="",
    )


def test_a_products_variants_carry_its_category_path_score_and_rating(index):
    feed = Feed(index)
    _, product, items = camiseta_shop(feed)
    found = search(index, category="VESTUARIO")
    assert skus(found) == ["CAM-M", "CAM-P"]  # the parent finds its children's products
    assert found.facets["category"] == {"camisetas": 2, "vestuario": 2}
    assert {hit.sustainability_score for hit in found.items} == {32 + 12 + 15}
    stored = index.get(str(items[0].id))
    assert stored is not None
    assert stored["category_path"] == ["vestuario", "camisetas"]
    good, poor = review_of(product, "ana", 5), review_of(product, "bia", 2)
    feed.play(good, poor)
    good.approve()
    poor.approve()
    feed.play(good, poor)
    poor.report("carla", "spam")  # reported: a moderator takes it down
    poor.reject("spam")
    feed.play(poor)
    [hit] = [h for h in search(index, sort="rating").items if h.sku == "CAM-P"]
    assert (hit.rating_average, hit.rating_count) == (Decimal("5.00"), 1)


def test_a_certificate_raises_the_score_until_it_lapses(index):
    feed = Feed(index)
    _, product, _ = camiseta_shop(feed)
    product.add_certification(
        Certification("GOTS", "IBD", "GOTS-1", date(2030, 1, 1)), date(2026, 12, 7)
    )
    feed.play(product)
    assert {h.sustainability_score for h in search(index).items} == {59 + 15}
    product.lapse_certifications(date(2030, 1, 2))
    feed.play(product)
    assert {h.sustainability_score for h in search(index).items} == {59}


def test_a_moved_category_carries_its_products_to_the_new_path(index):
    feed = Feed(index)
    tree, _, items = camiseta_shop(feed)
    tree.add("promocoes", "Promoções")
    tree.move("camisetas", "promocoes")
    tree.rename("camisetas", new_slug="camisas")
    feed.play(tree)
    assert search(index, category="vestuario").total == 0
    assert skus(search(index, category="promocoes")) == ["CAM-M", "CAM-P"]
    stored = index.get(str(items[1].id))
    assert stored is not None
    assert stored["category_path"] == ["promocoes", "camisas"]


def test_replaying_product_events_changes_nothing(index):
    feed = Feed(index)
    _, product, items = camiseta_shop(feed)
    review = review_of(product, "ana", 4)
    review.approve()
    events = list(review.collect_events())
    for event in events:
        feed.replay(event, feed.position + 1)
    before = index.get(str(items[0].id))
    for event in events:  # delivered again at the positions already recorded
        feed.replay(event, feed.position)
    assert index.get(str(items[0].id)) == before
    assert before is not None
    assert before["rating_count"] == 1
