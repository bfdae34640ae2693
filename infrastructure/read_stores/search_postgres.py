"""Product search in PostgreSQL: the embedded default behind the `SearchIndex` port.

Each generation is a table `search_products_<generation>` with a weighted `tsvector`
(name A, category B, description C) under a GIN index; ranking is `ts_rank`. Accents are
ignored: the text search configuration `ecovarejo_pt` is `portuguese` with the `unaccent`
dictionary in front of the stemmer, so `organica` finds `Orgânica` and `cafe` finds `Café`.
Where the `unaccent` extension cannot be installed, the plain `portuguese` configuration is
used and text is folded in Python before it reaches PostgreSQL, on both the indexing and the
query side, so the behaviour is the same.

Filters compare case- and accent-folded keys (`category_keys`, `certification_keys`, from
`projections.search_document`); a query word also matches its synonyms (one `tsquery` OR
per word). Sorts have their own columns (`score`, `rating`, `listed_at`, `footprint`);
documents lacking the catalog's product-level fields take the defaults of `indexed`, and
those fields are stored as given (`product`), so `get` hands back what was written.
Suggestions come from `search_suggest_<generation>`: one row per word-suffix of each name,
folded, in byte order: a prefix is an index range; one typo is checked with
`levenshtein_less_equal` (the `fuzzystrmatch` extension, or in Python where it is missing)
on the rows that share the first letter.

The projector's state documents (`projections.search.STATE_PREFIX` keys) live in
`search_state_<generation>` (key, jsonb). `search_generations` has one row per generation
holding its log position: a write updates that row, the documents and the state in one
transaction, and only if the position is new. The
active generation is the one row of `search_active`; `activate` swaps it in one statement.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
from eventsourcing.persistence import Tracking
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from projections.base import DEFAULT_GENERATION, Change, GenerationMovedError, PositionMovedError
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
    Synonyms,
    fold_key,
    given,
    indexed,
    price_range_key,
    suggests,
)

log = logging.getLogger(__name__)
_CENTS = Decimal("0.01")

CONFIG_WITH_UNACCENT = "ecovarejo_pt"
CONFIG_WITHOUT_UNACCENT = "portuguese"
# Serializes schema changes between processes: concurrent CREATE ... IF NOT EXISTS can
# still collide on the catalog's unique indexes.
_DDL_LOCK = 0x5EA_2C4  # any constant; one per database

_SETUP = """
CREATE TABLE IF NOT EXISTS search_generations (
    generation text PRIMARY KEY,
    application_name text,
    notification_id bigint,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS search_active (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation text NOT NULL
);
"""

_PRODUCTS = """
CREATE TABLE IF NOT EXISTS {table} (
    id text PRIMARY KEY,
    sku text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    category text NOT NULL,
    price numeric(12, 2) NOT NULL,
    available integer NOT NULL,
    certifications text[] NOT NULL,
    carbon_footprint_kg text NOT NULL,
    version integer NOT NULL,
    document tsvector NOT NULL,
    product jsonb NOT NULL,
    category_facets text[] NOT NULL,
    facets text[] NOT NULL,
    category_keys text[] NOT NULL,
    certification_keys text[] NOT NULL,
    score smallint,
    rating numeric(5, 2),
    rating_count integer NOT NULL,
    listed_at timestamptz,
    stocked boolean NOT NULL,
    footprint numeric
);
CREATE INDEX IF NOT EXISTS {document_index} ON {table} USING gin (document);
CREATE INDEX IF NOT EXISTS {category_index} ON {table} USING gin (category_keys);
CREATE INDEX IF NOT EXISTS {certifications_index} ON {table} USING gin (certification_keys);
CREATE TABLE IF NOT EXISTS {suggest_table} (
    entry text COLLATE "C" NOT NULL,
    id text NOT NULL,
    PRIMARY KEY (entry, id)
);
CREATE INDEX IF NOT EXISTS {suggest_id_index} ON {suggest_table} (id);
CREATE INDEX IF NOT EXISTS {sku_index} ON {table} (sku COLLATE "C");
CREATE INDEX IF NOT EXISTS {price_index} ON {table} (price, sku COLLATE "C");
CREATE INDEX IF NOT EXISTS {price_desc_index} ON {table} (price DESC, sku COLLATE "C");
CREATE INDEX IF NOT EXISTS {score_index} ON {table} (score DESC NULLS LAST, sku COLLATE "C");
CREATE INDEX IF NOT EXISTS {rating_index}
    ON {table} (rating DESC NULLS LAST, rating_count DESC, sku COLLATE "C");
CREATE INDEX IF NOT EXISTS {listed_index} ON {table} (listed_at DESC NULLS LAST, sku COLLATE "C");
CREATE INDEX IF NOT EXISTS {footprint_index} ON {table} (footprint NULLS LAST, sku COLLATE "C");
CREATE TABLE IF NOT EXISTS {state_table} (
    key text PRIMARY KEY,
    doc jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS {facets_table} (
    value text COLLATE "C" PRIMARY KEY,
    n bigint NOT NULL
);
"""
# Index names: the table's name and a suffix (at most 46 + 10 characters of PostgreSQL's 63).
_SORT_INDEXES = {
    "sku_index": "sku",
    "price_index": "price",
    "price_desc_index": "price_desc",
    "score_index": "score",
    "rating_index": "rating",
    "listed_index": "listed",
    "footprint_index": "footprint",
}

# A table of an older schema (no `facets` column, or no state or facets table beside it:
# built before the projector folded products, reviews and the category tree, or before
# facets were counted as documents are written) is dropped and its position forgotten: a
# read model is disposable, and the runner refills it from the log.
_OUTDATED = """
SELECT EXISTS (SELECT 1 FROM information_schema.tables
               WHERE table_schema = current_schema() AND table_name = %(table)s)
   AND (NOT EXISTS (SELECT 1 FROM information_schema.columns
                    WHERE table_schema = current_schema() AND table_name = %(table)s
                      AND column_name = 'facets')
        OR NOT EXISTS (SELECT 1 FROM information_schema.tables
                       WHERE table_schema = current_schema() AND table_name = %(state)s)
        OR NOT EXISTS (SELECT 1 FROM information_schema.tables
                       WHERE table_schema = current_schema() AND table_name = %(facets)s))
"""
_STATE_GET = "SELECT doc FROM {state} WHERE key = %s"
_STATE_PUT = """
INSERT INTO {state} (key, doc) VALUES (%s, %s)
ON CONFLICT (key) DO UPDATE SET doc = EXCLUDED.doc
"""

_UPSERT = """
INSERT INTO {table} AS t (id, sku, name, description, category, price, available,
                          certifications, carbon_footprint_kg, version, document, product,
                          category_facets, facets, category_keys, certification_keys, score,
                          rating,
                          rating_count, listed_at, stocked, footprint)
VALUES (%(id)s, %(sku)s, %(name)s, %(description)s, %(category)s, %(price)s, %(available)s,
        %(certifications)s, %(carbon_footprint_kg)s, %(version)s,
        setweight(to_tsvector(%(config)s::regconfig, %(name_text)s), 'A')
        || setweight(to_tsvector(%(config)s::regconfig, %(category_text)s), 'B')
        || setweight(to_tsvector(%(config)s::regconfig, %(description_text)s), 'C'),
        %(product)s, %(category_facets)s, %(facets)s, %(category_keys)s, %(certification_keys)s,
        %(score)s, %(rating)s, %(rating_count)s, %(listed_at)s, %(stocked)s, %(footprint)s)
ON CONFLICT (id) DO UPDATE SET
    sku = EXCLUDED.sku, name = EXCLUDED.name, description = EXCLUDED.description,
    category = EXCLUDED.category, price = EXCLUDED.price, available = EXCLUDED.available,
    certifications = EXCLUDED.certifications,
    carbon_footprint_kg = EXCLUDED.carbon_footprint_kg, version = EXCLUDED.version,
    document = EXCLUDED.document, product = EXCLUDED.product,
    category_facets = EXCLUDED.category_facets, facets = EXCLUDED.facets,
    category_keys = EXCLUDED.category_keys,
    certification_keys = EXCLUDED.certification_keys, score = EXCLUDED.score,
    rating = EXCLUDED.rating, rating_count = EXCLUDED.rating_count,
    listed_at = EXCLUDED.listed_at, stocked = EXCLUDED.stocked, footprint = EXCLUDED.footprint
"""

# The position alone, if the generation is still the active one (a live runner's: FOR
# SHARE makes an `activate` wait for it, as `_check_still_active`), the position new, and
# the one the runner expects (when it names one).
_ADVANCE = """
UPDATE search_generations SET notification_id = %(position)s, application_name = %(name)s
WHERE generation = %(generation)s
  AND coalesce(notification_id, 0) < %(position)s
  AND (%(expected)s::bigint IS NULL OR coalesce(notification_id, 0) = %(expected)s::bigint)
  AND (NOT %(follow)s OR coalesce(
        (SELECT generation FROM search_active FOR SHARE), %(default)s
      ) = %(generation)s)
"""

_ACTIVE = "SELECT generation FROM search_active FOR SHARE"
_LOCK_POSITION = "SELECT notification_id FROM search_generations WHERE generation = %s FOR UPDATE"

_GET = """
SELECT id, sku, name, description, category, price::text AS price, available,
       certifications, carbon_footprint_kg, version, product
FROM {table} WHERE id = %s
"""

# One statement, so total, page and facets come from one snapshot. Ties are broken by SKU
# (and facet values by name) in byte order, as Elasticsearch sorts keywords.
#
# The page is read from the table itself, so `ORDER BY … LIMIT` walks the sort's index and
# stops after the page; the facets are counted over the hits' facet columns only.
_PAGE = """
(SELECT coalesce(jsonb_agg(jsonb_build_object(
            'sku', sku, 'name', name, 'price', price::text, 'available', available,
            'certifications', to_jsonb(certifications),
            'carbon_footprint_kg', carbon_footprint_kg, 'in_stock', stocked,
            'sustainability_score', score, 'rating_average', rating::text,
            'rating_count', rating_count)
        ORDER BY ord), '[]'::jsonb)
 FROM (SELECT *, row_number() OVER (ORDER BY {order}) AS ord
       FROM (SELECT sku, name, price, available, certifications, carbon_footprint_kg, stocked,
                    score, rating, rating_count, listed_at, footprint, {rank} AS rank
             FROM {table}{tsquery} WHERE {where}
             ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s) AS hit) AS page)
"""
# Facets are counted in one pass: each document carries its facet values as tokens
# (`facet_tokens`: `c:<category>`, `x:<certification>`, `p:<price bucket>`), and one
# grouped query counts the tokens of the hits. Every document has exactly one price token,
# so the total is the sum of the price counts.
_SEARCH = """
SELECT
    {page} AS items,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(token, n)), '[]'::jsonb)
     FROM (SELECT token, count(*) AS n FROM {table}{tsquery}, unnest(facets) AS token
           WHERE {where} GROUP BY token) AS f) AS facets
