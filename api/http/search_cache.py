"""The search-results cache: the answer bytes of anonymous searches, in Redis (shared by
every API process), keyed by the NORMALIZED query and the index generation.

Normalizing: text is Unicode NFC with its whitespace collapsed; the words (`q`) are also
lower-cased, as both search adapters match words regardless of case, and the category and
certification filters are folded (case and accents), as both adapters compare them folded;
`sort` and `in_stock` are keyed as they are (every field of the query is); numbers are parsed
(`10`, `10.0`, `010.00` are one price); parameter order and absent-vs-default do not
count. The search then runs with that normalized query, so whatever one spelling of a query
stored is exactly what every other spelling of it would have found: odd Unicode, case or
parameter order can not plant an answer under another query's key (no cache poisoning),
and raw client text never reaches a key (keys are digests).

Freshness: an entry lives at most the search max-age (ECOVAREJO_CACHE_SEARCH_MAX_AGE_S), so
a price or stock change is never served staler than that; a rebuild's new generation starts
with an empty cache. A request with X-Consistency-Token, or with credentials, bypasses it."""

from __future__ import annotations

import asyncio
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from hashlib import blake2b

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge

from infrastructure.bootstrap import Container
from infrastructure.read_stores.lean_redis import LeanReaders
from infrastructure.read_stores.redis_views import LoopRedis
from projections.search import SearchQuery
from projections.search_document import fold_key

_SPACES = re.compile(r"\s+")
# How long a process trusts the index generation it read (a swap is seen within this).
GENERATION_TTL_S = 1.0


def normal_text(text: str | None) -> str | None:
    if text is None:
        return None
    folded = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
    return folded or None


def folded(text: str | None) -> str | None:
    """Category and certification filters ignore case and accents: one key for all."""
    text = normal_text(text)
    return fold_key(text) if text is not None else None


def normalized(query: SearchQuery) -> SearchQuery:
    """The query every spelling of it stands for (what runs, and what is keyed). Every
    field of the query is part of the key (`sort`, `in_stock` too): see `cache_key`."""
    q = normal_text(query.q)
    return replace(
        query,
        q=q.lower() if q else None,
        category=folded(query.category),
        certification=folded(query.certification),
        min_price=query.min_price.normalize() if query.min_price is not None else None,
        max_price=query.max_price.normalize() if query.max_price is not None else None,
    )


def cache_key(query: SearchQuery, generation: str) -> str:
    """`query` must be normalized; the key holds a digest of it, never its text."""
    # The fields one level deep (they are text, numbers and flags): what `asdict` gave,
    # without its deep copy of each value.
    named = ((f.name, getattr(query, f.name)) for f in dataclass_fields(query))
    fields = {k: (str(v) if v is not None else None) for k, v in named}
    digest = blake2b(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS), digest_size=16)
    return f"search-cache:{generation}:{digest.hexdigest()}"


class SearchCacheMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.lookups = Counter(
            "ecovarejo_search_cache_lookups",
            "anonymous searches answered from the search-results cache (hit) or not (miss)",
            ["result"],
            registry=registry,
        )
        self.hits = self.lookups.labels("hit")
        self.misses = self.lookups.labels("miss")
        ratio = Gauge(
            "ecovarejo_search_cache_hit_ratio",
            "hits / lookups of the search-results cache since this process started",
            registry=registry,
        )
        ratio.set_function(self.ratio)

    def ratio(self) -> float:
        hits, misses = self.hits._value.get(), self.misses._value.get()
        return hits / (hits + misses) if hits + misses else 0.0


class SearchCache:
    def __init__(
        self,
        aredis: LoopRedis,
        generation: Callable[[], str],
        ttl_s: int,
        metrics: SearchCacheMetrics,
        lean: LeanReaders | None = None,
    ):
        """`generation`: a blocking callable naming the active index generation; `lean`:
        the pipelined reader for lookups (`infrastructure.read_stores.lean_redis`), else
        redis-py."""
        self.aredis = aredis
        self.lean = lean
        self._read_generation = generation
        self.ttl_s = ttl_s
        self.metrics = metrics
        self._generation = ""
        self._read_at = float("-inf")

    async def generation(self) -> str:
        if time.monotonic() - self._read_at > GENERATION_TTL_S:
            self._generation = await asyncio.to_thread(self._read_generation)
            self._read_at = time.monotonic()
        return self._generation

    async def get(self, key: str) -> bytes | None:
        reader = self.lean.reader() if self.lean is not None else self.aredis.client()
        found = await reader.get(key)
        (self.metrics.hits if found is not None else self.metrics.misses).inc()
        return found if isinstance(found, bytes) else None

    async def put(self, key: str, body: bytes) -> None:
        if self.ttl_s <= 0:
            return
        if self.lean is not None:
            await self.lean.reader().set(key, body, self.ttl_s)
        else:
            await self.aredis.client().set(key, body, ex=self.ttl_s)


def search_cache(container: Container, registry: CollectorRegistry) -> SearchCache | None:
    """The cache of this app, when search is configured and the cache is on."""
    store, settings = container.search, container.settings
    if store is None or not settings.search_cache_enabled:
        return None
    metrics = SearchCacheMetrics(registry)
    return SearchCache(
        container.aredis,
        store.active_generation,
        settings.cache_search_max_age_s,
        metrics,
        LeanReaders.of(container.aredis.url),
    )
