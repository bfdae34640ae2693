"""Review: a verified buyer's rating and words about a product, and their moderation.

One review per customer and product (its id is derived from both). It waits `pending`
until an admin approves it (then it is shown and counts in the product's rating) or rejects
it with a reason. Shoppers may report an approved review (spam, offensive …); reports put it
in front of the moderators again, they do not hide it by themselves.

The author's name, the title and the words are the customer's personal data: encrypted
under their key like every other customer's words (domain/personal.py). Who may review
(a delivered order line of the product) is the application's check (application/reviews.py),
made against the order itself.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError
from domain.personal import UNKNOWN_SUBJECT, PersonalData, free_text
from domain.text import text_problem

REVIEW_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/review")
MAX_TITLE = 120
MAX_BODY = 4000
MAX_AUTHOR = 60
MAX_REJECTION_REASON = 500
ANONYMOUS_AUTHOR = "Cliente"  # shown when the author's name is erased or not given


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ReportReason(StrEnum):
    SPAM = "spam"
    OFFENSIVE = "offensive"
    OFF_TOPIC = "off_topic"
    PERSONAL_DATA = "personal_data"  # names someone, shows a phone number …
    OTHER = "other"


class ReviewError(DomainError):
    """Base of the errors a Review raises."""


class InvalidReviewError(ReviewError, InvalidInputError):
    """A rating outside 1-5, text too long or with control characters, an empty reason."""


class ReviewAlreadyModeratedError(ReviewError):
    """Only a pending (or reported) review can be approved or rejected."""


class ReviewNotShownError(ReviewError):
    """Only an approved review can be reported."""


class AlreadyReportedError(ReviewError):
    """That shopper reported this review already."""


def check_rating(rating: int) -> int:
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidReviewError("rating: a whole number of stars from 1 to 5")
    return rating


def check_text(field: str, value: str, limit: int, *, multiline: bool = False) -> str:
    """`value` stripped: at most `limit` characters, no control characters (line breaks
    only where `multiline`)."""
    text = value.strip()
    if len(text) > limit:
        raise InvalidReviewError(f"{field}: at most {limit} characters (got {len(text)})")
    problem = text_problem(text, multiline=multiline)
    if problem:
        raise InvalidReviewError(f"{field}: {problem}")
    return text


def check_report_reason(reason: str) -> str:
    if reason not in set(ReportReason):
        allowed = ", ".join(r.value for r in ReportReason)
        raise InvalidReviewError(f"reason: one of {allowed}")
    return reason


class Review(EcoAggregate):
    class Submitted(EcoAggregate.Created):
        product_id: UUID
        customer_id: str
        order_id: UUID  # the delivered order that makes the author a verified buyer
        sku: str  # the variant bought
        rating: int
        author: PersonalData  # {"text": the name shown}
        title: PersonalData | None
        words: PersonalData | None

    class Approved(EcoAggregate.Event):
        product_id: UUID
        rating: int

    class Rejected(EcoAggregate.Event):
        class_version = 2

        product_id: UUID
        # The moderator's words about the author's review, encrypted with the author's key
        # (v2: they may quote the review); None when the author is erased.
        reason: PersonalData | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["reason"] = free_text(UNKNOWN_SUBJECT, state["reason"])

    class Reported(EcoAggregate.Event):
        product_id: UUID
        reporter_id: str
        reason: str  # a ReportReason

    class ReportsDismissed(EcoAggregate.Event):
        """A moderator kept a reported review: it stays shown, its reports are cleared."""

        product_id: UUID

    @staticmethod
    def create_id(product_id: UUID, customer_id: str) -> UUID:
        """One review per customer and product."""
        return uuid5(REVIEW_NAMESPACE, f"{product_id}/{customer_id}")

    @classmethod
    def submit(
        cls,
        *,
        product_id: UUID,
        customer_id: str,
        order_id: UUID,
        sku: str,
        rating: int,
        author: str,
        title: str,
        words: str,
    ) -> Review:
        check_rating(rating)
        name = check_text("author_name", author, MAX_AUTHOR) or ANONYMOUS_AUTHOR
        title = check_text("title", title, MAX_TITLE)
        words = check_text("body", words, MAX_BODY, multiline=True)
        return cls(
            product_id=product_id,
            customer_id=customer_id,
            order_id=order_id,
            sku=sku,
            rating=rating,
            author=PersonalData(customer_id, {"text": name}),
            title=PersonalData(customer_id, {"text": title}) if title else None,
            words=PersonalData(customer_id, {"text": words}) if words else None,
        )

    @event(Submitted)
    def __init__(
        self,
        *,
        product_id: UUID,
        customer_id: str,
        order_id: UUID,
        sku: str,
        rating: int,
        author: PersonalData,
        title: PersonalData | None,
        words: PersonalData | None,
    ) -> None:
        self.product_id = product_id
        self.customer_id = customer_id
        self.order_id = order_id
        self.sku = sku
        self.rating = rating
        self.author = author
        self.status = ReviewStatus.PENDING
        self.reporters: set[str] = set()
        self.rejection_reason: PersonalData | None = None

    # Guards -------------------------------------------------------------------------------
    def check_moderatable(self) -> None:
        """Pending, or approved and reported since (a moderator may then reject it)."""
        if self.status == ReviewStatus.PENDING:
            return
        if self.status == ReviewStatus.APPROVED and self.reporters:
            return
        raise ReviewAlreadyModeratedError(f"review {self.id} is {self.status} already")

    def check_shown(self) -> None:
        if self.status != ReviewStatus.APPROVED:
            raise ReviewNotShownError(f"review {self.id} is not shown ({self.status})")

    def check_not_reported_by(self, reporter_id: str) -> None:
        if reporter_id in self.reporters:
            raise AlreadyReportedError("you reported this review already")

    # Commands -----------------------------------------------------------------------------
    def approve(self) -> None:
        self.check_moderatable()
        if self.status == ReviewStatus.APPROVED:  # reported: kept, and shown still
            self._reports_dismissed(product_id=self.product_id)
            return
        self._approved(product_id=self.product_id, rating=self.rating)

    def reject(self, reason: str) -> None:
        self.check_moderatable()
        text = check_text("reason", reason, MAX_REJECTION_REASON, multiline=True)
        if not text:
            raise InvalidReviewError("reason: say why the review is rejected")
        words = None if self.author.erased else free_text(self.customer_id, text)
        self._rejected(product_id=self.product_id, reason=words)

    def report(self, reporter_id: str, reason: str) -> None:
        self.check_shown()
        check_report_reason(reason)
        self.check_not_reported_by(reporter_id)
        self._reported(product_id=self.product_id, reporter_id=reporter_id, reason=reason)

    @event(Approved)
    def _approved(self, product_id: UUID, rating: int) -> None:
        self.status = ReviewStatus.APPROVED

    @event(Rejected)
    def _rejected(self, product_id: UUID, reason: PersonalData | None) -> None:
        self.status = ReviewStatus.REJECTED
        self.rejection_reason = reason

    @event(Reported)
    def _reported(self, product_id: UUID, reporter_id: str, reason: str) -> None:
        self.reporters.add(reporter_id)

    @event(ReportsDismissed)
    def _reports_dismissed(self, product_id: UUID) -> None:
        self.reporters = set()


def rating_summary(counts: dict[str, int]) -> dict[str, Any]:
    """Average (a decimal string, one place, half up) and count from the count per star."""
    stars = {str(s): int(counts.get(str(s), 0)) for s in range(1, 6)}
    total = sum(stars.values())
    points = sum(int(s) * n for s, n in stars.items())
    average = (
        (Decimal(points) / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        if total
        else None
    )
    return {
        "rating_average": None if average is None else str(average),
        "rating_count": total,
        "rating_stars": stars,
    }