"""
# With words, matching and ranking are the cost: each row is matched and ranked once, into
# the hits, and both the page and the facets are taken from them.
_SEARCH_WORDS = """
WITH hits AS MATERIALIZED (
    SELECT sku, name, price, available, certifications, carbon_footprint_kg, stocked, score,
           rating, rating_count, listed_at, footprint, facets, ts_rank(document, tsq) AS rank
    FROM {table}{tsquery} WHERE {where}
)
SELECT
    {page} AS items,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(token, n)), '[]'::jsonb)
     FROM (SELECT token, count(*) AS n FROM hits, unnest(facets) AS token
           GROUP BY token) AS f) AS facets
"""
# No words and no filter (a shopper's first look): the facets of the whole generation are
# kept as documents are written (`search_facets_<generation>`), so nothing is counted.
_SEARCH_ALL = """
SELECT
    {page} AS items,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(value, n)), '[]'::jsonb) FROM {facets})
        AS facets
"""
_FACETS_OLD = "SELECT id, name, facets FROM {table} WHERE id = ANY(%s::text[])"
_FACETS_ADD = """
INSERT INTO {facets} AS f (value, n) VALUES (%s, %s)
ON CONFLICT (value) DO UPDATE SET n = f.n + EXCLUDED.n
"""

# `sort=` -> ORDER BY; every order ends on the SKU (byte order), so pages are stable.
_ORDERS = {
    "relevance": "rank DESC",  # without words: by SKU alone (see `search`)
    "price_asc": "price ASC",
    "price_desc": "price DESC",
    "newest": "listed_at DESC NULLS LAST",
    "rating": "rating DESC NULLS LAST, rating_count DESC",
    "footprint": "footprint ASC NULLS LAST",
    "score": "score DESC NULLS LAST",
}

# Suggestions: exact prefixes, then one typo among the entries that share the first letter.
# Both walk the primary key (`entry` in byte order) and stop after `limit` rows: a prefix
# `p` of folded words ([a-z0-9 ] only) is the range `[p, p + "~")`, as "~" sorts after them
# all (a range, not LIKE, so a prepared statement's generic plan still uses the index).
# Products come in the order of their first matching entry; a product matching by several
# entries is counted once, in Python, which asks for more rows when duplicates left it short.
_SUGGEST_EXACT = """
SELECT s.entry, p.id, p.sku, p.name
FROM (SELECT entry, id FROM {suggest} WHERE entry >= %(low)s AND entry < %(high)s
      ORDER BY entry, id LIMIT %(limit)s) AS s
