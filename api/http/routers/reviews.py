"""Reviews: a verified buyer (a delivered order line of the product) writes one; anyone
reads a product's approved reviews and rating; shoppers report one; admins moderate."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status
from starlette.concurrency import run_in_threadpool

from api.http.command_route import CommandRoute
from api.http.deps import Admin, ContainerDep, Customer, ExpectedVersion, consistent_with, query
from api.http.etag import set_etag
from api.http.schemas_catalog_media import (
    ProductReviews,
    ReviewAccepted,
    ReviewCreate,
    ReviewPublic,
    ReviewQueue,
    ReviewRejection,
    ReviewReport,
    ReviewStaff,
)
from application.reviews import ReviewDraft, Reviewed, ReviewService
from infrastructure.catalog_media_wiring import catalog_media, reviews_reader
from projections.reviews import ReviewsProjection

router = APIRouter(route_class=CommandRoute, tags=["reviews"])
ProductIdPath = Annotated[UUID, Path(description="the product's id")]
ReviewIdPath = Annotated[UUID, Path(description="the review's id")]
PageNo = Annotated[int, Query(ge=1, le=10_000)]
Size = Annotated[int, Query(ge=1, le=100)]
Fresh = [Depends(consistent_with(ReviewsProjection.name))]


async def get_reviews(container: ContainerDep) -> ReviewService:
    return (await run_in_threadpool(catalog_media, container)).reviews


ReviewsDep = Annotated[ReviewService, Depends(get_reviews)]


def _accepted(response: Response, done: Reviewed) -> ReviewAccepted:
    set_etag(response, done.result.version)
    return ReviewAccepted(
        review_id=done.review_id,
        product_id=done.product_id,
        status=done.status,  # type: ignore[arg-type]
        version=done.result.version,
        consistency_token=done.result.consistency_token,
    )


@router.post("/products/{product_id}/reviews", status_code=status.HTTP_201_CREATED)
def submit_review(
    product_id: ProductIdPath,
    body: ReviewCreate,
    reviews: ReviewsDep,
    principal: Customer,
    response: Response,
) -> ReviewAccepted:
    """Review a product (customer): 1-5 stars, a title and words. Only a customer whose
    order with the product was delivered may (403 `not-a-verified-buyer`), once (409).
    The review waits for moderation (`pending`)."""
    draft = ReviewDraft(
        rating=body.rating,
        title=body.title,
        body=body.body,
        author_name=body.author_name,
        order_id=body.order_id,
    )
    done = reviews.submit(product_id, principal.sub, draft)
    response.headers["Location"] = f"/api/v1/products/{product_id}/reviews"
    return _accepted(response, done)


@router.get("/products/{product_id}/reviews", dependencies=Fresh)
async def product_reviews(
    product_id: ProductIdPath, container: ContainerDep, page: PageNo = 1, size: Size = 20
) -> ProductReviews:
    """A product's approved reviews, newest first, with its rating: the average (one
    decimal place), the count and the count per star."""

    def read() -> ProductReviews:
        reader = reviews_reader(container)
        found = reader.page(product_id, page, size)
        return ProductReviews(
            product_id=product_id,
            **reader.rating(product_id),
            items=[ReviewPublic.model_validate(d) for d in found.items],
            total=found.total,
            page=found.page,
            size=found.size,
        )

    return await query(read)


@router.post(
    "/products/{product_id}/reviews/{review_id}/reports", status_code=status.HTTP_202_ACCEPTED
)
def report_review(
    product_id: ProductIdPath,
    review_id: ReviewIdPath,
    body: ReviewReport,
    reviews: ReviewsDep,
    principal: Customer,
) -> dict[str, bool]:
    """Report a shown review (customer): it goes to the moderators' `reported` queue."""
    reviews.report(product_id, review_id, principal.sub, body.reason)
    return {"reported": True}


@router.get("/reviews", dependencies=Fresh)
async def moderation_queue(
    container: ContainerDep,
    _: Admin,
    queue: Literal["pending", "reported"] = "pending",
    page: PageNo = 1,
    size: Size = 20,
) -> ReviewQueue:
    """Reviews waiting for a moderator (admin): `pending`, or `reported` by shoppers."""

    def read() -> ReviewQueue:
        found = reviews_reader(container).queue(queue, page, size)
        return ReviewQueue(
            queue=queue,
            items=[ReviewStaff.model_validate(d) for d in found.items],
            total=found.total,
            page=found.page,
            size=found.size,
        )

    return await query(read)


@router.post("/reviews/{review_id}/approve")
def approve_review(
    review_id: ReviewIdPath,
    reviews: ReviewsDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> ReviewAccepted:
    """Show the review (admin); for a reported one, keep it and clear its reports."""
    return _accepted(response, reviews.approve(review_id, expected_version))


@router.post("/reviews/{review_id}/reject")
def reject_review(
    review_id: ReviewIdPath,
    body: ReviewRejection,
    reviews: ReviewsDep,
    _: Admin,
    response: Response,
    expected_version: ExpectedVersion,
) -> ReviewAccepted:
    """Refuse the review with a reason (admin), or take down a reported one."""
    return _accepted(response, reviews.reject(review_id, body.reason, expected_version))
