"""The in-process search index: the active PostgreSQL search generation held in memory by an
API process, answering anonymous searches EXACTLY as `PostgresSearchIndex.search` would, or
not at all (None: the caller asks the store, as before).

What is loaded, in one REPEATABLE READ transaction (so rows and position agree): every row
of `search_products_<generation>` (the hit's fields, sort keys, filter keys, facet tokens and
the stored `tsvector` as PostgreSQL prints it) and the generation's facet counts. Nothing is
re-derived: lexemes, positions and weights are the database's. Query words are turned into
lexemes by the database too (`plainto_tsquery`, the very call the adapter makes), once per
word, and remembered (`learn`); a query with a word not yet learnt is handed on and its words
learnt in the background. Ranking is `ts_rank` reproduced bit for bit (`ts_rank.py`).

Freshness: an answer is given only while the snapshot's version (generation, log position)
was confirmed current less than `max_stale_s` ago. A check (one small query) is due after
half of that; the caller runs `work` off its event loop when `wants_work` says so, which also
reloads the snapshot when the version moved. Beyond `max_documents` rows nothing is loaded
and every search goes to the store."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from infrastructure.read_stores.search_postgres import PostgresSearchStore
from infrastructure.read_stores.search_snapshot import Doc, Plan, Snapshot, Version, answer
from infrastructure.read_stores.ts_rank import parse_lexemes, parse_tsvector
from projections.base import DEFAULT_GENERATION
from projections.search import ProductHit, SearchQuery, SearchResult
from projections.search_document import fold_key

log = logging.getLogger(__name__)

MAX_WORDS = 20_000  # words whose lexemes are remembered (then forgotten all at once)
LOAD_SHARE = 9  # after a load taking t of CPU, no other load for 9 t (at most 10% of a core)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = datetime.resolution
_UNKNOWN: tuple[str, ...] = ("<not learnt>",)  # a sentinel: no lexeme holds `<`

_VERSION = """
SELECT g.generation, g.notification_id FROM search_generations AS g
WHERE g.generation = coalesce((SELECT generation FROM search_active), %s)
"""
_COUNT = "SELECT count(*) FROM {table}"
_ROWS = """
SELECT sku, name, price::text, available, certifications, carbon_footprint_kg, stocked, score,
       rating::text, rating_count, listed_at, footprint, facets, category_keys,
       certification_keys, document::text