JOIN {products} AS p USING (id)
ORDER BY s.entry, s.id
"""
# One edit spoils one half of the query at most: a match starts with the query's first half
# (an index range), or holds its second half where it would be after an edit in the first
# (one place back, the same, one on). Cheap tests that spare most rows the Levenshtein
# distance.
_SUGGEST_TYPO = """
SELECT s.entry, p.id, p.sku, p.name
FROM (SELECT entry, id FROM {suggest}
      WHERE entry >= %(first)s AND entry < %(first_high)s
        AND ((entry >= %(head)s AND entry < %(head_high)s)
             OR substr(entry, %(at_shorter)s, %(tail_length)s) = %(tail)s
             OR substr(entry, %(at_same)s, %(tail_length)s) = %(tail)s
             OR substr(entry, %(at_longer)s, %(tail_length)s) = %(tail)s)
        AND (levenshtein_less_equal(left(entry, %(shorter)s), %(q)s, 1) <= 1
             OR levenshtein_less_equal(left(entry, %(same)s), %(q)s, 1) <= 1
             OR levenshtein_less_equal(left(entry, %(longer)s), %(q)s, 1) <= 1)
      ORDER BY entry, id LIMIT %(limit)s) AS s
JOIN {products} AS p USING (id)
ORDER BY s.entry, s.id
"""
# Without fuzzystrmatch: the same candidates, checked in Python.
_SUGGEST_CANDIDATES = """
SELECT s.entry, p.id, p.sku, p.name
FROM (SELECT entry, id FROM {suggest}
      WHERE entry >= %(first)s AND entry < %(first_high)s
        AND ((entry >= %(head)s AND entry < %(head_high)s)
             OR substr(entry, %(at_shorter)s, %(tail_length)s) = %(tail)s
             OR substr(entry, %(at_same)s, %(tail_length)s) = %(tail)s
             OR substr(entry, %(at_longer)s, %(tail_length)s) = %(tail)s)
      ORDER BY entry, id) AS s
