"""Queries of the read models, behind one narrow reader per read model.

Routers, the CLI, /metrics and the console ask these; none of them sees a key. A reader
reads a `Documents` source (the active generation of a Redis read model, or a
`MemoryStore` in tests). Ownership is checked in one place (`_owned`): a document that is
not the caller's is answered exactly as a document that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from application.errors import (
    CartNotFoundError,
    OrderNotFoundError,
    PaymentNotFoundError,
    StockItemNotFoundError,
)
from domain.base import NotFoundError
from domain.order import OrderStatus
from domain.personal import WordsSealer, opened_words
from projections.analytics import rows
from projections.carts import cart_key
from projections.catalog import stock_key
from projections.orders import (
    OPEN_DISPUTES,
    dispute_key,
    order_index,
    order_key,
    payment_key,
)
from projections.search import (
    MAX_PAGE_SIZE,
    SearchIndex,
    SearchQuery,
    SearchResult,
    Suggestion,
    SuggestQuery,
)

if TYPE_CHECKING:
    from projections.back_office_reader import BackOfficeReader
    from projections.product_reader import ProductsReader

Doc = dict[str, Any]
ORDER_STATUSES = tuple(status.value for status in OrderStatus)


class Documents(Protocol):
    """What a reader needs from a read model's store."""

    def get(self, key: str) -> Doc | None: ...

    def get_many(self, keys: list[str]) -> list[Doc | None]: ...

    def members(self, key: str, start: int, stop: int) -> list[str]:
        """Members of a sorted index, highest score first (`stop` inclusive, -1: all)."""
        ...

    def count(self, key: str) -> int: ...


@dataclass(frozen=True)
class Viewer:
    """Who reads: `customer_id` for a customer (sees only their own), None for staff."""

    customer_id: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.customer_id is None


STAFF = Viewer()


def owns(viewer: Viewer, doc: Doc) -> bool:
    """Staff see every document; a customer their own."""
    return viewer.is_staff or doc.get("customer_id") == viewer.customer_id


def _owned(doc: Doc | None, viewer: Viewer, error: type[NotFoundError], message: str) -> Doc:
    """The one rule: someone else's document is answered as a missing one (404), so a
    customer cannot even learn that it exists."""
    if doc is None or not owns(viewer, doc):
        raise error(message)
    return doc


@dataclass(frozen=True)
class Page:
    items: list[Doc]
    total: int
    page: int
    size: int


class StockItemsReader:
    def __init__(self, docs: Documents):
        self.docs = docs

    def get(self, sku: str) -> Doc:
        """The stock item (anyone may read the catalog)."""
        doc = self.docs.get(stock_key(sku))
        return _owned(doc, STAFF, StockItemNotFoundError, f"no stock item {sku}")


class CartsReader:
    def __init__(self, docs: Documents):
        self.docs = docs

    def get(self, cart_id: object, viewer: Viewer) -> Doc:
        doc = self.docs.get(cart_key(cart_id))
        return _owned(doc, viewer, CartNotFoundError, f"no cart {cart_id}")


WORD_FIELDS = ("cancellation_detail", "reason", "rejection_reason")


def with_words(doc: Doc, words: WordsSealer | None) -> Doc:
    """An order or return document with the customer's sealed words opened for the caller
    (`{"erased": true}` once their key is destroyed)."""
    return {k: opened_words(v, words) if k in WORD_FIELDS else v for k, v in doc.items()}


class OrdersReader:
    """Orders and their payments (one read model)."""

    def __init__(self, docs: Documents, words: WordsSealer | None = None):
        self.docs = docs
        self.words = words

    def get(self, order_id: object, viewer: Viewer) -> Doc:
        doc = self.docs.get(order_key(order_id))
        return with_words(
            _owned(doc, viewer, OrderNotFoundError, f"no order {order_id}"), self.words
        )

    def payment(self, payment_id: object, viewer: Viewer) -> Doc:
        doc = self.docs.get(payment_key(payment_id))
        return _owned(doc, viewer, PaymentNotFoundError, f"no payment {payment_id}")

    def page(
        self,
        viewer: Viewer,
        *,
        customer_id: str | None = None,
        status: str | None = None,
        page: int = 1,
        size: int = 20,
    ) -> Page:
        """Newest first: a customer's own orders, or (staff) all or one customer's."""
        if not viewer.is_staff:
            customer_id = viewer.customer_id
        index = order_index(customer_id, status)
        ids = self.docs.members(index, (page - 1) * size, page * size - 1)
        docs = [d for d in self.docs.get_many([order_key(i) for i in ids]) if d is not None]
        return Page(docs, self.docs.count(index), page, size)

    def count(self, status: str | None = None) -> int:
        return self.docs.count(order_index(None, status))

    def open_disputes(self, limit: int = 500) -> list[Doc]:
        """Open disputes (staff), the soonest evidence deadline first."""
        members = self.docs.members(OPEN_DISPUTES, 0, limit - 1)
        keys = [dispute_key(*m.split(":", 1)) for m in members]
        return [d for d in self.docs.get_many(keys) if d is not None]

    def newest(self, status: str | None = None, limit: int = 100) -> list[Doc]:
        """The newest `limit` orders (staff), e.g. for metrics; read 500 at a time."""
        found: list[Doc] = []
        for start in range(0, limit, 500):
            stop = min(start + 500, limit) - 1
            ids = self.docs.members(order_index(None, status), start, stop)
            found += [d for d in self.docs.get_many([order_key(i) for i in ids]) if d is not None]
            if len(ids) < stop - start + 1:
                break
        return found


