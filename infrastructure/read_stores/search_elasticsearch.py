"""Product search in Elasticsearch, behind the same `SearchIndex` port as PostgreSQL.

One index per generation (`ecovarejo-products-<generation>`); the alias
`ecovarejo-products` names the active one and is moved with one `update_aliases` call, which
Elasticsearch applies atomically. The request bodies are pure functions (`mapping`,
`bulk_actions`, `tracking_action`, `search_body`, `alias_actions`, `parse_search_response`)
so they can be checked as data without a cluster.

Not transactional: Elasticsearch cannot write documents and a position in one atomic step.
What it gives instead is idempotence. Every document is written with `version_type=external`
and `version=<log position>`, so a write from a position at or below the one a document
already has is refused (HTTP 409, ignored here): replays and reorders change nothing. The
position is kept in a tracking document of the same index, written (also externally
versioned) only after the documents succeeded. A crash in between leaves the documents ahead
of the position; the runner then replays those events and their writes are refused as stale.

Forgiving search, as the PostgreSQL adapter does it (both derive their values with
`projections.search_document`): filters are terms on folded keys (`category_keys`,
`certification_keys`) computed before indexing; sorts read derived fields (`score`,
`rating`, `listed_at`, `footprint`) with missing values last; the price-range facet is a
`range` aggregation; synonyms are a `synonym_graph` filter of the search analyzer (index
settings: a change needs a new generation, i.e. a rebuild); suggestions are a `completion`
field fed the name's folded word-suffixes and asked with `fuzzy: {fuzziness: 1}`.
Documented at elastic.co: Elasticsearch reference, "Sort search results" (`missing`),
"Range aggregation", "Synonym graph token filter", "Completion suggester" (fuzzy queries).

The projector's state documents (`projections.search.STATE_PREFIX` keys: products, the
category tree, approved reviews) are documents of `kind: state` whose body is an object
neither indexed nor parsed, written in the same bulk request as the product documents with
the same external version, so a replay's writes are refused alike; searches filter on
`kind: product` and never see them.

An index created before these fields existed refuses the new ones (the mapping is strict):
after upgrading, `ecovarejo projections rebuild product_search` makes a new generation.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from elasticsearch import Elasticsearch, helpers
from eventsourcing.persistence import Tracking

from projections.base import DEFAULT_GENERATION, GenerationMovedError
from projections.search import (
    FACET_LIMIT,
    Document,
    ProductHit,
    SearchIndex,
    SearchQuery,
    SearchResult,
    Suggestion,
    SuggestQuery,
    check_generation,
    is_removal,
    is_state_key,
)
from projections.search_document import (
    DEFAULT_SYNONYMS,
    PRICE_RANGES,
    SUGGEST_FUZZY_MIN_LENGTH,
    SUGGEST_MAX_INPUT_LENGTH,
    Synonyms,
    fold_key,
    given,
    indexed,
    price_range_key,
)

ALIAS = "ecovarejo-products"
TRACKING_ID = "tracking:product_search"
PRODUCT = "product"
TRACKING = "tracking"
STATE = "state"  # the projector's own state documents (`projections.search.STATE_PREFIX`)
CENTS = Decimal("0.01")
DOCUMENT_FIELDS = (
    "id",
    "sku",
    "name",
    "description",
    "category",
    "price",
    "available",
    "certifications",
    "carbon_footprint_kg",
    "version",
)
# Written and handed back as given (only those a document has): see `search_document.given`.
PRODUCT_FIELDS = (
    "sustainability_score",
    "category_path",
    "rating_average",
    "rating_count",
    "created_at",
    "in_stock",
)
# Derived before indexing, for filters, sorts, facets and suggestions; never handed back.
DERIVED_FIELDS = (
    "category_facets",
    "category_keys",
    "certification_keys",
    "score",
    "rating",
    "ratings",
    "listed_at",
    "stocked",
    "footprint",
    "suggest",
)
HIT_FIELDS = (
    "sku",
    "name",
    "price",
    "available",
    "certifications",
    "carbon_footprint_kg",
    "stocked",
    "score",
    "rating",
    "ratings",
)
SEARCH_FIELDS = ("name^3", "description", "category.text")
SUGGESTER = "products"
# `sort=` -> sort clauses; every order ends on the SKU, so pages are stable. Missing values
# (an older document without a score, rating or creation time) sort last either way.
_SORTS: dict[str, list[dict[str, Any]]] = {
    "relevance": [],
    "price_asc": [{"price": "asc"}],
    "price_desc": [{"price": "desc"}],
    "newest": [{"listed_at": {"order": "desc", "missing": "_last"}}],
    "rating": [{"rating": {"order": "desc", "missing": "_last"}}, {"ratings": "desc"}],
    "footprint": [{"footprint": {"order": "asc", "missing": "_last"}}],
    "score": [{"score": {"order": "desc", "missing": "_last"}}],
}

_FOLDED_TEXT: dict[str, Any] = {
    "type": "text",
    "analyzer": "portuguese_folded",
    "search_analyzer": "portuguese_folded_search",
    "fields": {"keyword": {"type": "keyword", "ignore_above": 256}},
}
_MONEY = {"type": "scaled_float", "scaling_factor": 100}


def index_name(generation: str, alias: str = ALIAS) -> str:
    return f"{alias}-{check_generation(generation)}"


def mapping(synonyms: Synonyms = DEFAULT_SYNONYMS) -> dict[str, Any]:
    """Settings and mappings of a generation's index (the body of `indices.create`)."""
    folded = ["lowercase", "asciifolding"]
    stemmed = ["portuguese_stop", "portuguese_stemmer"]
    rules = synonyms.as_rules()
    return {
        "settings": {
            # One shard: a catalog is small, and one shard scores every product with the same
            # term statistics, so relevance order does not depend on where a product landed.
            "number_of_shards": 1,
            "analysis": {
                "filter": {
                    "portuguese_stop": {"type": "stop", "stopwords": "_portuguese_"},
                    "portuguese_stemmer": {"type": "stemmer", "language": "light_portuguese"},
                    # Query time only: a word of a group also finds the others.
                    **(
                        {"ecovarejo_synonyms": {"type": "synonym_graph", "synonyms": rules}}
                        if rules
                        else {}
                    ),
                },
                "analyzer": {
                    # Folding before stop words and stemming, on indexing and on querying
                    # alike: `organica` and `Orgânica` become the same term.
                    "portuguese_folded": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": [*folded, *stemmed],
                    },
                    "portuguese_folded_search": {
                        "type": "custom",
                        "tokenizer": "standard",
                        "filter": [*folded, *(["ecovarejo_synonyms"] if rules else []), *stemmed],
                    },
                    # Suggestion inputs are folded words already; the query is folded alike.
                    "suggest_folded": {
                        "type": "custom",
                        "tokenizer": "keyword",
                        "filter": folded,
                    },
                },
            },
        },
        "mappings": {
            # Strict: a field the projector did not mean to send is an error, not a new field.
            "dynamic": "strict",
            "properties": {
                "kind": {"type": "keyword"},  # product | tracking | state
                # A state document's body: kept in `_source`, neither indexed nor parsed.
                "state": {"type": "object", "enabled": False},
                "id": {"type": "keyword"},
                "sku": {"type": "keyword"},
                "name": _FOLDED_TEXT,
                "description": _FOLDED_TEXT,
                "category": {
                    "type": "keyword",
                    "fields": {
                        "text": {
                            "type": "text",
                            "analyzer": "portuguese_folded",
                            "search_analyzer": "portuguese_folded_search",
                        }
                    },
                },
                "price": _MONEY,
                "available": {"type": "integer"},
                "certifications": {"type": "keyword"},
                "carbon_footprint_kg": {"type": "keyword", "index": False},
                "version": {"type": "integer"},
                # As given by the catalog (stored, not searched).
                "sustainability_score": {"type": "integer", "index": False},
                "category_path": {"type": "keyword", "index": False},
                "rating_average": {"type": "keyword", "index": False},
                "rating_count": {"type": "integer", "index": False},
                "created_at": {"type": "date", "index": False},
                "in_stock": {"type": "boolean", "index": False},
                # Derived (search_document.indexed).
                "category_facets": {"type": "keyword"},
                "category_keys": {"type": "keyword"},
                "certification_keys": {"type": "keyword"},
                "score": {"type": "integer"},
                "rating": _MONEY,  # two places, as the average is kept
                "ratings": {"type": "integer"},
                "listed_at": {"type": "date"},
                "stocked": {"type": "boolean"},
                "footprint": {"type": "scaled_float", "scaling_factor": 1000},
                "suggest": {
                    "type": "completion",
                    "analyzer": "suggest_folded",
                    "max_input_length": SUGGEST_MAX_INPUT_LENGTH,
                },
                "application_name": {"type": "keyword"},
                "position": {"type": "long"},
            },
        },
    }


