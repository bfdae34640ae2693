"""Product search in PostgreSQL: the embedded default behind the `SearchIndex` port.

Each generation is a table `search_products_<generation>` with a weighted `tsvector`
(name A, category B, description C) under a GIN index; ranking is `ts_rank`. Accents are
ignored: the text search configuration `ecovarejo_pt` is `portuguese` with the `unaccent`
dictionary in front of the stemmer, so `organica` finds `Orgânica` and `cafe` finds `Café`.
Where the `unaccent` extension cannot be installed, the plain `portuguese` configuration is
used and text is folded in Python before it reaches PostgreSQL, on both the indexing and the
query side, so the behaviour is the same.

`search_generations` has one row per generation holding its log position: a write updates
that row and the documents in one transaction, and only if the position is new. The
active generation is the one row of `search_active`; `activate` swaps it in one statement.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
from eventsourcing.persistence import Tracking
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from projections.base import DEFAULT_GENERATION, GenerationMovedError
from projections.search import (
    FACET_LIMIT,
    Document,
    ProductHit,
    SearchIndex,
    SearchQuery,
    SearchResult,
    check_generation,
    is_removal,
)

log = logging.getLogger(__name__)

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
    document tsvector NOT NULL
);
CREATE INDEX IF NOT EXISTS {document_index} ON {table} USING gin (document);
CREATE INDEX IF NOT EXISTS {certifications_index} ON {table} USING gin (certifications);
CREATE INDEX IF NOT EXISTS {category_index} ON {table} (category);
"""

_UPSERT = """
INSERT INTO {table} AS t (id, sku, name, description, category, price, available,
                          certifications, carbon_footprint_kg, version, document)
VALUES (%(id)s, %(sku)s, %(name)s, %(description)s, %(category)s, %(price)s, %(available)s,
        %(certifications)s, %(carbon_footprint_kg)s, %(version)s,
        setweight(to_tsvector(%(config)s::regconfig, %(name_text)s), 'A')
        || setweight(to_tsvector(%(config)s::regconfig, %(category_text)s), 'B')
        || setweight(to_tsvector(%(config)s::regconfig, %(description_text)s), 'C'))
ON CONFLICT (id) DO UPDATE SET
    sku = EXCLUDED.sku, name = EXCLUDED.name, description = EXCLUDED.description,
    category = EXCLUDED.category, price = EXCLUDED.price, available = EXCLUDED.available,
    certifications = EXCLUDED.certifications,
    carbon_footprint_kg = EXCLUDED.carbon_footprint_kg, version = EXCLUDED.version,
    document = EXCLUDED.document
"""

_GET = """
SELECT id, sku, name, description, category, price::text AS price, available,
       certifications, carbon_footprint_kg, version
FROM {table} WHERE id = %s
"""

# One statement, so total, page and facets come from one snapshot. Ties are broken by SKU
# (and facet values by name) in byte order, as Elasticsearch sorts keywords.
_SEARCH = """
WITH hits AS (
    SELECT sku, name, category, price, available, certifications, carbon_footprint_kg,
           {rank} AS rank
    FROM {table} WHERE {where}
)
SELECT
    (SELECT count(*) FROM hits) AS total,
    (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'sku', sku, 'name', name, 'price', price::text, 'available', available,
                'certifications', to_jsonb(certifications),
                'carbon_footprint_kg', carbon_footprint_kg)
            ORDER BY rank DESC, sku COLLATE "C"), '[]'::jsonb)
     FROM (SELECT * FROM hits ORDER BY rank DESC, sku COLLATE "C"
           LIMIT %(limit)s OFFSET %(offset)s) AS page) AS items,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(value, n)
            ORDER BY n DESC, value COLLATE "C"), '[]'::jsonb)
     FROM (SELECT category AS value, count(*) AS n FROM hits GROUP BY category
           ORDER BY n DESC, category COLLATE "C" LIMIT %(facet_limit)s) AS f) AS category,
    (SELECT coalesce(jsonb_agg(jsonb_build_array(value, n)
            ORDER BY n DESC, value COLLATE "C"), '[]'::jsonb)
     FROM (SELECT c AS value, count(*) AS n FROM hits, unnest(certifications) AS c
           GROUP BY c ORDER BY n DESC, c COLLATE "C" LIMIT %(facet_limit)s) AS f)
        AS certification
"""