ANALYTICS_KINDS = (
    "sales:day",
    "sales:category",
    "co2:order",
    "co2:category",
    "product",
    "customer",
    "finance",  # gross, fees and net per provider and period (recorded reconciliations)
)


class AnalyticsReader:
    def __init__(self, docs: Documents):
        self.docs = docs

    def rows(self, kind: str, limit: int = 100) -> list[Doc]:
        """The rows of `kind` (one of ANALYTICS_KINDS), largest first (sales per day:
        newest first)."""
        if kind not in ANALYTICS_KINDS:
            raise ValueError(f"unknown analytics rows {kind!r}")
        return rows(self.docs, kind, limit)


BOUGHT = frozenset({"confirmed", "shipped", "delivered", "partially_returned", "returned"})
HISTORY = 50  # the customer's newest orders a recommendation looks at


class RecommendationsReader:
    """Products from the categories a customer bought, most bought first, that they have
    not bought yet and that are in stock. Personalization: the caller asks only for a
    customer who holds the `personalization` consent. Nothing is stored for it: it is
    worked out from the customer's orders at each request."""

    def __init__(self, orders: Documents, stock_items: Documents, search: SearchIndex):
        self.orders = orders
        self.stock_items = stock_items
        self.search = search

    def for_customer(self, customer_id: str, limit: int = 10) -> tuple[list[str], list[Any]]:
        """The categories it is based on, and the products (search hits)."""
        ids = self.orders.members(order_index(customer_id), 0, HISTORY - 1)
        units: dict[str, int] = {}
        for doc in self.orders.get_many([order_key(i) for i in ids]):
            if doc is not None and doc["status"] in BOUGHT:
                for line in doc["lines"]:
                    units[line["sku"]] = units.get(line["sku"], 0) + int(line["quantity"])
        by_category: dict[str, int] = {}
        items = self.stock_items.get_many([stock_key(sku) for sku in units])
        for sku, item in zip(units, items, strict=True):
            if item is not None:
                by_category[item["category"]] = by_category.get(item["category"], 0) + units[sku]
        categories = sorted(by_category, key=lambda c: (-by_category[c], c))
        found: list[Any] = []
        for category in categories:
            size = min(MAX_PAGE_SIZE, limit + len(units))  # enough past what was bought
            hits = self.search.search(SearchQuery(category=category, size=size))
            found += [h for h in hits.items if h.sku not in units and h.available > 0]
            if len(found) >= limit:
                break
        return categories, found[:limit]


class SearchReader:
    def __init__(self, index: SearchIndex):
        self.index = index

    def search(self, query: SearchQuery) -> SearchResult:
        return self.index.search(query)

    def suggest(self, query: SuggestQuery) -> list[Suggestion]:
        return self.index.suggest(query)


class SearchUnavailableError(LookupError):
    """No search store is configured."""


@dataclass(frozen=True)
class Readers:
    """Every reader, each opened on the active generation of its read model when asked
    (after a rebuild's swap the next query reads the new one)."""

    open: Callable[[str], Documents]  # read model name -> its documents
    open_search: Callable[[], SearchIndex] | None = None
    words: WordsSealer | None = None  # opens the customers' words the read models seal

    @property
    def search(self) -> SearchReader:
        if self.open_search is None:
            raise SearchUnavailableError("product search is not configured")
        return SearchReader(self.open_search())

    @property
    def stock_items(self) -> StockItemsReader:
        return StockItemsReader(self.open("stock_items"))

    @property
    def carts(self) -> CartsReader:
        return CartsReader(self.open("carts"))

    @property
    def orders(self) -> OrdersReader:
        return OrdersReader(self.open("orders"), self.words)

    @property
    def recommendations(self) -> RecommendationsReader:
        if self.open_search is None:
            raise SearchUnavailableError("product search is not configured")
        return RecommendationsReader(
            self.open("orders"), self.open("stock_items"), self.open_search()
        )

    @property
    def analytics(self) -> AnalyticsReader:
        return AnalyticsReader(self.open("analytics"))

    @property
    def back_office(self) -> BackOfficeReader:
        from projections.back_office_reader import BackOfficeReader

        return BackOfficeReader(self.open("back_office"))

    @property
    def products(self) -> ProductsReader:
        from projections.product_reader import ProductsReader

        return ProductsReader(self.open("products"))