def product_source(doc: Document) -> dict[str, Any]:
    """The stored form of a product document. Money stays a decimal string: Elasticsearch
    parses it into the scaled_float and keeps the string in `_source`."""
    source = {key: doc[key] for key in DOCUMENT_FIELDS}
    source["price"] = str(Decimal(str(doc["price"])).quantize(CENTS))
    source["certifications"] = list(doc["certifications"])
    derived = indexed(doc)
    return {
        "kind": PRODUCT,
        **source,
        **given(doc),
        "category_facets": derived.category_path,
        "category_keys": derived.category_keys,
        "certification_keys": derived.certification_keys,
        "score": derived.sustainability_score,
        "rating": str(derived.rating_average) if derived.rating_average is not None else None,
        "ratings": derived.rating_count,
        "listed_at": derived.created_at,
        "stocked": derived.in_stock,
        "footprint": str(derived.footprint_kg) if derived.footprint_kg is not None else None,
        "suggest": {"input": derived.suggest},
    }


def state_actions(
    states: dict[str, Document | None], position: int, index: str
) -> list[dict[str, Any]]:
    """The projector's state documents, externally versioned like the products (a replay's
    write is refused as stale); a None state is deleted."""
    return [
        {"_op_type": "delete", "_index": index, "_id": key}
        if doc is None
        else {
            "_op_type": "index",
            "_index": index,
            "_id": key,
            "version": position,
            "version_type": "external",
            "_source": {"kind": STATE, "state": doc},
        }
        for key, doc in states.items()
    ]


