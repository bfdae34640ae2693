"""Product search: one port, two adapters (PostgreSQL full-text search, Elasticsearch).

The projector turns StockItem events into product documents, one per stock item, keyed by
the aggregate id: every StockItem event after `Registered` names only its aggregate, so that
id is the one key every event can reach. A `SearchIndex` writes documents together with the
log position they came from and answers `SearchQuery`s. Indexes live in generations; a
`SearchStore` names the active one, so a rebuild fills a new generation and swaps it in
while readers keep reading the old one.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from functools import singledispatchmethod
from typing import Any, Protocol

from eventsourcing.persistence import Tracking

from domain.base import InvalidInputError
from domain.stock_item import StockItem, Sustainability, footprint_of
from projections.base import Change, Delete, Projector, Put, ReadStore
from projections.search_document import (
    DEFAULT_SORT,
    SORTS,
    SUGGEST_MAX_QUERY_LENGTH,
    SUGGEST_MAX_SIZE,
    fold_words,
)

Document = dict[str, Any]
# A document `{"id": ..., REMOVED: True}` in a batch removes that product from the index
# (an archived product is no longer found); every store honours it in `apply`.
REMOVED = "_removed"


def is_removal(doc: Document) -> bool:
    return bool(doc.get(REMOVED))


MAX_PAGE_SIZE = 100
# Elasticsearch refuses from + size beyond its result window (10,000 by default); the
# Postgres adapter could go further, but both adapters promise the same contract.
MAX_RESULT_WINDOW = 10_000
# Facets list at most this many values each, most frequent first.
FACET_LIMIT = 100
FACETS = ("category", "certification", "price")
# Longer text is no search a shopper types: refused, not cut.
MAX_QUERY_LENGTH = 200

# At most 30 characters: PostgreSQL cuts identifiers at 63, and the longest name built from
# a generation (`search_products_<generation>_certifications`) must stay whole.
_GENERATION = re.compile(r"^[a-z0-9][a-z0-9_]{0,29}$")


class InvalidSearchQueryError(InvalidInputError):
    """A search whose paging or price range cannot be answered."""


class InvalidGenerationError(ValueError):
    """A generation name that is not 1-30 lower-case letters, digits and '_'."""


def check_generation(generation: str) -> str:
    """Generation names become table and index names: keep them plain."""
    if not isinstance(generation, str) or not _GENERATION.match(generation):
        raise InvalidGenerationError(
            f"invalid generation {generation!r}: 1-30 of a-z, 0-9 and '_', not starting with '_'"
        )
    return generation


@dataclass(frozen=True)
class SearchQuery:
    """What a client asks for. Filters combine with AND; facets count the filtered set."""

    q: str | None = None
    category: str | None = None
    certification: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    page: int = 1
    size: int = 20
    sort: str = DEFAULT_SORT
    in_stock: bool = False  # True: only products with a unit to sell

    def __post_init__(self) -> None:
        # A blank text query is no text query: it matches everything rather than nothing.
        if self.q is not None and not self.q.strip():
            object.__setattr__(self, "q", None)
        if self.q is not None and len(self.q) > MAX_QUERY_LENGTH:
            raise InvalidSearchQueryError(f"q must be at most {MAX_QUERY_LENGTH} characters")
        if self.sort not in SORTS:
            raise InvalidSearchQueryError(f"sort must be one of: {', '.join(SORTS)}")
        if self.page < 1:
            raise InvalidSearchQueryError("page must be at least 1")
        if not 1 <= self.size <= MAX_PAGE_SIZE:
            raise InvalidSearchQueryError(f"size must be between 1 and {MAX_PAGE_SIZE}")
        if self.page * self.size > MAX_RESULT_WINDOW:
            raise InvalidSearchQueryError(
                f"page * size must be at most {MAX_RESULT_WINDOW}; narrow the search instead"
            )
        for name in ("min_price", "max_price"):
            value = getattr(self, name)
            if value is not None and (not value.is_finite() or value < 0):
                raise InvalidSearchQueryError(f"{name} must be a decimal amount >= 0")
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise InvalidSearchQueryError("min_price must not be greater than max_price")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


@dataclass(frozen=True)
class ProductHit:
    sku: str
    name: str
    price: Decimal
    available: int
    certifications: list[str]
    carbon_footprint_kg: str
    in_stock: bool = True
    sustainability_score: int | None = None
    rating_average: Decimal | None = None
    rating_count: int = 0


@dataclass(frozen=True)
class SearchResult:
    total: int
    items: list[ProductHit]
    # category: a product counts under every category of its path (a parent's count
    # includes its children's); price: ranges of `PRICE_RANGES` with at least one product.
    facets: dict[str, dict[str, int]] = field(default_factory=lambda: {name: {} for name in FACETS})


class InvalidSuggestQueryError(InvalidInputError):
    """A suggestion request that cannot be answered (too long, size out of range)."""


@dataclass(frozen=True)
class SuggestQuery:
    """What a shopper has typed so far. Matching is on its folded words (`fold_words`)."""

    q: str
    size: int = 8

    def __post_init__(self) -> None:
        if len(self.q) > SUGGEST_MAX_QUERY_LENGTH:
            raise InvalidSuggestQueryError(
                f"q must be at most {SUGGEST_MAX_QUERY_LENGTH} characters"
            )
        if not 1 <= self.size <= SUGGEST_MAX_SIZE:
            raise InvalidSuggestQueryError(f"size must be between 1 and {SUGGEST_MAX_SIZE}")

    @property
    def folded(self) -> str:
        return fold_words(self.q)


@dataclass(frozen=True)
class Suggestion:
    sku: str
    name: str


class SearchIndex(ReadStore, ABC):
    """One generation of the product index, with its log position: one more `ReadStore`,
    whose documents are products keyed by stock-item id (only `Put`s reach it).

    The position is per generation, not per application name: the index follows one log,
    as the Redis views do, and readers ask for it with any name (`max_tracking_id("")`).
    """

    @abstractmethod
    def get(self, key: str) -> Document | None:
        """The product document stored under the aggregate id, or None."""

    def apply(self, changes: list[Change], tracking: Tracking) -> None:
        docs: list[Document] = []
        for change in changes:
            if isinstance(change, Put):
                docs.append(change.doc)
            elif isinstance(change, Delete):  # the adapters' removal marker
                docs.append({"id": change.key, REMOVED: True})
            else:
                raise TypeError("a search index stores product documents only (Put, Delete)")
        self.upsert(docs, tracking)

    @abstractmethod
    def upsert(self, docs: list[Document], tracking: Tracking) -> None:
        """Upsert `docs` (distinct ids) and advance the position to `tracking`, once: a
        position at or below the recorded one changes nothing."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult: ...

    @abstractmethod
    def suggest(self, query: SuggestQuery) -> list[Suggestion]:
        """Products whose name (or a word-suffix of it) starts with the folded query, one
        edit forgiven (`search_document.suggests`), each once, exact prefixes first (within
        each group, PostgreSQL orders by the matched text, Elasticsearch by its score)."""


