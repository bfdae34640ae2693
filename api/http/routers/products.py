"""Product search (full text, filters, sorts, price range and facets) and suggestions
while typing; public."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError

from api.http.command_route import CommandRoute
from api.http.deps import ReadersDep, consistent_with
from api.http.deps import query as query_in_pool
from api.http.http_cache import cached_answer, content_tag
from api.http.schemas import (
    Amount,
    MoneyModel,
    ProductFacetsPublic,
    ProductHitPublic,
    ProductSearchPublic,
)
from api.http.schemas_search import SuggestionPublic, SuggestionsPublic
from api.http.search_cache import SearchCache, cache_key, normalized
from api.http.search_memory import InProcessSearch
from api.http.stored import ConditionalDep, PoliciesDep, canonical
from projections.readers import Readers
from projections.search import (
    FACETS,
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    InvalidSearchQueryError,
    InvalidSuggestQueryError,
    ProductHit,
    SearchProjection,
    SearchQuery,
    SearchResult,
    SearchStore,
    SuggestQuery,
)
from projections.search_document import (
    DEFAULT_SORT,
    SORTS,
    SUGGEST_MAX_QUERY_LENGTH,
    SUGGEST_MAX_SIZE,
)

router = APIRouter(route_class=CommandRoute, prefix="/products", tags=["products"])

# A decimal amount in BRL, >= 0, at most two places: "-1" or "1e3" is a 422.
PRICE_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
SEARCH_PARAMETERS = frozenset(
    {
        "q",
        "category",
        "certification",
        "min_price",
        "max_price",
        "page",
        "size",
        "sort",
        "in_stock",
    }
)


async def get_search(request: Request) -> SearchStore:
    store: SearchStore | None = getattr(request.app.state.container, "search", None)
    if store is None:
        raise HTTPException(503, "product search is not configured")
    return store


SearchDep = Annotated[SearchStore, Depends(get_search)]


async def get_search_cache(request: Request) -> SearchCache | None:
    cache: SearchCache | None = getattr(request.app.state, "search_cache", None)
    return cache


SearchCacheDep = Annotated[SearchCache | None, Depends(get_search_cache)]


async def get_search_memory(request: Request) -> InProcessSearch | None:
    memory: InProcessSearch | None = getattr(request.app.state, "search_memory", None)
    return memory


SearchMemoryDep = Annotated[InProcessSearch | None, Depends(get_search_memory)]


async def known_parameters_only(request: Request) -> None:
    """A misspelt or unsupported parameter (`facet=brand`) is refused, not ignored: a
    client must not believe a filter applied that did not."""
    params = request.query_params
    errors: list[dict[str, Any]] = [
        {"type": "extra_forbidden", "loc": ("query", name), "msg": "unknown query parameter"}
        for name in sorted(set(params) - SEARCH_PARAMETERS)
    ]
    errors += [
        {"type": "repeated", "loc": ("query", name), "msg": "give this parameter once"}
        for name in sorted(set(params) & SEARCH_PARAMETERS)
        if len(params.getlist(name)) > 1
    ]
    if errors:
        raise RequestValidationError(errors)


def hit_public(hit: ProductHit) -> ProductHitPublic:
    return ProductHitPublic(
        sku=hit.sku,
        name=hit.name,
        price=MoneyModel(amount=str(hit.price)),
        available=hit.available,
        certifications=hit.certifications,
        carbon_footprint_kg=hit.carbon_footprint_kg,
        in_stock=hit.in_stock,
        sustainability_score=hit.sustainability_score,
        rating_average=str(hit.rating_average) if hit.rating_average is not None else None,
        rating_count=hit.rating_count,
    )


def _public(result: SearchResult) -> ProductSearchPublic:
    return ProductSearchPublic(
        total=result.total,
        items=[hit_public(hit) for hit in result.items],
        facets=ProductFacetsPublic(
            category=result.facets.get("category", {}),
            certification=result.facets.get("certification", {}),
            price=result.facets.get("price", {}),
        ),
    )


# The response model's rule for an amount: a price it would refuse takes the model's path.
_AMOUNT = re.compile(get_args(Amount)[1].pattern)


def _hit_json(hit: ProductHit) -> dict[str, Any] | None:
    """`hit_public(hit).model_dump(mode="json")`, without the model (None: use it)."""
    amount = str(hit.price)
    if not _AMOUNT.fullmatch(amount):
        return None
    return {
        "sku": hit.sku,
        "name": hit.name,
        "price": {"amount": amount, "currency": "BRL"},
        "available": hit.available,
        "certifications": hit.certifications,
        "carbon_footprint_kg": hit.carbon_footprint_kg,
        "in_stock": hit.in_stock,
        "sustainability_score": hit.sustainability_score,
        "rating_average": str(hit.rating_average) if hit.rating_average is not None else None,
        "rating_count": hit.rating_count,
    }


def answer_body(result: SearchResult) -> bytes:
    """The answer's bytes, as `canonical(_public(result).model_dump(mode="json"))` gives them
    (a test compares the two), without building the response model."""
    items = [_hit_json(hit) for hit in result.items]
    if any(item is None for item in items):
        return canonical(_public(result).model_dump(mode="json"))
    facets = result.facets
    return canonical(
        {
            "total": result.total,
            "items": items,
            "facets": {name: facets.get(name, {}) for name in FACETS},
        }
    )


def search_query_of(
    q: str | None,
    category: str | None,
    certification: str | None,
    min_price: str | None,
    max_price: str | None,
    page: int,
    size: int,
    sort: str | None,
    in_stock: bool,
) -> SearchQuery:
    """The normalized query of the search's parameters (also the fast path's:
    api/http/fast_path.py); InvalidSearchQueryError when the search refuses it."""
    return normalized(
        SearchQuery(
            q=q,
            category=category,
            certification=certification,
            min_price=Decimal(min_price) if min_price is not None else None,
            max_price=Decimal(max_price) if max_price is not None else None,
            page=page,
            size=size,
            sort=sort if sort is not None else DEFAULT_SORT,
            in_stock=in_stock,
        )
    )


async def search_body(
    readers: Readers,
    cache: SearchCache | None,
    query: SearchQuery,
    memory: InProcessSearch | None = None,
) -> bytes:
    """The answer's bytes: from the search-results cache when given one and it holds the
    query, else from the in-process index when given one and it answers, else from the
    store (and, on a miss, kept in the cache)."""
    key = cache_key(query, await cache.generation()) if cache is not None else None
    body = await cache.get(key) if cache is not None and key else None
    if body is None:
        body = memory.body(query) if memory is not None else None
        if body is None:
            result = await query_in_pool(lambda: readers.search.search(query))
            body = canonical(_public(result).model_dump(mode="json"))
        if cache is not None and key:
            await cache.put(key, body)
    return body


@router.get(
    "/search",
    response_model=ProductSearchPublic,
    responses={304: {"description": "If-None-Match names the current answer"}},
    # Public: a storefront lets anyone browse. Archived products are not listed.
    dependencies=[
        Depends(known_parameters_only),
        Depends(get_search),  # 503 when no search store is configured, before any wait
        Depends(consistent_with(SearchProjection.name)),
    ],
)
async def search_products(
    readers: ReadersDep,
    asked: ConditionalDep,
    policies: PoliciesDep,
    cache: SearchCacheDep,
    memory: SearchMemoryDep,
    q: Annotated[
        str | None, Query(max_length=MAX_QUERY_LENGTH, description="words to find")
    ] = None,
    category: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
    certification: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
    min_price: Annotated[
        str | None, Query(pattern=PRICE_PATTERN, examples=["10.00"], description="BRL, >= 0")
    ] = None,
    max_price: Annotated[
        str | None, Query(pattern=PRICE_PATTERN, examples=["99.90"], description="BRL, >= 0")
    ] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    sort: Annotated[
        str,
        Query(
            max_length=20,
            description="relevance (by SKU without `q`), price_asc, price_desc, newest, "
            "rating, footprint (lowest first) or score (highest first)",
            json_schema_extra={"enum": list(SORTS)},
        ),
    ] = DEFAULT_SORT,
    in_stock: Annotated[bool, Query(description="only products with a unit to sell")] = False,
    x_consistency_token: Annotated[str | None, Header()] = None,
) -> Response:
    """Most relevant first when `q` is given, else by SKU, unless `sort` says otherwise.
    Words, categories and certifications match regardless of case and accents; a word also
    matches its synonyms. Facets count the products that match the whole query. Anonymous
    answers are cacheable and come from the search-results cache when it holds the same
    (normalized) query."""
    try:
        query = search_query_of(
            q, category, certification, min_price, max_price, page, size, sort, in_stock
        )
    except InvalidSearchQueryError as error:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query",), "msg": str(error)}]
        ) from None
    anonymous = asked.anonymous and x_consistency_token is None
    cacheable = cache is not None and anonymous
    body = await search_body(
        readers, cache if cacheable else None, query, memory if anonymous else None
    )
    return cached_answer(asked, body, content_tag(body), policies.search)


@router.get(
    "/suggest",
    response_model=SuggestionsPublic,
    responses={304: {"description": "If-None-Match names the current answer"}},
    dependencies=[
        Depends(get_search),
        Depends(consistent_with(SearchProjection.name)),
    ],
)
async def suggest_products(
    readers: ReadersDep,
    asked: ConditionalDep,
    policies: PoliciesDep,
    q: Annotated[
        str,
        Query(min_length=1, max_length=SUGGEST_MAX_QUERY_LENGTH, description="what was typed"),
    ],
    size: Annotated[int, Query(ge=1, le=SUGGEST_MAX_SIZE)] = 8,
) -> Response:
    """Products to complete what a shopper has typed: names (or a word of them onwards)
    starting with `q`, case and accents ignored, one typo forgiven from four characters on
    (`camisteta` finds Camiseta); exact prefixes first."""
    try:
        query = SuggestQuery(q=q, size=size)
    except InvalidSuggestQueryError as error:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query",), "msg": str(error)}]
        ) from None
    found = await query_in_pool(lambda: readers.search.suggest(query))
    answer = SuggestionsPublic(items=[SuggestionPublic(sku=s.sku, name=s.name) for s in found])
    body = canonical(answer.model_dump(mode="json"))
    return cached_answer(asked, body, content_tag(body), policies.search)
