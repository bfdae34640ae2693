"""Catalog pages: home, search with facets, sort and paging, and the product page. The
same for every visitor, so a shared cache may keep them (`render_public`): nothing
personal is on them, the add-to-cart form included (see `web.same_origin`)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.http.stored import Policies
from api.storefront.i18n import WORDS
from api.storefront.web import (
    ShopContainer,
    catalog_page,
    digits_only,
    language,
    render_public,
    shop_readers,
)
from application.errors import StockItemNotFoundError
from domain.product import ProductNotFoundError
from infrastructure.catalog_media_wiring import with_media
from projections.catalog import StockItemsProjection, public_stock_key
from projections.readers import Readers
from projections.search import (
    SUGGEST_MAX_QUERY_LENGTH,
    InvalidSearchQueryError,
    InvalidSuggestQueryError,
    ProductHit,
    SearchQuery,
    SearchResult,
    SuggestQuery,
)
from projections.search_document import fold_key, fold_words, suggests

router = APIRouter()
PAGE_SIZE = 12
HOME_SIZE = 100
SORTS = ("relevance", "price_asc", "price_desc", "co2")
# The page's sort names, as the search store calls them: the store sorts the whole result,
# so page 2 continues page 1.
STORE_SORTS = {
    "relevance": "relevance",
    "price_asc": "price_asc",
    "price_desc": "price_desc",
    "co2": "footprint",
}
SUGGESTIONS = 4
WORD = re.compile(r"\w+")
MAX_QUERY = 200


def _policies(request: Request) -> Policies:
    policies: Policies = request.app.state.cache_policies
    return policies


def _hit(hit: ProductHit) -> dict[str, Any]:
    """A search hit as the product card partial reads it (extra read-model fields, such
    as images or ratings, appear here when the read model has them)."""
    fields = dict(getattr(hit, "__dict__", {}))
    return {**fields, "price": {"amount": str(hit.price)}}


def _sorted(items: list[ProductHit], sort: str) -> list[ProductHit]:
    if sort == "price_asc":
        return sorted(items, key=lambda h: h.price)
    if sort == "price_desc":
        return sorted(items, key=lambda h: h.price, reverse=True)
    if sort == "co2":
        return sorted(items, key=lambda h: Decimal(h.carbon_footprint_kg or "0"))
    return items


async def _search(request: Request, query: SearchQuery) -> SearchResult:
    """One search, wholly in the thread pool: opening the search reader asks PostgreSQL
    for the active index generation, a round trip that must not block the event loop."""
    readers = shop_readers(request)
    return await run_in_threadpool(lambda: readers.search.search(query))


async def _suggest(request: Request, q: str) -> tuple[str | None, list[str]]:
    """For words that found nothing: the words corrected (each typo'd word replaced by the
    word of a close product name it nearly starts), and the product names themselves (a
    variant's name without its options), each once."""
    try:
        query = SuggestQuery(q=q[:SUGGEST_MAX_QUERY_LENGTH], size=SUGGESTIONS * 2)
    except InvalidSuggestQueryError:
        return None, []
    readers = shop_readers(request)
    found = await run_in_threadpool(lambda: readers.search.suggest(query))
    names = list(dict.fromkeys(s.name.split(" — ")[0] for s in found))[:SUGGESTIONS]
    return corrected(q, names), names


def corrected(q: str, names: list[str]) -> str | None:
    """`garafa termica` with `Garrafa térmica de inox` -> `garrafa térmica`; None when no
    word changes. A word is kept when a name's word starts with it, else it takes the first
    name word it starts with one edit forgiven (`search_document.suggests`)."""
    known: dict[str, str] = {}
    for name in names:
        for word in WORD.findall(name):
            known.setdefault(fold_key(word), word.lower())
    words = []
    for word in q.split():
        folded = fold_words(word)
        if not folded or any(k.startswith(folded) for k in known):
            words.append(word)
            continue
        close = next((w for k, w in known.items() if suggests(folded, k)), word)
        words.append(close)
    better = " ".join(words)
    return better if better != " ".join(q.split()) else None


async def _category_names(request: Request) -> dict[str, str]:
    """Each category of the tree by its slug -> its name: search's category facet names a
    tree category by slug (a stock item of old by its free text, shown as it is)."""
    readers = shop_readers(request)
    tree = await run_in_threadpool(readers.products.categories)
    names: dict[str, str] = {}
    stack = list(tree)
    while stack:
        node = stack.pop()
        names[node["slug"]] = node["name"]
        stack.extend(node["children"])
    return names


@router.get("")
async def home(request: Request) -> Response:
    async def context() -> dict[str, Any]:
        result = await _search(request, SearchQuery(size=HOME_SIZE))
        items = [h for h in result.items if h.available > 0]
        return {
            "featured": [_hit(h) for h in items[:4]],
            "sustainable": [_hit(h) for h in _sorted(items, "co2")[:4]],
            "categories": sorted(result.facets.get("category", {}).items()),
            "category_names": await _category_names(request),
        }

    policy = _policies(request).search
    return await catalog_page(
        request, "home.html", policy.max_age_s, policy.stale_while_revalidate_s, context
    )


def _price(
    value: str, name: str, problems: dict[str, str], words: dict[str, str]
) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value.replace(",", "."))
    except InvalidOperation:
        number = Decimal(-1)
    if not number.is_finite() or number < 0 or number > Decimal("99999999"):
        problems[name] = words["err_generic"].format(detail=value[:20])
        return None
    return number.quantize(Decimal("0.01"))


