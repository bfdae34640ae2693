"""Reviews: a verified buyer writes one per product; an admin approves or rejects it with a
reason; a shopper reports a shown one.

Who is a verified buyer is decided against the orders themselves (the write side), not a
read model: the customer must have an order with a line of a variant of the product that
was **delivered** (the carrier's or an admin's delivery record; `delivered_at`). A return
afterwards does not undo having bought it. The order may be named; else the customer's
orders are looked up in the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.errors import AlreadyExistsError, VersionConflictError
from application.event_store import CommandResult, EventStore, result_of
from application.product_ref import check_product_exists, product_of_sku
from domain.base import DomainError, NotFoundError
from domain.order import Order
from domain.review import ANONYMOUS_AUTHOR, Review


class NotAVerifiedBuyerError(DomainError):
    """Only a customer whose order with this product was delivered may review it (403)."""


class AlreadyReviewedError(AlreadyExistsError):
    """One review per customer and product (409)."""


class ReviewNotFoundError(NotFoundError):
    """No such review."""


@dataclass(frozen=True)
class Reviewed:
    """A command's outcome: the review's id, product and status, and the commit."""

    review_id: UUID
    product_id: UUID
    status: str
    result: CommandResult


@dataclass(frozen=True)
class ReviewDraft:
    rating: int
    title: str = ""
    body: str = ""
    author_name: str | None = None  # None: the first name of the customer's profile
    order_id: UUID | None = None  # None: any delivered order of the customer


def first_name(profile_name: str | None) -> str:
    """What a review shows of its author by default: the first name, or "Cliente"."""
    words = (profile_name or "").split()
    return words[0] if words else ANONYMOUS_AUTHOR


class ReviewService:
    """Reviews over the one event store. `orders_of` lists the ids of a customer's
    aggregates (orders among them) in the log; `profile_name` reads a customer's name."""

    def __init__(
        self,
        store: EventStore,
        orders_of: Callable[[str], Iterable[UUID]],
        profile_name: Callable[[str], str | None],
    ) -> None:
        self.store = store
        self.orders_of = orders_of
        self.profile_name = profile_name

    # Commands -----------------------------------------------------------------------------
    def submit(self, product_id: UUID, customer_id: str, draft: ReviewDraft) -> Reviewed:
        check_product_exists(self.store, product_id)
        review_id = Review.create_id(product_id, customer_id)
        if self.store.load(Review, review_id) is not None:
            raise AlreadyReviewedError("you reviewed this product already (one review each)")
        order, sku = self._delivered_purchase(product_id, customer_id, draft.order_id)
        author = draft.author_name
        review = Review.submit(
            product_id=product_id,
            customer_id=customer_id,
            order_id=order.id,
            sku=sku,
            rating=draft.rating,
            author=first_name(self.profile_name(customer_id)) if author is None else author,
            title=draft.title,
            words=draft.body,
        )
        return self._commit(review)

    def approve(self, review_id: UUID, expected_version: int | None = None) -> Reviewed:
        review = self.review(review_id, expected_version)
        review.approve()
        return self._commit(review)

    def reject(self, review_id: UUID, reason: str, expected_version: int | None = None) -> Reviewed:
        review = self.review(review_id, expected_version)
        review.reject(reason)
        return self._commit(review)

    def report(self, product_id: UUID, review_id: UUID, reporter_id: str, reason: str) -> None:
        review = self.review(review_id)
        if review.product_id != product_id:
            raise ReviewNotFoundError(f"no review {review_id} of product {product_id}")
        review.report(reporter_id, reason)
        self._commit(review)

    # Reads and checks ---------------------------------------------------------------------
    def review(self, review_id: UUID, expected_version: int | None = None) -> Review:
        found = self.store.load(Review, review_id, ReviewNotFoundError(f"no review {review_id}"))
        self.store.check_version(found, expected_version)
        return found

    def _delivered_purchase(
        self, product_id: UUID, customer_id: str, order_id: UUID | None
    ) -> tuple[Order, str]:
        """The customer's delivered order with a line of the product, and that line's SKU."""
        candidates = [order_id] if order_id is not None else list(self.orders_of(customer_id))
        products: dict[str, UUID] = {}  # a SKU's product, looked up once per SKU
        for candidate in candidates:
            order = self.store.load(Order, candidate, owner=customer_id)
            if order is None or order.delivered_at is None:
                continue
            for line in order.lines:
                if line.sku not in products:
                    products[line.sku] = product_of_sku(self.store, line.sku)
                if products[line.sku] == product_id:
                    return order, line.sku
        raise NotAVerifiedBuyerError(
            "only a customer whose order with this product was delivered may review it"
            + (
                " (that order is not yours, not delivered, or lacks the product)"
                if order_id
                else ""
            )
        )

    def _commit(self, review: Review) -> Reviewed:
        try:
            recordings = self.store.save(review)
        except IntegrityError:
            if review.version == 1:  # two submissions raced: the other won
                raise AlreadyReviewedError("you reviewed this product already") from None
            raise VersionConflictError(f"review {review.id} changed concurrently; retry") from None
        result = result_of(review, recordings)
        return Reviewed(review.id, review.product_id, review.status.value, result)
