"""Product search: full text, filters, price range and facets, for any signed-in user
(any role)."""

from __future__ import annotations

import asyncio
import re
import time
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep
from api.schemas import (
    MoneyModel,
    ProductFacetsPublic,
    ProductHitPublic,
    ProductSearchPublic,
)
from projections.search import (
    MAX_PAGE_SIZE,
    InvalidSearchQueryError,
    SearchQuery,
    SearchResult,
    SearchStore,
    active_index,
)

router = APIRouter(prefix="/products", tags=["products"])

# A decimal amount in BRL, >= 0, at most two places: "-1" or "1e3" is a 422.
PRICE_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,2})?$"
SEARCH_PARAMETERS = frozenset(
    {"q", "category", "certification", "min_price", "max_price", "page", "size"}
)


def get_search(request: Request) -> SearchStore:
    store: SearchStore | None = getattr(request.app.state.container, "search", None)
    if store is None:
        raise HTTPException(503, "product search is not configured")
    return store


SearchDep = Annotated[SearchStore, Depends(get_search)]


def known_parameters_only(request: Request) -> None:
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


async def consistent_search(
    store: SearchDep,
    container: ContainerDep,
    x_consistency_token: Annotated[str | None, Header()] = None,
) -> None:
    """Wait until the active search index has reached the client's X-Consistency-Token
    (up to the configured time), else 503 with Retry-After, as the other read models do."""
    if x_consistency_token is None:
        return
    if not re.fullmatch(r"[0-9]{1,18}", x_consistency_token):
        raise HTTPException(400, "X-Consistency-Token must be a token from a command response")
    wanted = int(x_consistency_token)
    deadline = time.monotonic() + container.settings.consistency_wait_s
    delay = 0.005

    def position() -> int:
        return active_index(store).max_tracking_id("") or 0

    while await run_in_threadpool(position) < wanted:
        if time.monotonic() >= deadline:
            raise HTTPException(
                503, "the product search index has not caught up yet", {"Retry-After": "1"}
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.1)


def _public(result: SearchResult) -> ProductSearchPublic:
    return ProductSearchPublic(
        total=result.total,
        items=[
            ProductHitPublic(
                sku=hit.sku,
                name=hit.name,
                price=MoneyModel(amount=str(hit.price)),
                available=hit.available,
                certifications=hit.certifications,
                carbon_footprint_kg=hit.carbon_footprint_kg,
            )
            for hit in result.items
        ],
        facets=ProductFacetsPublic(
            category=result.facets.get("category", {}),
            certification=result.facets.get("certification", {}),
        ),
    )


@router.get(
    "/search",
    # Public: a storefront lets anyone browse. Archived products are not listed.
    dependencies=[
        Depends(known_parameters_only),
        Depends(consistent_search),
    ],
)
def search_products(
    store: SearchDep,
    q: Annotated[str | None, Query(max_length=200, description="words to find")] = None,
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
) -> ProductSearchPublic:
    """Most relevant first when `q` is given, else by SKU. Facets count the products that
    match the whole query."""
    try:
        query = SearchQuery(
            q=q,
            category=category,
            certification=certification,
            min_price=Decimal(min_price) if min_price is not None else None,
            max_price=Decimal(max_price) if max_price is not None else None,
            page=page,
            size=size,
        )
    except InvalidSearchQueryError as error:
        raise RequestValidationError(
            [{"type": "value_error", "loc": ("query",), "msg": str(error)}]
        ) from None
    return _public(active_index(store).search(query))