class SearchStore(Protocol):
    """The generations of the product index. Readers read the active one."""

    def active_generation(self) -> str: ...

    def open(self, generation: str, *, follow_active: bool = False) -> SearchIndex:
        """The index of `generation`, created empty if it does not exist yet.

        With `follow_active` (the live runner's index), a write is refused with
        `GenerationMovedError` once `generation` is no longer the active one, so the
        runner's supervisor restarts it on the generation a rebuild swapped in."""
        ...

    def activate(self, generation: str) -> None:
        """Make `generation` the one readers read, in one atomic step."""
        ...

    def drop(self, generation: str) -> None:
        """Delete an inactive generation (the active one is refused)."""
        ...

    def generations(self) -> list[str]: ...

    def close(self) -> None: ...


def active_index(store: SearchStore) -> SearchIndex:
    """The index readers use, looked up now: after `activate` they move in one step."""
    return store.open(store.active_generation())


def live_index(store: SearchStore) -> SearchIndex:
    """The index the live projector writes: the active generation, for as long as it is."""
    return store.open(store.active_generation(), follow_active=True)


def product_document(event: StockItem.Registered) -> Document:
    sustainability: dict[str, Any] = Sustainability.of(event.sustainability).to_dict()
    footprint = footprint_of(sustainability)
    return {
        "id": str(event.originator_id),
        "sku": event.sku,
        "name": event.name,
        "description": event.description,
        "category": event.category,
        "price": str(event.price.amount),
        "available": event.initial_quantity,
        "certifications": [str(c) for c in sustainability.get("certifications", [])],
        "carbon_footprint_kg": str(footprint),
        "version": event.originator_version,
        "created_at": event.timestamp.isoformat(),
    }


class SearchProjection(Projector):
    """Follows the whole log (no topic filter), so its position is the log's position and a
    consistency token from any command can be waited on; events it does not index still
    advance the position."""

    name = "product_search"

    def _update(
        self, event: StockItem.Event, available_delta: int = 0, **fields: Any
    ) -> list[Change]:
        doc = self.view.get(str(event.originator_id))
        if doc is None:
            return []
        doc["available"] += available_delta
        doc.update(fields)
        doc["version"] = event.originator_version
        return [Put(doc["id"], doc)]

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []

    @evolve.register
    def _registered(self, event: StockItem.Registered) -> list[Change]:
        doc = product_document(event)
        return [Put(doc["id"], doc)]

    @evolve.register
    def _received(self, event: StockItem.Received) -> list[Change]:
        return self._update(event, event.quantity)

    @evolve.register
    def _adjusted(self, event: StockItem.Adjusted) -> list[Change]:
        return self._update(event, event.quantity_delta)

    @evolve.register
    def _reserved(self, event: StockItem.Reserved) -> list[Change]:
        return self._update(event, -event.quantity)

    @evolve.register
    def _released(self, event: StockItem.Released) -> list[Change]:
        return self._update(event, event.quantity)

    @evolve.register
    def _committed(self, event: StockItem.Committed) -> list[Change]:
        # Reserved units leave the warehouse: on hand and reserved fall alike, so what is
        # available does not change; only the version moves.
        return self._update(event)

    @evolve.register
    def _price_changed(self, event: StockItem.PriceChanged) -> list[Change]:
        return self._update(event, price=str(event.price.amount))

    @evolve.register
    def _details_edited(self, event: StockItem.DetailsEdited) -> list[Change]:
        sustainability: dict[str, Any] = Sustainability.of(event.sustainability).to_dict()
        return self._update(
            event,
            name=event.name,
            description=event.description,
            category=event.category,
            certifications=[str(c) for c in sustainability.get("certifications", [])],
            carbon_footprint_kg=str(footprint_of(sustainability)),
        )

    @evolve.register
    def _restocked(self, event: StockItem.Restocked) -> list[Change]:
        return self._update(event, event.quantity)

    @evolve.register
    def _archived(self, event: StockItem.Archived) -> list[Change]:
        """No longer sold: out of search (still readable by SKU from the catalog view)."""
        if self.view.get(str(event.originator_id)) is None:
            return []
        return [Delete(str(event.originator_id))]