FROM {table} ORDER BY sku COLLATE "C"
"""
_FACETS = "SELECT value, n FROM {facets}"
_LEXEMES = "SELECT w, plainto_tsquery(%s::regconfig, w)::text FROM unnest(%s::text[]) AS w"


def _doc(row: tuple[Any, ...]) -> Doc | None:
    (sku, name, price, available, certifications, footprint_kg, stocked, score, rating) = row[:9]
    rating_count, listed_at, footprint, tokens, categories, cert_keys, document = row[9:]
    vector = parse_tsvector(document)
    if vector is None or (footprint is not None and not footprint.is_finite()):
        return None
    hit = ProductHit(
        sku=sku,
        name=name,
        price=Decimal(price),
        available=int(available),
        certifications=list(certifications),
        carbon_footprint_kg=footprint_kg,
        in_stock=bool(stocked),
        sustainability_score=score,
        rating_average=Decimal(rating) if rating is not None else None,
        rating_count=int(rating_count or 0),
    )
    if not hit.price.is_finite():
        return None
    micros = None if listed_at is None else (listed_at - _EPOCH) // _MICROSECOND
    return Doc(
        sku=sku,
        hit=hit,
        price=hit.price,
        stocked=bool(stocked),
        categories=frozenset(categories),
        certifications=frozenset(cert_keys),
        tokens=tuple(tokens),
        vector=vector,
        score=score,
        rating=hit.rating_average,
        rating_count=hit.rating_count,
        listed_at=micros,
        footprint=footprint,
    )


class MemorySearchIndex:
    """The active generation of a `PostgresSearchStore`, in memory. Thread-safe: the
    snapshot is replaced whole; `work` runs one at a time."""

    def __init__(
        self,
        store: PostgresSearchStore,
        *,
        max_documents: int,
        max_stale_s: float,
        clock: Callable[[], float] = time.monotonic,
        load_share: float = LOAD_SHARE,
    ):
        self.store = store
        self.max_documents = max_documents
        self.max_stale_s = max_stale_s
        self.clock = clock
        self.load_share = load_share
        self.snapshot: Snapshot | None = None
        self._verified_at = float("-inf")
        self._checked_at = float("-inf")
        self._lexemes: dict[str, tuple[str, ...] | None] = {}  # word -> lexemes (None: refused)
        self._pending: set[str] = set()
        self._working = threading.Lock()
        self._refused: Version | None = None  # a version not held (too large, not reproduced)
        self._next_load_at = float("-inf")

    # -- answering (never blocks) -------------------------------------------------------------

    def fresh(self) -> Snapshot | None:
        """The snapshot, while its version was confirmed less than `max_stale_s` ago."""
        if self.clock() - self._verified_at >= self.max_stale_s:
            return None
        return self.snapshot

    def wants_work(self) -> bool:
        due = self.clock() - self._checked_at >= self.max_stale_s / 2
        return (due or bool(self._pending)) and not self._working.locked()

    def search(self, query: SearchQuery) -> SearchResult | None:
        """The adapter's answer, or None when the store must answer (stale or no snapshot,
        a word not learnt yet, text PostgreSQL would refuse)."""
        snapshot = self.fresh()
        if snapshot is None or _has_nul(query):
            return None
        plan = None
        # Text that folds to no word at all is no text query, as for the adapter.
        if query.q is not None and fold_key(self.store.fold(query.q)).split():
            plan = self.plan(query.q)
            if plan is None:
                return None
        return answer(snapshot, plan, query)

    def plan(self, q: str) -> Plan | None:
        """The query's plan, or None (and its unknown words queued for `learn`)."""
        terms = []
        missing = False
        for word in fold_key(self.store.fold(q)).split():  # as the adapter splits it
            synonyms = []
            for synonym in self.store.synonyms.of_word(word):
                lexemes = self._lexemes.get(synonym, _UNKNOWN)
                if lexemes is _UNKNOWN:
                    self._pending.add(synonym)
                    missing = True
                elif lexemes is None:
                    return None  # a shape not reproduced: the store answers
                elif lexemes:  # a stop word has none: dropped, as `||` drops it
                    synonyms.append(lexemes)
            if synonyms:
                terms.append(tuple(synonyms))
        return None if missing else Plan(tuple(terms))

    # -- background work (blocking) -----------------------------------------------------------

    def work(self) -> None:
        """Learn queued words, and check the version (reloading when it moved), unless
        another thread is at it. Errors are logged: the store answers meanwhile."""
        if not self._working.acquire(blocking=False):
            return
        try:
            pending, self._pending = self._pending, set()
            if pending:
                self.learn(pending)
            if self.clock() - self._checked_at >= self.max_stale_s / 2:
                self.refresh()
        except Exception:
            log.warning("the in-process search index could not refresh", exc_info=True)
        finally:
            self._working.release()

    def learn(self, words: Iterable[str]) -> None:
        """Ask PostgreSQL for the lexemes of `words` (one statement). Words it refuses are
        remembered as refused (the store answers them), not asked again at every search."""
        missing = [w for w in dict.fromkeys(words) if w not in self._lexemes]
        if not missing:
            return
        asked = [w for w in missing if "\x00" not in w]
        rows: list[tuple[Any, ...]] = []
        try:
            with self.store.pool.connection() as conn:
                rows = (
                    conn.execute(_LEXEMES, (self.store.config, asked)).fetchall() if asked else []
                )
        except psycopg.Error:
            log.warning("lexemes of %d words not learnt: the store answers them", len(asked))
        if len(self._lexemes) + len(missing) > MAX_WORDS:
            self._lexemes = {}
        found = {str(w): parse_lexemes(str(text)) for w, text in rows}
        for word in missing:
            self._lexemes[word] = found.get(word)

    def refresh(self) -> None:
        """Confirm the snapshot's version, or load the current one: at most one tenth of a
        core goes to loading (the time since the last load is at least 9 times its CPU
        time); until then a moved version leaves the snapshot unconfirmed, and once older
        than `max_stale_s` the store answers."""
        started = self.clock()
        self._checked_at = started
        version = self._version()
        held = self.snapshot.version if self.snapshot is not None else self._refused
        if held != version:
            if started < self._next_load_at:
                return
            spent = time.thread_time()
            self.snapshot = self._load()
            self._next_load_at = started + self.load_share * (time.thread_time() - spent)
            self._refused = None if self.snapshot is not None else version
        self._verified_at = started if self.snapshot is not None else float("-inf")

    def _version(self) -> Version:
        with self.store.pool.connection() as conn:
            row = conn.execute(_VERSION, (DEFAULT_GENERATION,)).fetchone()
        if row is None:
            return (DEFAULT_GENERATION, None)
        return (str(row[0]), row[1])

    def _load(self) -> Snapshot | None:
        with self.store.pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            row = conn.execute(_VERSION, (DEFAULT_GENERATION,)).fetchone()
            if row is None:
                return None
            version: Version = (str(row[0]), row[1])
            table = sql.Identifier(f"search_products_{version[0]}")
            counted = conn.execute(sql.SQL(_COUNT).format(table=table)).fetchone()
            if counted is None or counted[0] > self.max_documents:
                log.info("search generation too large to hold in memory: the store answers")
                return None
            rows = conn.execute(sql.SQL(_ROWS).format(table=table)).fetchall()
            facets = sql.Identifier(f"search_facets_{version[0]}")
            all_facets = [list(r) for r in conn.execute(sql.SQL(_FACETS).format(facets=facets))]
        docs = [_doc(row) for row in rows]
        if any(d is None for d in docs) or len({d.sku for d in docs if d}) != len(docs):
            # Duplicate SKUs (no order between them) or a value not reproduced: the store.
            log.warning("search generation %s not held in memory: the store answers", version[0])
            return None
        return Snapshot(version, [d for d in docs if d is not None], all_facets)


def _has_nul(query: SearchQuery) -> bool:
    return any(
        text is not None and "\x00" in text
        for text in (query.q, query.category, query.certification)
    )
