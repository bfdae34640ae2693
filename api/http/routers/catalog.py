"""Products with variants, the category tree and certifications (issue 28).

Admins create products (with their variants' stock items, in one commit), file them in the
category tree, and record certificates; anyone reads a product by id or slug, its JSON-LD,
and the tree with counts. `/sitemap.xml` (outside `/api/v1`) is in `sitemap_router`.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Response, status
from fastapi.concurrency import run_in_threadpool

from api.http.command_route import CommandRoute
from api.http.deps import (
    Admin,
    ContainerDep,
    ExpectedVersion,
    ProductsDep,
    ReadersDep,
    consistent_with,
)
from api.http.deps import query as query_in_pool
from api.http.etag import set_etag
from api.http.http_cache import cached_answer, content_tag
from api.http.schemas import SKU_PATTERN, StockItemCommandResult
from api.http.schemas_catalog import (
    CategoriesPublic,
    CategoryCommandResult,
    CategoryCreate,
    CategoryPatch,
    CategorySlug,
    CertificationCreate,
    ExpiredCertificationsPublic,
    GtinUpdate,
    LapseResult,
    ProductCommandResult,
    ProductCreate,
    ProductPatch,
    ProductPublic,
    SustainabilityProfileModel,
)
from api.http.stored import ConditionalDep, PoliciesDep, canonical
from application.event_store import CommandResult
from application.products import ProductInput, VariantInput
from domain.product import Certification, SustainabilityProfile
from infrastructure.catalog_media_wiring import with_media
from projections.product_pages import product_jsonld, sitemap_xml
from projections.products import ProductsProjection

router = APIRouter(route_class=CommandRoute, tags=["catalog"])
sitemap_router = APIRouter(tags=["catalog"])
IdOrSlug = Annotated[
    str, Path(pattern=r"^[a-z0-9-]{1,100}$", description="the product's id or its slug")
]
PRODUCTS = ProductsProjection.name


def _profile(model: SustainabilityProfileModel) -> SustainabilityProfile:
    from decimal import Decimal

    return SustainabilityProfile(
        Decimal(model.carbon_footprint_kg), model.recyclable_percent, model.packaging
    )


def _product_answer(response: Response, slug: str, result: CommandResult) -> ProductCommandResult:
    set_etag(response, result.version)
    return ProductCommandResult(
        product_id=str(result.aggregate_id),
        slug=slug,
        version=result.version,
        consistency_token=result.consistency_token,
    )


def _category_answer(result: CommandResult) -> CategoryCommandResult:
    return CategoryCommandResult(version=result.version, consistency_token=result.consistency_token)


# Products -----------------------------------------------------------------------------------
@router.post("/products", status_code=status.HTTP_201_CREATED)
def create_product(
    body: ProductCreate, products: ProductsDep, _: Admin, response: Response
) -> ProductCommandResult:
    """Create a product with its variants (admin): one stock item per variant, all in one
    commit. 409 if the slug or a SKU exists; 422 for a GTIN whose check digit is wrong, an
    unknown category, or variants whose options do not match `options`."""
    result = products.create_product(
        ProductInput(
            slug=body.slug,
            name=body.name,
            description=body.description,
            meta_description=body.meta_description,
            category=body.category,
            attributes=tuple(body.attributes.items()),
            option_names=tuple(body.options),
            variants=[
                VariantInput(
                    sku=v.sku,
                    options=v.options,
                    price=v.price.to_money(),
                    initial_quantity=v.initial_quantity,
                    weight_grams=v.weight_grams,
                    gtin=v.gtin or "",
                )
                for v in body.variants
            ],
            profile=_profile(body.sustainability),
        )
    )
    response.headers["Location"] = f"/api/v1/products/{result.aggregate_id}"
    return _product_answer(response, body.slug, result)


@router.patch("/products/{product_id}")
def edit_product(
    product_id: UUID,
    body: ProductPatch,
    products: ProductsDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> ProductCommandResult:
    """Change what is given (admin); the variants' stock items follow (names, category,
    sustainability) in the same commit."""
    result = products.edit_product(
        product_id,
        name=body.name,
        description=body.description,
        meta_description=body.meta_description,
        attributes=None if body.attributes is None else tuple(body.attributes.items()),
        profile=None if body.sustainability is None else _profile(body.sustainability),
        category=body.category,
        expected_version=expected_version,
    )
    return _product_answer(response, products.product(product_id).slug, result)


@router.post("/products/{product_id}/certifications", status_code=status.HTTP_201_CREATED)
def add_certification(
    product_id: UUID,
    body: CertificationCreate,
    products: ProductsDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> ProductCommandResult:
    """Record a certificate with its evidence (admin); one already expired is 422, the same
    name and number twice 409."""
    certification = Certification(body.name, body.issuer, body.number, body.valid_until)
    result = products.add_certification(product_id, certification, expected_version)
    return _product_answer(response, products.product(product_id).slug, result)


@router.post("/certifications/lapse")
def lapse_certifications(products: ProductsDep, readers: ReadersDep, _: Admin) -> LapseResult:
    """The daily sweep (admin; `ecovarejo catalog lapse-certifications` runs the same, from
    cron): certificates past their date stop counting in the score and the facets."""
    results = products.lapse_certifications(readers.products.certified_ids())
    return LapseResult(
        lapsed_products=[str(r.aggregate_id) for r in results],
        consistency_token=max((r.consistency_token for r in results), key=int, default=None),
    )


@router.get(
    "/certifications/expired",
    dependencies=[Depends(consistent_with(PRODUCTS))],
)
async def expired_certifications(
    readers: ReadersDep, products: ProductsDep, _: Admin
) -> ExpiredCertificationsPublic:
    """For the back office: every certificate past its date, lapsed or not yet swept."""
    today = products.catalog_today()
    items = await query_in_pool(lambda: readers.products.expired_certifications(today))
    return ExpiredCertificationsPublic(items=items)


@router.get(
    "/products/{id_or_slug}",
    response_model=ProductPublic,
    responses={304: {"description": "If-None-Match names the current answer"}},
    dependencies=[Depends(consistent_with(PRODUCTS))],
)
async def get_product(
    id_or_slug: IdOrSlug,
    readers: ReadersDep,
    container: ContainerDep,
    asked: ConditionalDep,
    policies: PoliciesDep,
) -> Response:
    """A product with its variants (public): price range, availability, category path,
    certifications (each says whether it still counts), sustainability score, rating and
    images."""
    today = container.services.products.catalog_today()
    doc = await query_in_pool(
        lambda: with_media(container, readers.products.get(id_or_slug, today))
    )
    body = canonical(doc)
    return cached_answer(asked, body, content_tag(body), policies.product)


@router.get(
    "/products/{id_or_slug}/jsonld",
    responses={200: {"content": {"application/ld+json": {}}}},
    dependencies=[Depends(consistent_with(PRODUCTS))],
)
async def get_product_jsonld(
    id_or_slug: IdOrSlug,
    readers: ReadersDep,
    container: ContainerDep,
    asked: ConditionalDep,
    policies: PoliciesDep,
) -> Response:
    """The product as a schema.org JSON-LD `Product` with its offers (and `aggregateRating`
    once it has ratings), for the storefront to embed in its page (public)."""
    today = container.services.products.catalog_today()
    doc = await query_in_pool(
        lambda: with_media(container, readers.products.get(id_or_slug, today))
    )
    body = canonical(product_jsonld(doc, container.settings.storefront_url))
    answer = cached_answer(asked, body, content_tag(body), policies.product)
    answer.media_type = "application/ld+json"
    if answer.status_code == 200:
        answer.headers["Content-Type"] = "application/ld+json"
    return answer


# Categories ---------------------------------------------------------------------------------
@router.get("/categories", dependencies=[Depends(consistent_with(PRODUCTS))])
async def list_categories(readers: ReadersDep) -> CategoriesPublic:
    """The category tree (public), roots first; each category's `count` is the products
    filed in it or anywhere under it."""
    return CategoriesPublic.model_validate(
        {"items": await query_in_pool(lambda: readers.products.categories())}
    )


@router.post("/categories", status_code=status.HTTP_201_CREATED)
def add_category(body: CategoryCreate, products: ProductsDep, _: Admin) -> CategoryCommandResult:
    """Add a category (admin), at the root or under `parent`. 409 if the slug is taken."""
    return _category_answer(products.add_category(body.slug, body.name, body.parent))


@router.patch("/categories/{slug}")
def change_category(
    slug: Annotated[CategorySlug, Path()], body: CategoryPatch, products: ProductsDep, _: Admin
) -> CategoryCommandResult:
    """Rename (`slug`, `name`) and/or move (`parent`; null: to the root) a category (admin).
    Moving it under itself or one of its own descendants is 422, and nothing changes."""
    result = products.change_category(
        slug, new_slug=body.slug, name=body.name, parent=body.parent, moves=body.moves()
    )
    return _category_answer(result)


# The sitemap (outside /api/v1, where crawlers look) ------------------------------------------
@sitemap_router.get(
    "/sitemap.xml",
    responses={200: {"content": {"application/xml": {}}}},
    dependencies=[Depends(consistent_with(PRODUCTS))],
)
async def sitemap(readers: ReadersDep, container: ContainerDep) -> Response:
    """Every product on sale and every category, as the storefront's URLs (sitemaps.org)."""

    def build() -> str:
        products = readers.products
        return sitemap_xml(
            products.all_products(), products.categories(), container.settings.storefront_url
        )

    body = await run_in_threadpool(build)
    return Response(
        body,
        media_type="application/xml",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.put("/stock-items/{sku}/gtin")
def change_gtin(
    sku: Annotated[str, Path(pattern=SKU_PATTERN)],
    body: GtinUpdate,
    products: ProductsDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> StockItemCommandResult:
    """Set a variant's barcode (admin; `""` removes it). A wrong check digit is 422."""
    result = products.change_gtin(sku, body.gtin, expected_version)
    set_etag(response, result.version)
    return StockItemCommandResult(
        sku=sku, version=result.version, consistency_token=result.consistency_token
    )