JOIN {products} AS p USING (id)
ORDER BY s.entry, s.id
"""
_AFTER_WORDS = "~"
_SUGGEST_WRITE = """
WITH gone AS (DELETE FROM {suggest} WHERE id = %(id)s AND NOT entry = ANY(%(entries)s::text[]))
INSERT INTO {suggest} (entry, id) SELECT unnest(%(entries)s::text[]), %(id)s
ON CONFLICT DO NOTHING
"""


def fold_accents(text: str) -> str:
    """`Orgânica` -> `Organica`: decompose, then drop the combining marks."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _products_table(generation: str) -> sql.Identifier:
    return sql.Identifier(f"search_products_{generation}")


def _suggest_table(generation: str) -> sql.Identifier:
    return sql.Identifier(f"search_suggest_{generation}")


def _state_table(generation: str) -> sql.Identifier:
    return sql.Identifier(f"search_state_{generation}")


def _facets_table(generation: str) -> sql.Identifier:
    return sql.Identifier(f"search_facets_{generation}")


def _bucket_of(price: Decimal) -> int:
    """The index into `PRICE_RANGES` of a price (from inclusive, to exclusive), taken on
    the stored price (`numeric(12, 2)`: cents, half away from zero)."""
    price = price.quantize(_CENTS, rounding=ROUND_HALF_UP)
    for i, (_low, high) in enumerate(PRICE_RANGES):
        if high is not None and price < high:
            return i
    return len(PRICE_RANGES) - 1


def facet_tokens(
    category_facets: list[str], certifications: list[str], price: Decimal
) -> list[str]:
    """What one document counts for in the facets, each array element once (as the
    facets have always counted them), and exactly one price bucket."""
    return [
        *(f"c:{c}" for c in category_facets),
        *(f"x:{c}" for c in certifications),
        f"p:{_bucket_of(price)}",
    ]


def _top(counts: dict[str, int]) -> dict[str, int]:
    """Most frequent first, ties by value in byte order (code point order is UTF-8's byte
    order), at most `FACET_LIMIT`."""
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return dict(ranked[:FACET_LIMIT])


def facets_of(tokens: list[list[Any]]) -> tuple[int, dict[str, dict[str, int]]]:
    """The total and the three facets from counted tokens."""
    groups: dict[str, dict[str, int]] = {"c": {}, "x": {}, "p": {}}
    for token, n in tokens:
        kind, _, value = str(token).partition(":")
        groups[kind][value] = int(n)
    prices = sorted((int(bucket), n) for bucket, n in groups["p"].items())
    return sum(groups["p"].values()), {
        "category": _top(groups["c"]),
        "certification": _top(groups["x"]),
        "price": {price_range_key(*PRICE_RANGES[bucket]): n for bucket, n in prices},
    }


def _tsquery(words: list[str], synonyms: Synonyms, params: dict[str, Any]) -> sql.Composable:
    """Every word required; a word in a synonym group matches any word of the group. The
    words go in `params`, never into the statement's text: a `%` the shopper typed would
    read as a placeholder beside the statement's own (`%(config)s`)."""

    def term(w: str) -> sql.Composable:
        name = f"w{len(params)}"
        params[name] = w
        return sql.SQL("plainto_tsquery(%(config)s::regconfig, {})").format(sql.Placeholder(name))

    terms = [
        sql.SQL("({})").format(sql.SQL(" || ").join(term(w) for w in synonyms.of_word(word)))
        for word in words
    ]
    return sql.SQL(" && ").join(terms)