def bulk_actions(docs: list[Document], position: int, index: str) -> list[dict[str, Any]]:
    """`helpers.bulk` actions indexing `docs` at version `position` (external versioning);
    a removal deletes the product (a replay is stopped by the position check in `apply`)."""
    return [
        {"_op_type": "delete", "_index": index, "_id": doc["id"]}
        if is_removal(doc)
        else {
            "_op_type": "index",
            "_index": index,
            "_id": doc["id"],
            "version": position,
            "version_type": "external",
            "_source": product_source(doc),
        }
        for doc in docs
    ]


def tracking_action(tracking: Tracking, index: str) -> dict[str, Any]:
    """The position document: also externally versioned, so it only ever moves forward."""
    return {
        "_op_type": "index",
        "_index": index,
        "_id": TRACKING_ID,
        "version": tracking.notification_id,
        "version_type": "external",
        "_source": {
            "kind": TRACKING,
            "application_name": tracking.application_name,
            "position": tracking.notification_id,
        },
    }


def _filters(query: SearchQuery) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = [{"term": {"kind": PRODUCT}}]
    if query.category is not None:
        filters.append({"term": {"category_keys": fold_key(query.category)}})
    if query.certification is not None:
        filters.append({"term": {"certification_keys": fold_key(query.certification)}})
    if query.in_stock:
        filters.append({"term": {"stocked": True}})
    price: dict[str, str] = {}
    if query.min_price is not None:
        price["gte"] = str(query.min_price)  # a string: no float ever carries money
    if query.max_price is not None:
        price["lte"] = str(query.max_price)
    if price:
        filters.append({"range": {"price": price}})
    return filters


def search_body(query: SearchQuery) -> dict[str, Any]:
    """The `_search` body: text relevance, filters, facets of the filtered set, one page."""
    must: list[dict[str, Any]] = []
    sort: list[dict[str, Any]] = [*_SORTS[query.sort], {"sku": "asc"}]
    if query.q is not None:
        # cross_fields + and: every word must appear, in any of the fields, as in the
        # PostgreSQL adapter's single tsvector. No fuzziness: `cafe` must not find `capa`.
        must.append(
            {
                "multi_match": {
                    "query": query.q,
                    "fields": list(SEARCH_FIELDS),
                    "type": "cross_fields",
                    "operator": "and",
                }
            }
        )
        if query.sort == "relevance":
            sort.insert(0, {"_score": "desc"})
    return {
        "query": {"bool": {"must": must, "filter": _filters(query)}},
        "aggs": {
            "category": {"terms": {"field": "category_facets", "size": FACET_LIMIT}},
            "certification": {"terms": {"field": "certifications", "size": FACET_LIMIT}},
            "price": {"range": {"field": "price", "ranges": _price_ranges()}},
        },
        "sort": sort,
        "from": query.offset,
        "size": query.size,
        "track_total_hits": True,
        "_source": list(HIT_FIELDS),
    }


