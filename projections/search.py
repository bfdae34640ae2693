"""Product search: one port, two adapters (PostgreSQL full-text search, Elasticsearch).

The projector turns StockItem events into product documents, one per stock item, keyed by
the aggregate id: every StockItem event after `Registered` names only its aggregate, so that
id is the one key every event can reach. A `SearchIndex` writes documents together with the
log position they came from and answers `SearchQuery`s. Indexes live in generations; a
`SearchStore` names the active one, so a rebuild fills a new generation and swaps it in
while readers keep reading the old one.

The product-level fields of a document (`category_path`, `sustainability_score`,
`rating_average`, `rating_count`) come from other aggregates' events: the `Product` of the
variant (or the stock item of old that is its own product), the `CategoryTree` and the
moderated `Review`s. The projector keeps what it needs of them as *state* documents in the
same index (keys starting `state:`, never searched), written in the same atomic step as the
product documents and the position, so a rebuild folds the same events into the same bytes.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from functools import singledispatchmethod
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Tracking

from domain.base import InvalidInputError
from domain.category import CategoryTree
from domain.product import Product
from domain.review import Review, rating_summary
from domain.stock_item import StockItem, Sustainability, footprint_of
from projections.base import Change, Delete, Projector, Put, ReadStore
from projections.products import category_path, legacy_fields, score_of
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


# Keys of the projector's own state (products, the category tree, approved reviews): kept
# in the index beside the product documents, written with them, never searched.
STATE_PREFIX = "state:"


def is_state_key(key: str) -> bool:
    return key.startswith(STATE_PREFIX)


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
        """The product document stored under the aggregate id, or the state document under
        a `state:` key, or None."""

    def apply(self, changes: list[Change], tracking: Tracking) -> None:
        docs: list[Document] = []
        states: dict[str, Document | None] = {}
        for change in changes:
            if isinstance(change, Put | Delete) and is_state_key(change.key):
                states[change.key] = change.doc if isinstance(change, Put) else None
            elif isinstance(change, Put):
                docs.append(change.doc)
            elif isinstance(change, Delete):  # the adapters' removal marker
                docs.append({"id": change.key, REMOVED: True})
            else:
                raise TypeError("a search index stores product documents only (Put, Delete)")
        self.upsert(docs, tracking, states)

    @abstractmethod
    def upsert(
        self,
        docs: list[Document],
        tracking: Tracking,
        states: dict[str, Document | None] | None = None,
    ) -> None:
        """Upsert `docs` (distinct ids) and the projector's `states` (None: deleted) and
        advance the position to `tracking`, once: a position at or below the recorded one
        changes nothing."""

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


# The product-level fields the projector sets on every variant's document (the rest of
# `search_document.PRODUCT_FIELDS` are derived by the index when absent).
FOLDED_FIELDS = ("category_path", "sustainability_score", "rating_average", "rating_count")
TREE = STATE_PREFIX + "categories"


def product_state_key(product_id: object) -> str:
    return f"{STATE_PREFIX}product:{product_id}"


# A category's products are listed in this many documents (by product id), so filing one
# more product rewrites a short list, not every product of its category.
MEMBER_SHARDS = 16


def members_key(category_id: str, shard: int) -> str:
    return f"{STATE_PREFIX}members:{category_id}:{shard}"


def _shard(product_id: str) -> int:
    return UUID(product_id).int % MEMBER_SHARDS


def review_state_key(review_id: object) -> str:
    return f"{STATE_PREFIX}review:{review_id}"


def folded_fields(state: Document, tree: Document) -> Document:
    """What a product gives each of its variants' documents: its category path (slugs from
    the root), its score (certificates not lapsed) and the rating of its approved reviews.
    A stock item of old keeps its free-text category (no path: the index derives it)."""
    fields: Document = {"sustainability_score": score_of(state)}
    path = category_path(tree, state) if state.get("category_id") else []
    if path:
        fields["category_path"] = path
    rating = rating_summary(state["stars"])
    if rating["rating_count"]:
        fields["rating_average"] = rating["rating_average"]
        fields["rating_count"] = rating["rating_count"]
    return fields


def _with_fields(doc: Document, fields: Document) -> Document:
    for name in FOLDED_FIELDS:  # a field a product lost (its last rating) must go
        doc.pop(name, None)
    doc.update(fields)
    return doc


def _no_stars() -> dict[str, int]:
    return {str(star): 0 for star in range(1, 6)}


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

    # Product-level state ------------------------------------------------------------------
    def _tree(self) -> Document:
        return self.view.get(TREE) or {"categories": {}}

    def _refreshed(self, state: Document, tree: Document | None = None) -> list[Change]:
        """Each of the product's variant documents with the product's fields as they are."""
        fields = folded_fields(state, tree if tree is not None else self._tree())
        changes: list[Change] = []
        for item_id in state["items"]:
            doc = self.view.get(item_id)
            if doc is not None:
                changes.append(Put(item_id, _with_fields(doc, fields)))
        return changes

    def _file(self, product_id: str, old: str | None, new: str | None) -> list[Change]:
        """Move the product from the members of category `old` to those of `new`."""
        changes: list[Change] = []
        if old == new:
            return changes
        for category_id, keep in ((old, False), (new, True)):
            if category_id is None:
                continue
            key = members_key(category_id, _shard(product_id))
            members = self.view.get(key) or {"products": []}
            listed = [p for p in members["products"] if p != product_id]
            members["products"] = [*listed, product_id] if keep else listed
            changes.append(Put(key, members) if members["products"] else Delete(key))
        return changes

    def _product(self, product_id: str, **fields: Any) -> list[Change]:
        """Change the product's state and refresh its variants' documents."""
        key = product_state_key(product_id)
        state = self.view.get(key)
        if state is None:
            return []
        before = state["category_id"]
        state.update(fields)
        return [
            Put(key, state),
            *self._file(product_id, before, state["category_id"]),
            *self._refreshed(state),
        ]

    def _subtree(self, tree: Document, category_id: str) -> list[str]:
        """The category and every category under it."""
        categories = tree["categories"]
        found, queue = [], [category_id]
        while queue:
            current = queue.pop()
            found.append(current)
            queue += [c for c, v in categories.items() if v["parent_id"] == current]
        return found

    def _filed_in(self, tree: Document, category_id: str) -> set[str]:
        """Products whose path runs through the category: filed in it or under it."""
        products: set[str] = set()
        for found in self._subtree(tree, category_id):
            for shard in range(MEMBER_SHARDS):
                members = self.view.get(members_key(found, shard))
                products.update(members["products"] if members else [])
        return products

    def _tree_changed(self, old: Document, new: Document, category_id: str) -> list[Change]:
        """The new tree and the documents of every product whose path it changed (those
        under the category before or after the change)."""
        changes: list[Change] = [Put(TREE, new)]
        affected = self._filed_in(old, category_id) | self._filed_in(new, category_id)
        for product_id in sorted(affected):  # sorted: a rebuild writes in the same order
            state = self.view.get(product_state_key(product_id))
            if state is not None:
                changes += self._refreshed(state, new)
        return changes

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []

    # Stock items ----------------------------------------------------------------------------
    @evolve.register
    def _registered(self, event: StockItem.Registered) -> list[Change]:
        doc = product_document(event)
        item_id = doc["id"]
        product_id = str(event.product_id)
        key = product_state_key(product_id)
        state: Document | None
        if event.product_id == event.originator_id:  # a stock item of old: its own product
            legacy = legacy_fields(event, event.sustainability)
            state = {
                "items": [item_id],
                "category_id": None,
                "profile": legacy["profile"],
                "certifications": legacy["certifications"],
                "stars": _no_stars(),
            }
        else:
            state = self.view.get(key)
            if state is not None and item_id not in state["items"]:
                state["items"] = [*state["items"], item_id]
        if state is None:  # a variant of a product this index never saw: its own fields only
            return [Put(item_id, doc)]
        fields = folded_fields(state, self._tree())
        return [Put(key, state), Put(item_id, _with_fields(doc, fields))]

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
        item_id = str(event.originator_id)
        doc = self.view.get(item_id)
        if doc is None:
            return []
        sustainability: dict[str, Any] = Sustainability.of(event.sustainability).to_dict()
        doc.update(
            name=event.name,
            description=event.description,
            category=event.category,
            certifications=[str(c) for c in sustainability.get("certifications", [])],
            carbon_footprint_kg=str(footprint_of(sustainability)),
            version=event.originator_version,
        )
        # A stock item of old is its own product: its profile and category are this
        # event's. (A variant's follow its product, whose own events carry them.)
        key = product_state_key(item_id)
        state = self.view.get(key)
        if state is None:
            return [Put(item_id, doc)]
        legacy = legacy_fields(event, event.sustainability)
        state.update(profile=legacy["profile"], certifications=legacy["certifications"])
        fields = folded_fields(state, self._tree())
        return [Put(key, state), Put(item_id, _with_fields(doc, fields))]

    @evolve.register
    def _restocked(self, event: StockItem.Restocked) -> list[Change]:
        return self._update(event, event.quantity)

    @evolve.register
    def _archived(self, event: StockItem.Archived) -> list[Change]:
        """No longer sold: out of search (still readable by SKU from the catalog view)."""
        if self.view.get(str(event.originator_id)) is None:
            return []
        return [Delete(str(event.originator_id))]

    # Products -------------------------------------------------------------------------------
    @evolve.register
    def _product_created(self, event: Product.Created) -> list[Change]:
        product_id = str(event.originator_id)
        state: Document = {
            "items": [],
            "category_id": str(event.category_id) if event.category_id else None,
            "profile": event.profile.to_dict(),
            "certifications": [],
            "stars": _no_stars(),
        }
        return [
            Put(product_state_key(product_id), state),
            *self._file(product_id, None, state["category_id"]),
        ]

    @evolve.register
    def _product_edited(self, event: Product.DetailsEdited) -> list[Change]:
        return self._product(str(event.originator_id), profile=event.profile.to_dict())

    @evolve.register
    def _product_recategorized(self, event: Product.Recategorized) -> list[Change]:
        category_id = str(event.category_id) if event.category_id else None
        return self._product(str(event.originator_id), category_id=category_id)

    @evolve.register
    def _product_certified(self, event: Product.CertificationAdded) -> list[Change]:
        state = self.view.get(product_state_key(event.originator_id))
        if state is None:
            return []
        entry = {**event.certification.to_dict(), "lapsed": False, "evidence": True}
        return self._product(
            str(event.originator_id), certifications=[*state["certifications"], entry]
        )

    @evolve.register
    def _product_lapsed(self, event: Product.CertificationLapsed) -> list[Change]:
        state = self.view.get(product_state_key(event.originator_id))
        if state is None:
            return []
        certifications = [
            {**c, "lapsed": True} if (c["name"], c["number"]) == (event.name, event.number) else c
            for c in state["certifications"]
        ]
        return self._product(str(event.originator_id), certifications=certifications)

    # Reviews: an approved review counts in its product's rating until it is rejected ----------
    def _stars(self, product_id: str, rating: int, step: int) -> list[Change]:
        state = self.view.get(product_state_key(product_id))
        if state is None:
            return []
        stars = dict(state["stars"])
        stars[str(rating)] += step
        return self._product(product_id, stars=stars)

    @evolve.register
    def _review_approved(self, event: Review.Approved) -> list[Change]:
        key = review_state_key(event.originator_id)
        if self.view.get(key) is not None:
            return []
        product_id = str(event.product_id)
        return [
            Put(key, {"product_id": product_id, "rating": event.rating}),
            *self._stars(product_id, event.rating, +1),
        ]

    @evolve.register
    def _review_rejected(self, event: Review.Rejected) -> list[Change]:
        key = review_state_key(event.originator_id)
        approved = self.view.get(key)
        if approved is None:  # rejected while pending: it never counted
            return []
        return [Delete(key), *self._stars(approved["product_id"], approved["rating"], -1)]

    # The category tree ----------------------------------------------------------------------
    @evolve.register
    def _category_added(self, event: CategoryTree.CategoryAdded) -> list[Change]:
        old = self._tree()
        new = {"categories": dict(old["categories"])}
        category_id = str(event.category_id)
        new["categories"][category_id] = {
            "slug": event.slug,
            "parent_id": str(event.parent_id) if event.parent_id else None,
        }
        return self._tree_changed(old, new, category_id)

    @evolve.register
    def _category_renamed(self, event: CategoryTree.CategoryRenamed) -> list[Change]:
        old = self._tree()
        category_id = str(event.category_id)
        if category_id not in old["categories"]:
            return []
        new = {"categories": {**old["categories"]}}
        new["categories"][category_id] = {**old["categories"][category_id], "slug": event.slug}
        return self._tree_changed(old, new, category_id)

    @evolve.register
    def _category_moved(self, event: CategoryTree.CategoryMoved) -> list[Change]:
        old = self._tree()
        category_id = str(event.category_id)
        if category_id not in old["categories"]:
            return []
        parent_id = str(event.parent_id) if event.parent_id else None
        new = {"categories": {**old["categories"]}}
        new["categories"][category_id] = {**old["categories"][category_id], "parent_id": parent_id}
        return self._tree_changed(old, new, category_id)