class PostgresSearchIndex(SearchIndex):
    """One generation's table. Thread-safe: every call takes its own pooled connection
    (but `apply` with `expected`, a live runner's, is for that runner's thread only)."""

    # A write can name the position it expects the generation at (`apply(..., expected)`),
    # so a live runner may keep documents in memory (infrastructure/runtime/live_batch.py).
    checks_expected = True
    _expected: tuple[int, int] | None = None

    def __init__(
        self,
        pool: ConnectionPool,
        generation: str,
        config: str,
        fold: Callable[[str], str],
        *,
        follow_active: bool = False,
        synonyms: Synonyms = DEFAULT_SYNONYMS,
        levenshtein: bool = True,
    ):
        self.pool = pool
        self.generation = check_generation(generation)
        self.table = _products_table(generation)
        self.suggest_table = _suggest_table(generation)
        self.state_table = _state_table(generation)
        self.facets_table = _facets_table(generation)
        self.config = config
        self.fold = fold
        self.follow_active = follow_active
        self.synonyms = synonyms
        self.levenshtein = levenshtein

    def get(self, key: str) -> Document | None:
        if is_state_key(key):
            with self.pool.connection() as conn:
                found = conn.execute(sql.SQL(_STATE_GET).format(state=self.state_table), (key,))
                state = found.fetchone()
            return dict(state[0]) if state is not None else None
        product_id = key
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql.SQL(_GET).format(table=self.table), (product_id,))
            row = cur.fetchone()
        if row is None:
            return None
        doc = dict(row)
        return {**doc, **doc.pop("product")}

    def apply(
        self, changes: list[Change], tracking: Tracking, expected: tuple[int, int] | None = None
    ) -> None:
        """`expected`: the position (first of the pair) the runner last wrote; any other
        refuses the write (`PositionMovedError`). A write of the position alone (a drain
        of events that change no product: carts, orders, payments) is one statement."""
        if not changes and self._advance(tracking, expected):
            return
        self._expected = expected
        try:
            super().apply(changes, tracking)
        finally:
            self._expected = None

    def _advance(self, tracking: Tracking, expected: tuple[int, int] | None) -> bool:
        """Move the position alone, in ONE statement (autocommit: no BEGIN, no COMMIT),
        when everything `upsert` would check holds; False otherwise (upsert then says why:
        a moved generation, a position moved or already past, a missing generation)."""
        params = {
            "position": tracking.notification_id,
            "name": tracking.application_name,
            "generation": self.generation,
            "expected": expected[0] if expected is not None else None,
            "follow": self.follow_active,
            "default": DEFAULT_GENERATION,
        }
        with self.pool.connection() as conn:
            conn.autocommit = True
            try:
                moved = conn.execute(_ADVANCE, params).rowcount
            finally:
                conn.autocommit = False
        return moved == 1

    def upsert(
        self,
        docs_to_upsert: list[Document],
        tracking: Tracking,
        states: dict[str, Document | None] | None = None,
    ) -> None:
        ids = [doc["id"] for doc in docs_to_upsert]
        # Pipelined: the checks and the old facets go out in ONE round trip (with BEGIN),
        # the writes and COMMIT in another, instead of one round trip per statement.
        with self.pool.connection() as conn, conn.pipeline(), conn.transaction():
            active = conn.execute(_ACTIVE) if self.follow_active else None
            # The generation's row is locked until commit: writers of one generation take
            # turns, and the check below sees the latest committed position.
            position = conn.execute(_LOCK_POSITION, (self.generation,))
            old = conn.cursor()
            if ids:
                old.execute(sql.SQL(_FACETS_OLD).format(table=self.table), (ids,))
            if active is not None:
                self._check_still_active(active.fetchone())
            row = position.fetchone()
            if row is None:
                raise LookupError(f"search generation {self.generation!r} does not exist")
            expected = self._expected
            if expected is not None and (row[0] or 0) != expected[0]:
                raise PositionMovedError(f"search position moved to {row[0]}")
            if row[0] is not None and tracking.notification_id <= row[0]:
                return  # already applied: a replay changes nothing
            upserts = [doc for doc in docs_to_upsert if not is_removal(doc)]
            removals = [(doc["id"],) for doc in docs_to_upsert if is_removal(doc)]
            rows = [self._row(doc) for doc in upserts]
            with conn.cursor() as cur:
                names = self._count_facets(cur, rows, old.fetchall() if ids else [])
                if rows:
                    cur.executemany(sql.SQL(_UPSERT).format(table=self.table), rows)
                self._write_suggestions(cur, upserts, removals, names)
                if removals:
                    delete = sql.SQL("DELETE FROM {table} WHERE id = %s")
                    cur.executemany(delete.format(table=self.table), removals)
                self._write_states(cur, states or {})
            conn.execute(
                "UPDATE search_generations SET notification_id = %s, application_name = %s"
                " WHERE generation = %s",
                (tracking.notification_id, tracking.application_name, self.generation),
            )

    def _write_suggestions(
        self,
        cur: psycopg.Cursor[Any],
        upserts: list[Document],
        removals: list[tuple[str]],
        names: dict[str, str],
    ) -> None:
        """Each product's entries made those of its current name, in one statement each
        that changes nothing when the name did not change; none at all for a product whose
        stored name (`names`, before this write) is its name still: its entries, written
        with that name, are these (most writes move stock only)."""
        if removals:
            delete = sql.SQL("DELETE FROM {suggest} WHERE id = %s")
            cur.executemany(delete.format(suggest=self.suggest_table), removals)
        renamed = [
            (doc["id"], name)
            for doc in upserts
            if names.get(doc["id"]) != (name := str(doc["name"]).replace("\x00", ""))
        ]
        if renamed:
            cur.executemany(
                sql.SQL(_SUGGEST_WRITE).format(suggest=self.suggest_table),
                [
                    {"id": product_id, "entries": indexed({"name": name}).suggest}
                    for product_id, name in renamed
                ],
            )

    def _count_facets(
        self, cur: psycopg.Cursor[Any], rows: list[dict[str, Any]], old: list[tuple[Any, ...]]
    ) -> dict[str, str]:
        """Move the generation's facet counts from what the written (or removed) documents
        counted for (`old`: their stored id, name and facets) to what they count for now,
        before they are written. Most writes move stock only: their counts cancel out and
        nothing is written. The stored names of the documents, by id."""
        delta: Counter[str] = Counter()
        names: dict[str, str] = {}
        for product_id, name, tokens in old:
            names[str(product_id)] = str(name)
            delta.subtract(tokens)
        for row in rows:
            delta.update(row["facets"])
        moved = [(token, n) for token, n in delta.items() if n]
        if not moved:
            return names
        cur.executemany(sql.SQL(_FACETS_ADD).format(facets=self.facets_table), moved)
        if any(n < 0 for _token, n in moved):
            cur.execute(sql.SQL("DELETE FROM {} WHERE n = 0").format(self.facets_table))
        return names

    def _write_states(self, cur: psycopg.Cursor[Any], states: dict[str, Document | None]) -> None:
        """The projector's own state, in the transaction of the documents it shaped."""
        puts = [(key, Jsonb(doc)) for key, doc in states.items() if doc is not None]
        gone = [(key,) for key, doc in states.items() if doc is None]
        if puts:
            cur.executemany(sql.SQL(_STATE_PUT).format(state=self.state_table), puts)
        if gone:
            delete = sql.SQL("DELETE FROM {state} WHERE key = %s")
            cur.executemany(delete.format(state=self.state_table), gone)

    def _check_still_active(self, row: tuple[Any, ...] | None) -> None:
        """`row`: `_ACTIVE`'s, read in the write's transaction. FOR SHARE: once a
        generation has been activated, an `activate` waits for this write to commit, so no
        write to the old generation commits after the swap. (Before the first `activate`
        there is no row to lock; the runner notices at its next write, and loses nothing:
        the new generation follows the log from its own position.)"""
        active = str(row[0]) if row is not None else DEFAULT_GENERATION
        if active != self.generation:
            raise GenerationMovedError(f"search generation moved to {active}")

    def _row(self, doc: Document) -> dict[str, Any]:
        # PostgreSQL text cannot hold NUL; an event may (the edge refuses it, older data or
        # other writers may not), and a row it cannot store would stop the runner for good.
        doc = {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in doc.items()}
        derived = indexed(doc)
        category_facets = [c.replace("\x00", "") for c in derived.category_path]
        certifications = [c.replace("\x00", "") for c in doc["certifications"]]
        price = Decimal(doc["price"])
        return {
            **{key: doc[key] for key in ("id", "sku", "name", "description", "category")},
            "product": Jsonb(given(doc)),
            "category_facets": category_facets,
            "facets": facet_tokens(category_facets, certifications, price),
            "category_keys": [c.replace("\x00", "") for c in derived.category_keys],
            "certification_keys": [c.replace("\x00", "") for c in derived.certification_keys],
            "score": derived.sustainability_score,
            "rating": derived.rating_average,
            "rating_count": derived.rating_count,
            "listed_at": derived.created_at,
            "stocked": derived.in_stock,
            "footprint": derived.footprint_kg,
            "price": price,
            "available": int(doc["available"]),
            "certifications": certifications,
            "carbon_footprint_kg": doc["carbon_footprint_kg"],
            "version": int(doc["version"]),
            "config": self.config,
            "name_text": self.fold(doc["name"]),
            "category_text": self.fold(doc["category"]),
            "description_text": self.fold(doc["description"]),
        }

    def max_tracking_id(self, application_name: str) -> int | None:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT notification_id FROM search_generations WHERE generation = %s",
                (self.generation,),
            ).fetchone()
        return int(row[0]) if row is not None and row[0] is not None else None

    def search(self, query: SearchQuery) -> SearchResult:
        where, params = self._filters(query)
        # Split on spaces only: PostgreSQL's parser reads each token as it read the
        # document (`ECO-1` stays `eco` and `-1`, as `to_tsvector` indexed it).
        words = fold_key(self.fold(query.q)).split() if query.q is not None else []
        tsquery: sql.Composable = sql.SQL("")
        if words:
            tsquery = sql.SQL(", (SELECT {}) AS query(tsq)").format(
                _tsquery(words, self.synonyms, params)
            )
            where.append(sql.SQL("document @@ tsq"))
        # Without words every rank is 0: order by the SKU alone, which its index serves.
        ordering = _ORDERS[query.sort] + ", " if words or query.sort != "relevance" else ""
        order = sql.SQL(ordering + 'sku COLLATE "C"')
        if words:  # matched and ranked once, into the hits; page and facets from them
            statement = sql.SQL(_SEARCH_WORDS).format(
                table=self.table,
                tsquery=tsquery,
                where=sql.SQL(" AND ").join(where),
                page=sql.SQL(_PAGE).format(
                    table=sql.Identifier("hits"),
                    tsquery=sql.SQL(""),
                    where=sql.SQL("TRUE"),
                    rank=sql.SQL("rank"),
                    order=order,
                ),
            )
        else:  # the page straight from the table, through the sort's index
            page = sql.SQL(_PAGE).format(
                table=self.table,
                tsquery=tsquery,
                where=sql.SQL(" AND ").join(where),
                rank=sql.SQL("0"),
                order=order,
            )
            if len(where) == 1:  # `TRUE` alone: no words, no filter
                statement = sql.SQL(_SEARCH_ALL).format(page=page, facets=self.facets_table)
            else:
                statement = sql.SQL(_SEARCH).format(
                    table=self.table,
                    tsquery=tsquery,
                    where=sql.SQL(" AND ").join(where),
                    page=page,
                )
        params.update(limit=query.size, offset=query.offset)
        with self.pool.connection() as conn:
            row = conn.execute(statement, params).fetchone()
        assert row is not None  # an aggregate query always answers one row
        items, tokens = row
        total, facets = facets_of(tokens)
        return SearchResult(total=total, items=[_hit(item) for item in items], facets=facets)

    def _filters(self, query: SearchQuery) -> tuple[list[sql.Composable], dict[str, Any]]:
        where: list[sql.Composable] = [sql.SQL("TRUE")]
        params: dict[str, Any] = {"config": self.config}
        if query.category is not None:
            where.append(sql.SQL("category_keys @> ARRAY[%(category)s]::text[]"))
            params["category"] = fold_key(query.category)
        if query.certification is not None:
            where.append(sql.SQL("certification_keys @> ARRAY[%(certification)s]::text[]"))
            params["certification"] = fold_key(query.certification)
        if query.min_price is not None:
            where.append(sql.SQL("price >= %(min_price)s"))
            params["min_price"] = query.min_price
        if query.max_price is not None:
            where.append(sql.SQL("price <= %(max_price)s"))
            params["max_price"] = query.max_price
        if query.in_stock:
            where.append(sql.SQL("stocked"))
        return where, params

    def suggest(self, query: SuggestQuery) -> list[Suggestion]:
        q = query.folded
        if not q:
            return []
        tables = {"products": self.table, "suggest": self.suggest_table}
        found: dict[str, Suggestion] = {}
        with self.pool.connection() as conn:
            exact = {"low": q, "high": q + _AFTER_WORDS}
            self._collect(conn, sql.SQL(_SUGGEST_EXACT).format(**tables), exact, found, query)
            if len(found) < query.size and len(q) >= SUGGEST_FUZZY_MIN_LENGTH:
                self._collect_typos(conn, tables, q, found, query)
        return list(found.values())[: query.size]

    @staticmethod
    def _collect(
        conn: psycopg.Connection[Any],
        statement: sql.Composed,
        params: dict[str, Any],
        found: dict[str, Suggestion],
        query: SuggestQuery,
    ) -> None:
        """Add products in entry order until `query.size` are found or rows run out."""
        limit = query.size * 4
        while True:
            rows = conn.execute(statement, {**params, "limit": limit}).fetchall()
            for _entry, product_id, sku, name in rows:
                found.setdefault(str(product_id), Suggestion(sku=str(sku), name=str(name)))
            if len(found) >= query.size or len(rows) < limit:
                return
            limit *= 4  # duplicates (one product, several entries) left it short

    def _collect_typos(
        self,
        conn: psycopg.Connection[Any],
        tables: dict[str, sql.Identifier],
        q: str,
        found: dict[str, Suggestion],
        query: SuggestQuery,
    ) -> None:
        half = len(q) // 2
        params: dict[str, Any] = {
            "first": q[0],
            "first_high": q[0] + _AFTER_WORDS,
            "head": q[:half],
            "head_high": q[:half] + _AFTER_WORDS,
            "tail": q[half:],
            "tail_length": len(q) - half,
            # 1-based: the second half after a deletion, a substitution, an insertion
            "at_shorter": half,
            "at_same": half + 1,
            "at_longer": half + 2,
            "q": q,
            "shorter": len(q) - 1,
            "same": len(q),
            "longer": len(q) + 1,
        }
        if self.levenshtein:
            self._collect(conn, sql.SQL(_SUGGEST_TYPO).format(**tables), params, found, query)
            return
        rows = conn.execute(sql.SQL(_SUGGEST_CANDIDATES).format(**tables), params).fetchall()
        for entry, product_id, sku, name in rows:
            if len(found) >= query.size:
                return
            if suggests(q, str(entry)):
                found.setdefault(str(product_id), Suggestion(sku=str(sku), name=str(name)))