def _price_ranges() -> list[dict[str, Any]]:
    """`from` inclusive, `to` exclusive, as the PostgreSQL adapter buckets; whole reais, so
    no fraction of money travels as a float."""
    ranges = []
    for low, high in PRICE_RANGES:
        bucket: dict[str, Any] = {"key": price_range_key(low, high)}
        if low is not None:
            bucket["from"] = int(low)
        if high is not None:
            bucket["to"] = int(high)
        ranges.append(bucket)
    return ranges


def suggest_body(query: SuggestQuery) -> dict[str, Any]:
    """A completion suggester request: prefix of a folded word-suffix, one edit forgiven
    (not in the first character; no transpositions, as `search_document.suggests`)."""
    completion: dict[str, Any] = {"field": "suggest", "size": query.size}
    if len(query.folded) >= SUGGEST_FUZZY_MIN_LENGTH:
        completion["fuzzy"] = {
            "fuzziness": 1,
            "transpositions": False,
            "prefix_length": 1,
            "min_length": SUGGEST_FUZZY_MIN_LENGTH,
        }
    return {
        "_source": ["sku", "name"],
        "suggest": {SUGGESTER: {"prefix": query.folded, "completion": completion}},
    }


def parse_suggest_response(response: dict[str, Any], folded: str) -> list[Suggestion]:
    """One suggestion per product; those whose matched input (`text`) starts with the query
    itself before those found by forgiving a typo, each group in Elasticsearch's order."""
    options = [
        option
        for entry in response.get("suggest", {}).get(SUGGESTER, [])
        for option in entry.get("options", [])
    ]
    exact = [o for o in options if str(o.get("text", "")).startswith(folded)]
    typos = [o for o in options if not str(o.get("text", "")).startswith(folded)]
    found: dict[str, Suggestion] = {}
    for option in [*exact, *typos]:
        source = option["_source"]
        found.setdefault(option["_id"], Suggestion(sku=source["sku"], name=source["name"]))
    return list(found.values())


def _price(value: Any) -> Decimal:
    """Prices come back as the stored string, or as a JSON number: never keep a float."""
    return Decimal(str(value)).quantize(CENTS)


def parse_search_response(response: dict[str, Any]) -> SearchResult:
    hits = response["hits"]
    items = [
        ProductHit(
            sku=source["sku"],
            name=source["name"],
            price=_price(source["price"]),
            available=int(source["available"]),
            certifications=list(source.get("certifications") or []),
            carbon_footprint_kg=str(source["carbon_footprint_kg"]),
            in_stock=bool(source.get("stocked", int(source["available"]) > 0)),
            sustainability_score=source.get("score"),
            rating_average=_price(source["rating"]) if source.get("rating") is not None else None,
            rating_count=int(source.get("ratings") or 0),
        )
        for source in (hit["_source"] for hit in hits["hits"])
    ]
    aggregations = response.get("aggregations", {})
    facets = {
        name: {
            str(bucket["key"]): int(bucket["doc_count"])
            for bucket in aggregations.get(name, {}).get("buckets", [])
            if int(bucket["doc_count"]) > 0  # a range aggregation lists empty ranges too
        }
        for name in ("category", "certification", "price")
    }
    return SearchResult(total=int(hits["total"]["value"]), items=items, facets=facets)


def alias_actions(current: list[str], target: str, alias: str = ALIAS) -> list[dict[str, Any]]:
    """One `update_aliases` request: removals and the addition apply together or not at all."""
    removals = [
        {"remove": {"index": index, "alias": alias}} for index in current if index != target
    ]
    return [*removals, {"add": {"index": target, "alias": alias}}]


