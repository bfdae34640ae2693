"""The fast path: the hot public reads answered in pure ASGI, in front of the layers a plain
GET does not need and of FastAPI's router.

Which reads: `/health`, a stock item (its stored bytes, 200 or 304) and an anonymous search
(the search-results cache, or the store on a miss). Each is declared as a FastAPI route too,
which documents it (OpenAPI) and answers every request the fast path does not take. A
request is taken only when the full pipeline would do nothing for it but the route itself:
a GET with no body, no CORS `Origin`, no consistency token, idempotency key or `If-Match`,
a well-formed correlation id, and a path and query the route accepts as they are. Anything
else, and any error while reading, goes on to the full pipeline, which answers it (so
errors are mapped in one place).

It sits behind the edge (`api.http.edge`: ids, security headers, metrics, access log), the gzip
layer and tracing, so those see its answers as any other. Rate limits are applied here with
the same decision as `api.http.ratelimit` (the verdict is kept in the scope when the request is
handed on: one token per request). The answers are the routes' to the byte: both build them
with `api.http.http_cache.answer_parts`, and a test compares the two paths header by header."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.datastructures import QueryParams
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http.edge import CORRELATION_PATTERN
from api.http.etag import version_tag
from api.http.http_cache import Answer, CachePolicy, Conditional, answer_parts, content_tag
from api.http.middleware import url_problem
from api.http.ratelimit import VERDICT_KEY, RateLimits
from api.http.routers.products import PRICE_PATTERN, search_body, search_query_of
from api.http.routes import ROUTE_KEY
from api.http.schemas import SKU_PATTERN
from api.http.search_cache import SearchCache
from api.http.search_memory import InProcessSearch
from api.http.stored import stored_version
from infrastructure.read_stores.stored_documents import StoredDocuments
from projections.catalog import StockItemsProjection, public_stock_key
from projections.readers import Readers
from projections.search import MAX_PAGE_SIZE, MAX_QUERY_LENGTH, SearchQuery

log = logging.getLogger("ecovarejo.edge")

# Headers that give a layer behind the fast path something to do on a GET.
_HANDED_ON = frozenset(
    {
        b"origin",  # CORS
        b"content-length",  # the body guard (a GET's body, or a malformed length)
        b"transfer-encoding",
        b"x-consistency-token",  # the route waits for its read model
        b"idempotency-key",
        b"if-match",
    }
)
# The edge's and the routes' own rules (anchored patterns), so what is taken here is what
# they would take.
_CORRELATION = re.compile(CORRELATION_PATTERN.encode())
_SKU = re.compile(SKU_PATTERN)
_PRICE = re.compile(PRICE_PATTERN)
_WHOLE = re.compile(r"[1-9][0-9]{0,5}")
_BOOLS = {"true": True, "false": False}
_HEALTH = b'{"status":"ok"}'
_JSON_HEADERS = [
    (b"content-length", str(len(_HEALTH)).encode()),
    (b"content-type", b"application/json"),
]

_PREPARED = "ecovarejo.fast_path.answer"
RECENT_QUERIES = 4096  # search query strings whose parsed, normalized query is remembered

Read = Callable[[Scope, Conditional], Awaitable[Answer | None]]


@dataclass
class FastPathCounts:
    """How many requests the fast path answered (tests check it is taken)."""

    answered: int = 0


@dataclass(frozen=True)
class FastRead:
    read: Read
    takes_query: bool = False  # else only a request without a query string is taken


def plain_get(scope: Scope) -> Conditional | None:
    """The request's caching inputs when nothing but the route has work to do for it."""
    authorization = cookie = False
    if_none_match = None
    for name, value in scope["headers"]:
        if name in _HANDED_ON:
            return None
        if name == b"x-correlation-id" and not _CORRELATION.fullmatch(value):
            return None
        if name == b"authorization":
            authorization = True
        elif name == b"cookie":
            cookie = True
        elif name == b"if-none-match" and if_none_match is None:
            if_none_match = value.decode("latin-1")
    return Conditional(not (authorization or cookie), if_none_match)


