"""One version of the search generation in memory, and how it answers a query as the
PostgreSQL adapter does (`search_postgres.PostgresSearchIndex.search`).

Sets of documents are bitsets (Python integers, bit i = the i-th document in SKU byte order):
one per lexeme, category key, certification key and facet token, one for `stocked`, and the
price filter from the documents in price order (a prefix of that order is a checkpoint's
bits and at most `_STRIDE` more). A query ANDs them; the facets are popcounts; the page is
read from the query's order (memoized per words and sort), skipping documents outside."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from infrastructure.read_stores.search_postgres import facets_of
from infrastructure.read_stores.ts_rank import Vector, ts_rank
from projections.search import ProductHit, SearchQuery, SearchResult
from projections.search_document import fold_key

MAX_ORDERS = 256  # (words, sort) orders remembered per snapshot
_STRIDE = 64  # documents between two price checkpoints
_SPARSE = 64  # at most this many hits: take them from the bits, not by walking the order

Version = tuple[str, int | None]


@dataclass(frozen=True, slots=True)
class Doc:
    sku: str
    hit: ProductHit
    price: Decimal
    stocked: bool
    categories: frozenset[str]
    certifications: frozenset[str]
    tokens: tuple[str, ...]
    vector: Vector
    score: int | None
    rating: Decimal | None
    rating_count: int
    listed_at: int | None  # microseconds since the epoch (timestamptz's resolution)
    footprint: Decimal | None


def _last(value: Any) -> tuple[bool, Any]:
    """NULLS LAST ascending: present values first, in order."""
    return (value is None, value if value is not None else 0)


def _last_desc(value: Any) -> tuple[bool, Any]:
    """DESC NULLS LAST: present values first, highest first."""
    return (value is None, -value if value is not None else 0)


# `sort=` -> the adapter's ORDER BY (`search_postgres._ORDERS`), every one ending on the SKU.
SORT_KEYS: dict[str, Callable[[Doc], tuple[Any, ...]]] = {
    "price_asc": lambda d: (d.price, d.sku),
    "price_desc": lambda d: (-d.price, d.sku),
    "newest": lambda d: (*_last_desc(d.listed_at), d.sku),
    "rating": lambda d: (*_last_desc(d.rating), -d.rating_count, d.sku),
    "footprint": lambda d: (*_last(d.footprint), d.sku),
    "score": lambda d: (*_last_desc(d.score), d.sku),
}


@dataclass(frozen=True)
class Plan:
    """A text query as the adapter builds it: AND over words, each an OR over its synonyms,
    each the AND of its lexemes; words and synonyms without lexemes (stop words) dropped,
    as `&&` and `||` drop an empty `tsquery`."""

    terms: tuple[tuple[tuple[str, ...], ...], ...]

    @property
    def operands(self) -> list[str]:
        return [lexeme for term in self.terms for synonym in term for lexeme in synonym]

    @property
    def top_is_and(self) -> bool:
        if len(self.terms) > 1:
            return True
        (term,) = self.terms
        return len(term) == 1 and len(term[0]) > 1


def _masks(keys: list[tuple[int, Any]]) -> dict[Any, int]:
    bits: dict[Any, list[int]] = {}
    for i, key in keys:
        bits.setdefault(key, []).append(i)
    return {key: _bits(indices) for key, indices in bits.items()}


def _indices(mask: int) -> list[int]:
    """The set bits of `mask`, lowest first (a byte at a time: shifting a big integer bit by
    bit would cost its length each time)."""
    found = []
    for at, byte in enumerate(mask.to_bytes((mask.bit_length() + 7) // 8, "little")):
        while byte:
            low = byte & -byte
            found.append(at * 8 + low.bit_length() - 1)
            byte ^= low
    return found


def _bits(indices: list[int]) -> int:
    mask = 0
    for i in indices:
        mask |= 1 << i
    return mask


class Snapshot:
    """One version of the generation, immutable once built (its memo aside)."""

    def __init__(self, version: Version, docs: list[Doc], all_facets: list[list[Any]]):
        self.version = version
        self.docs = docs  # in SKU byte order: bit i is docs[i]
        self.all_facets = all_facets
        self.every = (1 << len(docs)) - 1
        pairs = list(enumerate(docs))
        self.lexemes = _masks([(i, lexeme) for i, d in pairs for lexeme in d.vector])
        self.categories = _masks([(i, key) for i, d in pairs for key in d.categories])
        self.certifications = _masks([(i, key) for i, d in pairs for key in d.certifications])
        self.tokens = _masks([(i, token) for i, d in pairs for token in d.tokens])
        # `unnest(facets)` counts a token as often as a row holds it: bits count it once.
        self.repeated_tokens = any(len(set(d.tokens)) != len(d.tokens) for d in docs)
        self.stocked = _bits([i for i, d in pairs if d.stocked])
        self.by_price = sorted(range(len(docs)), key=lambda i: docs[i].price)
        self.prices = [docs[i].price for i in self.by_price]
        self.checkpoints = [0]
        for start in range(0, len(docs), _STRIDE):
            chunk = self.by_price[start : start + _STRIDE]
            self.checkpoints.append(self.checkpoints[-1] | _bits(chunk))
        self._orders: dict[tuple[Any, ...], list[int]] = {}
        self._ranks: dict[tuple[Any, ...], dict[int, int]] = {}
        for sort in SORT_KEYS:  # sorted here, on the loading thread, not on a search's
            self.ordered(None, sort)

    def _cheaper_than(self, k: int) -> int:
        """The documents of the `k` lowest prices."""
        stride, rest = divmod(k, _STRIDE)
        return self.checkpoints[stride] | _bits(self.by_price[k - rest : k])

    def matching(self, plan: Plan) -> int:
        found = self.every
        for term in plan.terms:
            either = 0
            for lexemes in term:
                both = self.every
                for lexeme in lexemes:
                    both &= self.lexemes.get(lexeme, 0)
                either |= both
            found &= either
        return found if plan.terms else 0  # only stop words: an empty `tsquery`, no match

    def filtered(self, query: SearchQuery) -> int | None:
        """The documents the filters let through (None: no filter)."""
        mask = self.every
        if query.category is not None:
            mask &= self.categories.get(fold_key(query.category), 0)
        if query.certification is not None:
            mask &= self.certifications.get(fold_key(query.certification), 0)
        if query.min_price is not None:
            mask &= self.every ^ self._cheaper_than(bisect_left(self.prices, query.min_price))
        if query.max_price is not None:
            mask &= self._cheaper_than(bisect_right(self.prices, query.max_price))
        if query.in_stock:
            mask &= self.stocked
        narrowed = query.category, query.certification, query.min_price, query.max_price
        return mask if query.in_stock or any(v is not None for v in narrowed) else None

    def ordered(self, plan: Plan | None, sort: str) -> list[int]:
        """The documents the words match (all without words), in the query's order."""
        key = (plan, sort)
        found = self._orders.get(key)
        if found is not None:
            return found
        docs = self.docs
        if plan is None:
            everything = range(len(docs))
            found = list(everything) if sort == "relevance" else self._sorted(everything, sort)
        else:
            mask = self.matching(plan)
            hits = _indices(mask)
            if not hits:
                found = []
            elif sort == "relevance":
                operands, top_is_and = plan.operands, plan.top_is_and
                ranks = {i: ts_rank(docs[i].vector, operands, top_is_and) for i in hits}
                found = sorted(hits, key=lambda i: (-ranks[i], docs[i].sku))
            else:
                found = self._sorted(hits, sort)
        if len(self._orders) >= MAX_ORDERS:
            self._orders.clear()
            self._ranks.clear()
        self._orders[key] = found
        return found

    def _sorted(self, indices: Any, sort: str) -> list[int]:
        by = SORT_KEYS[sort]
        return sorted(indices, key=lambda i: by(self.docs[i]))

    def rank_in(self, plan: Plan | None, sort: str) -> dict[int, int]:
        """Each document's place in `ordered(plan, sort)`."""
        key = (plan, sort)
        found = self._ranks.get(key)
        if found is None:
            found = self._ranks[key] = {i: n for n, i in enumerate(self.ordered(plan, sort))}
        return found