def _int(value: str, default: int) -> int:
    return int(value) if digits_only(value) and len(value) < 6 else default


@router.get("/busca")
async def search(request: Request) -> Response:
    """`q`, `categoria`, `certificacao`, `min`, `max`, `ordem`, `pagina`: what cannot be
    read is said on the page and left out of the search, never a 4xx/5xx."""
    words = WORDS[language(request, public=True)]
    params = request.query_params
    q = params.get("q", "")[:MAX_QUERY]
    problems: dict[str, str] = {}
    category = params.get("categoria", "")[:60] or None
    certification = params.get("certificacao", "")[:60] or None
    min_price = _price(params.get("min", "")[:20], "min", problems, words)
    max_price = _price(params.get("max", "")[:20], "max", problems, words)
    sort = params.get("ordem", "relevance")
    sort = sort if sort in SORTS else "relevance"
    page = max(1, min(_int(params.get("pagina", ""), 1), 800))
    try:
        query = SearchQuery(
            q=q or None,
            category=category,
            certification=certification,
            min_price=min_price,
            max_price=max_price,
            page=page,
            size=PAGE_SIZE,
            sort=STORE_SORTS[sort],
        )
    except InvalidSearchQueryError as error:
        problems["q"] = words["err_generic"].format(detail=str(error))
        query = SearchQuery(page=1, size=PAGE_SIZE)
    chosen = {
        "categoria": category or "",
        "certificacao": certification or "",
        "min": params.get("min", "")[:20],
        "max": params.get("max", "")[:20],
        "ordem": sort,
    }

    async def context() -> dict[str, Any]:
        result = await _search(request, query)
        # Nothing found for the words: maybe a typo. The suggestions forgive one edit
        # ("garafa" finds Garrafa); asked only then, so a page with results costs no more.
        nothing = bool(q.strip()) and result.total == 0
        better, suggested = await _suggest(request, q) if nothing else (None, [])
        return {
            "q": q,
            "items": [_hit(h) for h in result.items],
            "suggested": suggested,
            "better": better,
            "total": result.total,
            "facets": result.facets,
            "category_names": await _category_names(request),
            "chosen": chosen,
            "sorts": SORTS,
            "page": page,
            "pages": max(1, -(-result.total // PAGE_SIZE)),
            "problems": problems,
        }

    policy = _policies(request).search
    return await catalog_page(
        request, "search.html", policy.max_age_s, policy.stale_while_revalidate_s, context
    )


async def product_doc(
    request: Request, container: ShopContainer, sku: str
) -> dict[str, Any] | None:
    """The product's public document (the catalog API's bytes), or None."""
    raw = await request.app.state.stored.raw(StockItemsProjection.name, public_stock_key(sku))
    if raw is not None:
        doc: dict[str, Any] = orjson.loads(raw)
        return doc
    try:
        readers = shop_readers(request)
        return await run_in_threadpool(readers.stock_items.get, sku)
    except StockItemNotFoundError:
        return None


def product_family(container: Any, readers: Readers, doc: dict[str, Any]) -> dict[str, Any] | None:
    """The product this SKU is a variant of, with its other variants, rating and images
    (None while the products read model has not got it yet)."""
    product_id = doc.get("product_id")
    if not product_id:
        return None
    today = container.services.products.catalog_today()
    try:
        found = readers.products.get(str(product_id), today)
    except ProductNotFoundError:
        return None
    return with_media(container, found)


@router.get("/produto/{sku}")
async def product(request: Request, sku: str, container: ShopContainer) -> Response:
    doc = await product_doc(request, container, sku[:40]) if len(sku) <= 40 else None
    if doc is None:
        from fastapi import HTTPException

        raise HTTPException(404, "no such product")
    family = await run_in_threadpool(product_family, container, shop_readers(request), doc)
    policy = _policies(request).product
    return render_public(
        request,
        "product.html",
        policy.max_age_s,
        policy.stale_while_revalidate_s,
        product=doc,
        family=family,
        added=request.query_params.get("adicionado") == "1",
    )
