"""Bodies of product images and reviews (issue 28)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, StringConstraints

from api.http.schemas import CommandAccepted, Schema, SingleLine
from api.http.schemas_back_office import ListPage
from domain.review import MAX_AUTHOR, MAX_BODY, MAX_REJECTION_REASON, MAX_TITLE, ReportReason

Stars = Annotated[int, Field(ge=1, le=5, strict=True)]


class RenditionPublic(Schema):
    format: Literal["webp", "jpeg"]
    width: int
    height: int
    url: str


class ImagePublic(Schema):
    image_id: str
    alt: str
    width: int
    height: int
    renditions: list[RenditionPublic]


class ImageAdded(CommandAccepted):
    product_id: UUID
    image: ImagePublic


class ImageList(Schema):
    product_id: UUID
    items: list[ImagePublic]


class ReviewCreate(Schema):
    rating: Stars
    title: Annotated[SingleLine, StringConstraints(max_length=MAX_TITLE)] = ""
    body: Annotated[str, StringConstraints(max_length=MAX_BODY)] = ""
    # The name shown; by default the first name of the customer's profile, else "Cliente".
    author_name: Annotated[SingleLine, StringConstraints(max_length=MAX_AUTHOR)] | None = None
    # The delivered order that makes the author a verified buyer; by default any of theirs.
    order_id: UUID | None = None

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"rating": 5, "title": "Ótima", "body": "Tecido macio, veste bem."}]
        }
    )


class ReviewAccepted(CommandAccepted):
    review_id: UUID
    product_id: UUID
    status: Literal["pending", "approved", "rejected"]


class ReviewRejection(Schema):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=MAX_REJECTION_REASON)]


class ReviewReport(Schema):
    reason: ReportReason


class ReviewPublic(Schema):
    review_id: UUID
    product_id: UUID
    rating: int
    author_name: str
    title: str | None
    body: str | None
    verified_purchase: bool
    submitted_at: str


class ReviewStaff(ReviewPublic):
    customer_id: str
    sku: str
    status: Literal["pending", "approved", "rejected"]
    author_erased: bool
    reports: dict[str, int]
    moderated_at: str | None
    rejection_reason: str | None
    version: int


class ProductReviews(ListPage):
    product_id: UUID
    rating_average: str | None  # one decimal place, e.g. "4.3"; null without reviews
    rating_count: int
    rating_stars: dict[str, int]  # "1" … "5" → approved reviews with that many stars
    items: list[ReviewPublic]


class ReviewQueue(ListPage):
    queue: Literal["pending", "reported"]
    items: list[ReviewStaff]