class FastPath:
    def __init__(
        self,
        app: ASGIApp,
        reads: dict[str, FastRead],
        limits: RateLimits | None = None,
        counts: FastPathCounts | None = None,
        gzip_minimum_size: int | None = None,
    ):
        """`gzip_minimum_size`: the edge's gzip threshold when this layer sits in front of
        it: an answer that large goes through the same gzip layer (which may compress it and
        adds `Vary`), a smaller one it would pass as it is."""
        self.app = app
        self.reads = reads  # by route template (GET)
        self.limits = limits
        self.counts = counts or FastPathCounts()
        self.gzip = GZipMiddleware(_send_prepared, gzip_minimum_size or 0)
        self.gzip_from = gzip_minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = scope.get(ROUTE_KEY) if scope["type"] == "http" else None
        fast = self.reads.get(route.template) if route is not None else None
        asked = plain_get(scope) if fast is not None and scope["method"] == "GET" else None
        if fast is None or asked is None or (scope["query_string"] and not fast.takes_query):
            await self.app(scope, receive, send)
            return
        verdict = await self.limits.verdict(scope) if self.limits is not None else None
        if verdict is not None and verdict.refusal is not None:
            await verdict.refusal(scope, receive, send)
            return
        try:
            answer = await fast.read(scope, asked)
        except Exception:  # the full pipeline reads again and maps the error
            log.debug("fast path handed on after an error", exc_info=True)
            answer = None
        if answer is None:
            if self.limits is not None:
                scope[VERDICT_KEY] = verdict
            await self.app(scope, receive, send)
            return
        self.counts.answered += 1
        headers = [*answer.headers, *verdict.headers] if verdict is not None else answer.headers
        _vary_origin(headers)
        start = {"type": "http.response.start", "status": answer.status, "headers": headers}
        body = {"type": "http.response.body", "body": answer.body}
        if self.gzip_from is not None and len(answer.body) >= self.gzip_from:
            scope[_PREPARED] = (start, body)
            await self.gzip(scope, receive, send)
            return
        await send(start)
        await send(body)


async def _send_prepared(scope: Scope, receive: Receive, send: Send) -> None:
    start, body = scope.pop(_PREPARED)
    await send(start)
    await send(body)


def _vary_origin(headers: list[tuple[bytes, bytes]]) -> None:
    """What the CORS layer does to an answer to a request without `Origin`: `Origin` joins
    `Vary` (all its values in one, in place of the first), or `Vary: Origin` is added."""
    varies = [i for i, (name, _) in enumerate(headers) if name == b"vary"]
    if not varies:
        headers.append((b"vary", b"Origin"))
        return
    joined = b", ".join([*(headers[i][1] for i in varies), b"Origin"])
    headers[varies[0]] = (b"vary", joined)
    for i in reversed(varies[1:]):
        del headers[i]


async def health(scope: Scope, asked: Conditional) -> Answer:
    """`/health` as its route answers it (api/http/routers/health.py)."""
    return Answer(200, list(_JSON_HEADERS), _HEALTH)


def stock_item_read(stored: StoredDocuments, policy: CachePolicy) -> Read:
    """`GET /api/v1/stock-items/{sku}` from the stored public document (200 or 304); a SKU
    the route would refuse, or no stored document, is the route's to answer."""

    async def read(scope: Scope, asked: Conditional) -> Answer | None:
        sku = scope["path"].rpartition("/")[2]
        if not _SKU.fullmatch(sku):
            return None
        body = await stored.raw(StockItemsProjection.name, public_stock_key(sku))
        if body is None:
            return None
        return answer_parts(asked, body, version_tag(stored_version(body)), policy)

    return read


def search_query(scope: Scope) -> SearchQuery | None:
    """The search a query string asks for, when every parameter is one the route takes, once,
    in a form it accepts as is (the rest, including every 422, is the route's). Text breaking
    the edge's rule is the text guard's to refuse."""
    if url_problem(scope) is not None:
        return None
    params = QueryParams(scope["query_string"])
    values = dict(params.multi_items())
    if len(values) != len(params.multi_items()) or not all(values.values()):
        return None
    q = values.pop("q", None)
    category = values.pop("category", None)
    certification = values.pop("certification", None)
    min_price = values.pop("min_price", None)
    max_price = values.pop("max_price", None)
    page = values.pop("page", "1")
    size = values.pop("size", "20")
    sort = values.pop("sort", None)
    in_stock = _BOOLS.get(values.pop("in_stock", "false"))
    if (
        values  # a parameter the route does not take
        or in_stock is None
        or (q is not None and len(q) > MAX_QUERY_LENGTH)
        or any(v is not None and len(v) > 60 for v in (category, certification))
        or any(v is not None and not _PRICE.fullmatch(v) for v in (min_price, max_price))
        or not (_WHOLE.fullmatch(page) and _WHOLE.fullmatch(size))
        or int(size) > MAX_PAGE_SIZE
        or (sort is not None and len(sort) > 20)
    ):
        return None
    return search_query_of(
        q, category, certification, min_price, max_price, int(page), int(size), sort, in_stock
    )


def search_read(
    readers: Readers,
    cache: SearchCache | None,
    policy: CachePolicy,
    memory: InProcessSearch | None = None,
) -> Read:
    """`GET /api/v1/products/search` for an anonymous caller: the search-results cache, or on
    a miss the in-process index or the store (and the cache filled), as the route does; a
    query the search refuses is the route's to answer (422)."""

    recent: dict[bytes, SearchQuery | None] = {}  # query string → its search

    async def read(scope: Scope, asked: Conditional) -> Answer | None:
        if not asked.anonymous:
            return None
        raw = scope["query_string"]
        try:
            query = recent[raw]
        except KeyError:
            query = search_query(scope)  # a function of the query string alone
            if len(recent) >= RECENT_QUERIES:
                recent.clear()
            recent[raw] = query
        if query is None:
            return None
        body = await search_body(readers, cache, query, memory)
        return answer_parts(asked, body, content_tag(body), policy)

    return read