def fold_accents(text: str) -> str:
    """`Orgânica` -> `Organica`: decompose, then drop the combining marks."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _products_table(generation: str) -> sql.Identifier:
    return sql.Identifier(f"search_products_{generation}")


class PostgresSearchIndex(SearchIndex):
    """One generation's table. Thread-safe: every call takes its own pooled connection."""

    def __init__(
        self,
        pool: ConnectionPool,
        generation: str,
        config: str,
        fold: Callable[[str], str],
        *,
        follow_active: bool = False,
    ):
        self.pool = pool
        self.generation = check_generation(generation)
        self.table = _products_table(generation)
        self.config = config
        self.fold = fold
        self.follow_active = follow_active

    def get(self, key: str) -> Document | None:
        product_id = key
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql.SQL(_GET).format(table=self.table), (product_id,))
            row = cur.fetchone()
        return dict(row) if row is not None else None

    def upsert(self, docs_to_upsert: list[Document], tracking: Tracking) -> None:
        with self.pool.connection() as conn, conn.transaction():
            if self.follow_active:
                self._check_still_active(conn)
            # The generation's row is locked until commit: writers of one generation take
            # turns, and the check below sees the latest committed position.
            row = conn.execute(
                "SELECT notification_id FROM search_generations WHERE generation = %s FOR UPDATE",
                (self.generation,),
            ).fetchone()
            if row is None:
                raise LookupError(f"search generation {self.generation!r} does not exist")
            if row[0] is not None and tracking.notification_id <= row[0]:
                return  # already applied: a replay changes nothing
            upserts = [doc for doc in docs_to_upsert if not is_removal(doc)]
            removals = [(doc["id"],) for doc in docs_to_upsert if is_removal(doc)]
            with conn.cursor() as cur:
                if upserts:
                    cur.executemany(
                        sql.SQL(_UPSERT).format(table=self.table),
                        [self._row(doc) for doc in upserts],
                    )
                if removals:
                    delete = sql.SQL("DELETE FROM {table} WHERE id = %s")
                    cur.executemany(delete.format(table=self.table), removals)
            conn.execute(
                "UPDATE search_generations SET notification_id = %s, application_name = %s"
                " WHERE generation = %s",
                (tracking.notification_id, tracking.application_name, self.generation),
            )

    def _check_still_active(self, conn: psycopg.Connection[Any]) -> None:
        # FOR SHARE: once a generation has been activated, an `activate` waits for this
        # write to commit, so no write to the old generation commits after the swap. (Before
        # the first `activate` there is no row to lock; the runner notices at its next write,
        # and loses nothing: the new generation follows the log from its own position.)
        row = conn.execute("SELECT generation FROM search_active FOR SHARE").fetchone()
        active = str(row[0]) if row is not None else DEFAULT_GENERATION
        if active != self.generation:
            raise GenerationMovedError(f"search generation moved to {active}")

    def _row(self, doc: Document) -> dict[str, Any]:
        # PostgreSQL text cannot hold NUL; an event may (the edge refuses it, older data or
        # other writers may not), and a row it cannot store would stop the runner for good.
        doc = {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in doc.items()}
        return {
            **{key: doc[key] for key in ("id", "sku", "name", "description", "category")},
            "price": Decimal(doc["price"]),
            "available": int(doc["available"]),
            "certifications": [c.replace("\x00", "") for c in doc["certifications"]],
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
        rank = (
            sql.SQL("ts_rank(document, plainto_tsquery(%(config)s::regconfig, %(q)s))")
            if query.q is not None
            else sql.SQL("0")
        )
        statement = sql.SQL(_SEARCH).format(
            table=self.table, where=sql.SQL(" AND ").join(where), rank=rank
        )
        params.update(limit=query.size, offset=query.offset, facet_limit=FACET_LIMIT)
        with self.pool.connection() as conn:
            row = conn.execute(statement, params).fetchone()
        assert row is not None  # an aggregate query always answers one row
        total, items, categories, certifications = row
        return SearchResult(
            total=int(total),
            items=[_hit(item) for item in items],
            facets={
                "category": {name: int(n) for name, n in categories},
                "certification": {name: int(n) for name, n in certifications},
            },
        )

    def _filters(self, query: SearchQuery) -> tuple[list[sql.Composable], dict[str, Any]]:
        where: list[sql.Composable] = [sql.SQL("TRUE")]
        params: dict[str, Any] = {"config": self.config}
        if query.q is not None:
            where.append(sql.SQL("document @@ plainto_tsquery(%(config)s::regconfig, %(q)s)"))
            params["q"] = self.fold(query.q)
        if query.category is not None:
            where.append(sql.SQL("category = %(category)s"))
            params["category"] = query.category
        if query.certification is not None:
            where.append(sql.SQL("certifications @> ARRAY[%(certification)s]::text[]"))
            params["certification"] = query.certification
        if query.min_price is not None:
            where.append(sql.SQL("price >= %(min_price)s"))
            params["min_price"] = query.min_price
        if query.max_price is not None:
            where.append(sql.SQL("price <= %(max_price)s"))
            params["max_price"] = query.max_price
        return where, params


def _hit(item: dict[str, Any]) -> ProductHit:
    return ProductHit(
        sku=item["sku"],
        name=item["name"],
        price=Decimal(item["price"]),
        available=int(item["available"]),
        certifications=list(item["certifications"]),
        carbon_footprint_kg=item["carbon_footprint_kg"],
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
        read_only: bool = False,
    ):
        """`use_unaccent=False` skips the extension and folds accents in Python, as happens
        on a server where `unaccent` is missing or may not be installed. `read_only` (CLI
        reads): no DDL at all; what exists is used as it is."""
        self.pool = ConnectionPool(
            database_url, min_size=1, max_size=max(pool_size, 1), open=True, name="search"
        )
        self.read_only = read_only
        self._opened: set[str] = set()
        self._lock = threading.Lock()
        try:
            self.unaccent = self._existing_config() if read_only else self._setup(use_unaccent)
        except Exception:
            self.pool.close()
            raise
        self.config = CONFIG_WITH_UNACCENT if self.unaccent else CONFIG_WITHOUT_UNACCENT
        self.fold: Callable[[str], str] = _identity if self.unaccent else fold_accents

    def _setup(self, use_unaccent: bool) -> bool:
        """Create the bookkeeping tables and the accent-folding text search configuration;
        True if the `unaccent` extension is there to do the folding."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            conn.execute(_SETUP)
            unaccent = use_unaccent and _install_unaccent(conn)
            if unaccent:
                _create_config(conn)
        return unaccent

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
            self.pool, generation, self.config, self.fold, follow_active=follow_active
        )

    def _create(self, generation: str) -> None:
        table = f"search_products_{generation}"
        ddl = sql.SQL(_PRODUCTS).format(
            table=sql.Identifier(table),
            document_index=sql.Identifier(f"{table}_document"),
            certifications_index=sql.Identifier(f"{table}_certifications"),
            category_index=sql.Identifier(f"{table}_category"),
        )
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
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
    try:
        with conn.transaction():  # a savepoint: a refusal must not abort the setup
            conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    except psycopg.Error as error:
        log.warning("unaccent is not available (%s); folding accents in Python", error)
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