def answer(snapshot: Snapshot, plan: Plan | None, query: SearchQuery) -> SearchResult:
    """What the adapter answers, from the snapshot: the page of the ordered hits that pass
    the filters, and their facet tokens counted (the generation's counts when nothing
    narrows the search, as the adapter reads them)."""
    ordered = snapshot.ordered(plan, query.sort)
    narrowed = snapshot.filtered(query)
    if plan is None and narrowed is None:
        total, facets = facets_of(snapshot.all_facets)
        page = ordered[query.offset : query.offset + query.size]
    else:
        mask = snapshot.matching(plan) if plan is not None else snapshot.every
        mask &= narrowed if narrowed is not None else snapshot.every
        total, facets = facets_of(_counted(snapshot, mask))
        page = _page(snapshot, plan, query, ordered, mask)
    docs = snapshot.docs
    return SearchResult(total=total, items=[docs[i].hit for i in page], facets=facets)


def _counted(snapshot: Snapshot, mask: int) -> list[list[Any]]:
    """The facet tokens of the documents in `mask`, counted as `unnest(facets)` counts."""
    if snapshot.repeated_tokens:
        counts: Counter[str] = Counter()
        for i in _indices(mask):
            counts.update(snapshot.docs[i].tokens)
        return [[token, n] for token, n in counts.items()]
    counted = ((token, (mask & bits).bit_count()) for token, bits in snapshot.tokens.items())
    return [[token, n] for token, n in counted if n]


def _page(
    snapshot: Snapshot, plan: Plan | None, query: SearchQuery, ordered: list[int], mask: int
) -> list[int]:
    end = query.offset + query.size
    if mask.bit_count() <= _SPARSE:  # few hits: sorted by their place in the order
        hits = _indices(mask)
        place = snapshot.rank_in(plan, query.sort)
        return sorted(hits, key=place.__getitem__)[query.offset : end]
    bits = mask.to_bytes((len(snapshot.docs) + 7) // 8, "little")
    page: list[int] = []
    for i in ordered:
        if bits[i >> 3] >> (i & 7) & 1:
            page.append(i)
            if len(page) == end:
                break
    return page[query.offset :]