class ElasticsearchSearchIndex(SearchIndex):
    def __init__(
        self,
        client: Elasticsearch,
        index: str,
        *,
        refresh: bool = True,
        active_index: Callable[[], str] | None = None,
        generation: str | None = None,
    ):
        self.client = client
        self.index = index
        self.generation = generation or index.rsplit("-", 1)[-1]
        # For the live runner: names the index the alias points at now; a write is refused
        # once that is another one. Checked before writing, not atomically with it: a write
        # racing a swap lands in the old index, and the new one gets it from the log.
        self.active_index = active_index
        # True: documents are searchable before the position moves past them, so a reader
        # that waited for a consistency token finds them. A rebuild may pass False and rely
        # on `activate`, which refreshes before it swaps.
        self.refresh = refresh

    def get(self, key: str) -> Document | None:
        product_id = key
        body = self.client.options(ignore_status=404).get(index=self.index, id=product_id).body
        if not body.get("found"):
            return None
        source = dict(body["_source"])
        kind = source.pop("kind", None)
        if kind == STATE and is_state_key(key):
            return dict(source["state"])
        if kind != PRODUCT:
            return None
        return {k: v for k, v in source.items() if k not in DERIVED_FIELDS}

    def upsert(
        self,
        docs_to_upsert: list[Document],
        tracking: Tracking,
        states: dict[str, Document | None] | None = None,
    ) -> None:
        if self.active_index is not None and (active := self.active_index()) != self.index:
            raise GenerationMovedError(f"search index moved to {active}")
        recorded = self.max_tracking_id(tracking.application_name)
        if recorded is not None and tracking.notification_id <= recorded:
            return  # already applied; the versions would refuse it anyway
        actions = [
            *bulk_actions(docs_to_upsert, tracking.notification_id, self.index),
            *state_actions(states or {}, tracking.notification_id, self.index),
        ]
        if actions:
            # 409 = a document already holds this position or a later one: a replay.
            helpers.bulk(
                self.client,
                actions,
                ignore_status=(404, 409),
                refresh=self.refresh,
            )
        action = tracking_action(tracking, self.index)
        self.client.options(ignore_status=409).index(
            index=self.index,
            id=action["_id"],
            document=action["_source"],
            version=action["version"],
            version_type="external",
        )

    def max_tracking_id(self, application_name: str) -> int | None:
        body = self.client.options(ignore_status=404).get(index=self.index, id=TRACKING_ID).body
        if not body.get("found"):
            return None
        return int(body["_source"]["position"])

    def search(self, query: SearchQuery) -> SearchResult:
        response = self.client.search(index=self.index, body=search_body(query))
        return parse_search_response(dict(response.body))

    def suggest(self, query: SuggestQuery) -> list[Suggestion]:
        if not query.folded:
            return []
        response = self.client.search(index=self.index, body=suggest_body(query))
        return parse_suggest_response(dict(response.body), query.folded)


class ElasticsearchSearchStore:
    """Generations are indices; the alias says which one readers read."""

    def __init__(
        self,
        client: Elasticsearch | str,
        *,
        alias: str = ALIAS,
        refresh: bool = True,
        synonyms: Synonyms = DEFAULT_SYNONYMS,
    ):
        self.client = Elasticsearch(client) if isinstance(client, str) else client
        self.synonyms = synonyms
        self._owns_client = isinstance(client, str)
        self.alias = alias
        self.refresh = refresh
        self._opened: set[str] = set()

    def index_name(self, generation: str) -> str:
        return index_name(generation, self.alias)

    def _aliased(self) -> list[str]:
        response = self.client.options(ignore_status=404).indices.get_alias(name=self.alias)
        return sorted(name for name in dict(response.body) if name.startswith(self.alias + "-"))

    def active_generation(self) -> str:
        aliased = self._aliased()
        if not aliased:
            return DEFAULT_GENERATION
        return aliased[0].removeprefix(self.alias + "-")

    def _active_index(self) -> str:
        return self.index_name(self.active_generation())

    def open(self, generation: str, *, follow_active: bool = False) -> ElasticsearchSearchIndex:
        name = self.index_name(generation)
        if name not in self._opened:
            if not self.client.indices.exists(index=name):
                # 400 resource_already_exists: another process created it first, fine.
                self.client.options(ignore_status=400).indices.create(
                    index=name, **mapping(self.synonyms)
                )
            self._opened.add(name)
        return ElasticsearchSearchIndex(
            self.client,
            name,
            refresh=self.refresh,
            active_index=self._active_index if follow_active else None,
            generation=generation,
        )

    def activate(self, generation: str) -> None:
        name = self.index_name(generation)
        if not self.client.indices.exists(index=name):
            raise LookupError(f"search generation {generation!r} does not exist")
        self.client.indices.refresh(index=name)
        self.client.indices.update_aliases(actions=alias_actions(self._aliased(), name, self.alias))

    def drop(self, generation: str) -> None:
        if generation == self.active_generation():
            raise ValueError(f"search generation {generation!r} is active; activate another")
        name = self.index_name(generation)
        self.client.options(ignore_status=404).indices.delete(index=name)
        self._opened.discard(name)

    def generations(self) -> list[str]:
        response = self.client.options(ignore_status=404).indices.get(
            index=f"{self.alias}-*", expand_wildcards="open"
        )
        indices = dict(response.body) if response.meta.status == 200 else {}
        created = {
            name: int(info["settings"]["index"].get("creation_date", 0))
            for name, info in indices.items()
        }
        ordered = sorted(created, key=lambda name: (created[name], name))
        return [name.removeprefix(self.alias + "-") for name in ordered]

    def close(self) -> None:
        if self._owns_client:
            self.client.close()