def _hit(item: dict[str, Any]) -> ProductHit:
    rating = item.get("rating_average")
    return ProductHit(
        sku=item["sku"],
        name=item["name"],
        price=Decimal(item["price"]),
        available=int(item["available"]),
        certifications=list(item["certifications"]),
        carbon_footprint_kg=item["carbon_footprint_kg"],
        in_stock=bool(item["in_stock"]),
        sustainability_score=item.get("sustainability_score"),
        rating_average=Decimal(rating) if rating is not None else None,
        rating_count=int(item.get("rating_count") or 0),
    )


def _identity(text: str) -> str:
    return text


class PostgresSearchStore:
    """The generations of the product index in one PostgreSQL database."""

    def __init__(
        self,
        database_url: str,
        *,
        pool_size: int = 4,
        use_unaccent: bool = True,
        use_fuzzystrmatch: bool = True,
        read_only: bool = False,
        synonyms: Synonyms = DEFAULT_SYNONYMS,
    ):
        """`use_unaccent=False` skips the extension and folds accents in Python, as happens
        on a server where `unaccent` is missing or may not be installed; likewise
        `use_fuzzystrmatch=False` checks suggestions' typos in Python. `read_only` (CLI
        reads): no DDL at all; what exists is used as it is."""
        self.pool = ConnectionPool(
            database_url, min_size=1, max_size=max(pool_size, 1), open=True, name="search"
        )
        self.read_only = read_only
        self.synonyms = synonyms
        self._opened: set[str] = set()
        self._lock = threading.Lock()
        try:
            if read_only:
                self.unaccent = self._existing_config()
                self.levenshtein = use_fuzzystrmatch and self._has_levenshtein()
            else:
                self.unaccent, self.levenshtein = self._setup(use_unaccent, use_fuzzystrmatch)
        except Exception:
            self.pool.close()
            raise
        self.config = CONFIG_WITH_UNACCENT if self.unaccent else CONFIG_WITHOUT_UNACCENT
        self.fold: Callable[[str], str] = _identity if self.unaccent else fold_accents

    def _setup(self, use_unaccent: bool, use_fuzzystrmatch: bool) -> tuple[bool, bool]:
        """Create the bookkeeping tables, the accent-folding text search configuration and
        the typo distance, in one locked transaction; whether `unaccent` does the folding
        and `fuzzystrmatch` the distance (else Python does)."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            conn.execute(_SETUP)
            unaccent = use_unaccent and _install_unaccent(conn)
            if unaccent:
                _create_config(conn)
            levenshtein = use_fuzzystrmatch and _install_extension(conn, "fuzzystrmatch")
        return unaccent, levenshtein

    def _has_levenshtein(self) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_extension WHERE extname = 'fuzzystrmatch'"
            ).fetchone()
        return row is not None

    def _existing_config(self) -> bool:
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_ts_config WHERE cfgname = %s", (CONFIG_WITH_UNACCENT,)
            ).fetchone()
        return row is not None

    def active_generation(self) -> str:
        with self.pool.connection() as conn:
            row = conn.execute("SELECT generation FROM search_active").fetchone()
        return str(row[0]) if row is not None else DEFAULT_GENERATION

    def open(self, generation: str, *, follow_active: bool = False) -> PostgresSearchIndex:
        check_generation(generation)
        with self._lock:
            if generation not in self._opened and not self.read_only:
                self._create(generation)
                self._opened.add(generation)
        return PostgresSearchIndex(
            self.pool,
            generation,
            self.config,
            self.fold,
            follow_active=follow_active,
            synonyms=self.synonyms,
            levenshtein=self.levenshtein,
        )

    def _create(self, generation: str) -> None:
        table = f"search_products_{generation}"
        ddl = sql.SQL(_PRODUCTS).format(
            table=sql.Identifier(table),
            document_index=sql.Identifier(f"{table}_document"),
            certifications_index=sql.Identifier(f"{table}_certkeys"),
            category_index=sql.Identifier(f"{table}_catkeys"),
            suggest_table=_suggest_table(generation),
            suggest_id_index=sql.Identifier(f"search_suggest_{generation}_id"),
            state_table=_state_table(generation),
            facets_table=_facets_table(generation),
            **{name: sql.Identifier(f"{table}_{suffix}") for name, suffix in _SORT_INDEXES.items()},
        )
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            outdated = {
                "table": table,
                "state": f"search_state_{generation}",
                "facets": f"search_facets_{generation}",
            }
            if conn.execute(_OUTDATED, outdated).fetchone() == (True,):
                log.warning("search table %s has an older schema: refilled from the log", table)
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))
                for stale in (_suggest_table, _state_table, _facets_table):
                    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(stale(generation)))
                conn.execute(
                    "UPDATE search_generations SET notification_id = NULL WHERE generation = %s",
                    (generation,),
                )
            conn.execute(ddl)
            conn.execute(
                "INSERT INTO search_generations (generation) VALUES (%s)"
                " ON CONFLICT (generation) DO NOTHING",
                (generation,),
            )

    def activate(self, generation: str) -> None:
        check_generation(generation)
        with self.pool.connection() as conn, conn.transaction():
            exists = conn.execute(
                "SELECT 1 FROM search_generations WHERE generation = %s", (generation,)
            ).fetchone()
            if exists is None:
                raise LookupError(f"search generation {generation!r} does not exist")
            conn.execute(
                "INSERT INTO search_active (singleton, generation) VALUES (true, %s)"
                " ON CONFLICT (singleton) DO UPDATE SET generation = EXCLUDED.generation",
                (generation,),
            )

    def drop(self, generation: str) -> None:
        check_generation(generation)
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            # Locks the active row, so an `activate` of this generation cannot slip in.
            active = conn.execute("SELECT generation FROM search_active FOR UPDATE").fetchone()
            if (active[0] if active else DEFAULT_GENERATION) == generation:
                raise ValueError(f"search generation {generation!r} is active; activate another")
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_products_table(generation)))
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_suggest_table(generation)))
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_state_table(generation)))
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_facets_table(generation)))
            conn.execute("DELETE FROM search_generations WHERE generation = %s", (generation,))
        with self._lock:
            self._opened.discard(generation)

    def generations(self) -> list[str]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT generation FROM search_generations ORDER BY created_at, generation"
            ).fetchall()
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        self.pool.close()


def _install_unaccent(conn: psycopg.Connection[Any]) -> bool:
    """Install `unaccent` if we may; without it search still works (folded in Python)."""
    return _install_extension(conn, "unaccent")


def _install_extension(conn: psycopg.Connection[Any], name: str) -> bool:
    """Install a contrib extension if we may; without it the Python fallback does its work."""
    try:
        with conn.transaction():  # a savepoint: a refusal must not abort the setup
            conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(name)))
    except psycopg.Error as error:
        log.warning("%s is not available (%s); doing its work in Python", name, error)
        return False
    return True


def _create_config(conn: psycopg.Connection[Any]) -> None:
    exists = conn.execute(
        "SELECT 1 FROM pg_ts_config WHERE cfgname = %s"
        " AND cfgnamespace = current_schema()::regnamespace",
        (CONFIG_WITH_UNACCENT,),
    ).fetchone()
    if exists:
        return
    name = sql.Identifier(CONFIG_WITH_UNACCENT)
    conn.execute(
        sql.SQL("CREATE TEXT SEARCH CONFIGURATION {} (COPY = pg_catalog.portuguese)").format(name)
    )
    # unaccent first, then the Portuguese stemmer (with its stop words) on the folded word.
    conn.execute(
        sql.SQL(
            "ALTER TEXT SEARCH CONFIGURATION {} ALTER MAPPING FOR hword, hword_part, word"
            " WITH unaccent, portuguese_stem"
        ).format(name)
    )
