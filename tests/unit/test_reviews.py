"""Reviews (domain/review.py, application/reviews.py, projections/reviews.py): only a
customer whose order with the product was delivered reviews it, once; moderators approve or
reject with a reason; shoppers report; the product shows its average and count per star;
an erasure leaves the review as "Cliente" (or takes it out) and a rebuild reads the same."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from eventsourcing.persistence import Tracking

from application.keys import ReadModelSealer
from application.product_ref import ProductNotFoundError, own_product_id, product_of_sku
from application.reviews import (
    AlreadyReviewedError,
    NotAVerifiedBuyerError,
    ReviewDraft,
    ReviewService,
)
from domain.review import (
    AlreadyReportedError,
    InvalidReviewError,
    Review,
    ReviewAlreadyModeratedError,
    ReviewNotShownError,
    rating_summary,
)
from projections.memory import MemoryStore
from projections.reviews import ReviewsProjection
from projections.reviews_reader import ReviewsReader
from tests.checkout import check_out, fill_cart, register
from tests.unit.test_returns import shipped_order

ECO_1 = own_product_id("ECO-1")


class ScannedLog:
    """The memory world's stand-in for the event log's index of a customer's aggregates
    (infrastructure/store/event_log.py, on PostgreSQL in tests/e2e): a scan of the whole log."""

    def __init__(self, world) -> None:
        self.world = world

    def aggregates_of_customer(self, customer_id: str) -> list:
        services, ids = self.world.services, []
        for n in services.store.recorder.select_notifications(1, 10_000):
            event = services.store.mapper.to_domain_event(n)
            if getattr(event, "customer_id", None) == customer_id:
                ids.append(event.originator_id)
        return list(dict.fromkeys(ids))


def service(world, names: dict[str, str] | None = None) -> ReviewService:
    """Reviews over the world's shop, as the wiring builds them."""
    log = ScannedLog(world)
    world.services.data_subjects.event_log = log  # the erasure asks it too
    return ReviewService(world.services.store, log.aggregates_of_customer, (names or {}).get)


def delivered_order(world):
    order_id = shipped_order(world)
    world.services.orders.track_order(order_id, "delivered", datetime.now(tz=UTC))
    return order_id


def project(world, store: MemoryStore | None = None, since: int = 0) -> MemoryStore:
    store = store or MemoryStore()
    projector = ReviewsProjection(store)
    projector.sealer = ReadModelSealer(world.services.store.keys)
    for n in world.services.store.recorder.select_notifications(since + 1, 10_000):
        event = world.services.store.mapper.to_domain_event(n)
        projector.process_event(event, Tracking("EcoVarejo", n.id))
    return store


# Who may review -----------------------------------------------------------------------------
def test_a_product_never_bought_cannot_be_reviewed(world):
    register(world.services, "ECO-1", 10, "30.00")
    with pytest.raises(NotAVerifiedBuyerError, match="delivered may review"):
        service(world).submit(ECO_1, "ana", ReviewDraft(rating=5))
    assert world.services.store.load(Review, Review.create_id(ECO_1, "ana")) is None


def test_a_shipped_order_not_yet_delivered_does_not_make_a_verified_buyer(world):
    shipped_order(world)
    with pytest.raises(NotAVerifiedBuyerError):
        service(world).submit(ECO_1, "ana", ReviewDraft(rating=4))


def test_a_delivered_buyer_reviews_once_and_the_review_waits_for_moderation(world):
    order_id = delivered_order(world)
    reviews = service(world, {"ana": "Ana Paula Souza"})
    done = reviews.submit(ECO_1, "ana", ReviewDraft(rating=5, title="Ótima", body="Macia."))
    assert done.status == "pending"
    review = reviews.review(done.review_id)
    assert (review.order_id, review.sku, review.author.value) == (
        order_id,
        "ECO-1",
        {"text": "Ana"},  # the first name of the profile
    )
    with pytest.raises(AlreadyReviewedError):
        reviews.submit(ECO_1, "ana", ReviewDraft(rating=1))


def test_someone_elses_delivered_order_does_not_count(world):
    order_id = delivered_order(world)  # ana's
    with pytest.raises(NotAVerifiedBuyerError, match="not yours"):
        service(world).submit(ECO_1, "bia", ReviewDraft(rating=5, order_id=order_id))


def test_an_unknown_product_is_not_found(world):
    with pytest.raises(ProductNotFoundError):
        service(world).submit(own_product_id("NOPE-1"), "ana", ReviewDraft(rating=5))


@pytest.mark.parametrize(
    ("draft", "message"),
    [
        (ReviewDraft(rating=0), "1 to 5"),
        (ReviewDraft(rating=6), "1 to 5"),
        (ReviewDraft(rating=5, body="x" * 10_000), "at most 4000"),
        (ReviewDraft(rating=5, body="ok\x07beep"), "control character"),
        (ReviewDraft(rating=5, title="two\nlines"), "line break"),
        (ReviewDraft(rating=5, author_name="Ana\x1b[31m"), "control character"),
    ],
)
def test_bad_ratings_and_words_are_refused_and_nothing_is_saved(world, draft, message):
    delivered_order(world)
    with pytest.raises(InvalidReviewError, match=message):
        service(world).submit(ECO_1, "ana", draft)
    assert world.services.store.load(Review, Review.create_id(ECO_1, "ana")) is None


# Moderation and reports -----------------------------------------------------------------------
def approved(world) -> tuple[ReviewService, object]:
    delivered_order(world)
    reviews = service(world)
    review_id = reviews.submit(ECO_1, "ana", ReviewDraft(rating=4, body="Boa")).review_id
    reviews.approve(review_id)
    return reviews, review_id


def test_a_moderated_review_cannot_be_moderated_again_until_it_is_reported(world):
    reviews, review_id = approved(world)
    with pytest.raises(ReviewAlreadyModeratedError):
        reviews.reject(review_id, "mudei de ideia")
    reviews.report(ECO_1, review_id, "bia", "spam")
    with pytest.raises(AlreadyReportedError):
        reviews.report(ECO_1, review_id, "bia", "offensive")
    kept = reviews.approve(review_id)  # kept: shown still, reports cleared
    assert kept.status == "approved"
    assert not reviews.review(review_id).reporters
    reviews.report(ECO_1, review_id, "bia", "offensive")
    assert reviews.reject(review_id, "linguagem ofensiva").status == "rejected"
    with pytest.raises(ReviewNotShownError):
        reviews.report(ECO_1, review_id, "caio", "spam")


def test_a_rejection_needs_a_reason_and_a_report_a_known_one(world):
    delivered_order(world)
    reviews = service(world)
    review_id = reviews.submit(ECO_1, "ana", ReviewDraft(rating=2)).review_id
    with pytest.raises(InvalidReviewError, match="say why"):
        reviews.reject(review_id, "   ")
    reviews.approve(review_id)
    with pytest.raises(InvalidReviewError, match="one of spam"):
        reviews.report(ECO_1, review_id, "bia", "boring")


def test_the_average_is_rounded_half_up_to_one_place():
    assert rating_summary({"5": 2, "4": 1}) == {
        "rating_average": "4.7",  # 14 / 3 = 4.666…
        "rating_count": 3,
        "rating_stars": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 2},
    }
    assert rating_summary({"4": 1, "5": 1})["rating_average"] == "4.5"
    assert rating_summary({})["rating_average"] is None
    assert Decimal(rating_summary({"1": 3, "2": 1})["rating_average"]) == Decimal("1.3")


# The read model ---------------------------------------------------------------------------------
def two_buyers_reviewed(world) -> ReviewService:
    delivered_order(world)  # ana: ECO-1, ECO-2, ECO-3
    cart = fill_cart(world.services, {"ECO-1": 1}, customer="bia")
    order_id = check_out(world.services, cart)
    world.settle()
    world.services.orders.ship_order(order_id, "Correios", "BR2")
    world.services.orders.track_order(order_id, "delivered", datetime.now(tz=UTC))
    reviews = service(world, {"ana": "Ana Souza", "bia": "Bia Lima"})
    first = reviews.submit(ECO_1, "ana", ReviewDraft(rating=5, title="Ótima", body="Macia"))
    second = reviews.submit(ECO_1, "bia", ReviewDraft(rating=2, body="Encolheu"))
    reviews.approve(first.review_id)
    reviews.approve(second.review_id)
    return reviews


def test_the_product_shows_its_approved_reviews_average_and_count_per_star(world):
    two_buyers_reviewed(world)
    store = project(world)
    reader = ReviewsReader(store, ReadModelSealer(world.services.store.keys))
    assert reader.rating(ECO_1) == {
        "rating_average": "3.5",
        "rating_count": 2,
        "rating_stars": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1},
    }
    page = reader.page(ECO_1)
    assert [(r["author_name"], r["rating"], r["body"]) for r in page.items] == [
        ("Bia", 2, "Encolheu"),  # newest first
        ("Ana", 5, "Macia"),
    ]
    assert "Ana" not in str(store.docs)  # sealed
    assert "Macia" not in str(store.docs)
    assert reader.queue("pending").total == 0


def test_after_an_erasure_the_review_reads_as_cliente_or_goes_and_a_rebuild_agrees(world):
    two_buyers_reviewed(world)
    live = project(world)
    before = world.services.store.recorder.max_notification_id()
    world.services.data_subjects.erase_personal_data("ana", "ana")
    project(world, live, since=before)
    rebuilt = project(world)
    assert rebuilt.docs == live.docs
    assert rebuilt.indexes == live.indexes

    keep = ReviewsReader(live, ReadModelSealer(world.services.store.keys), "keep")
    assert [(r["author_name"], r["title"], r["body"]) for r in keep.page(ECO_1).items] == [
        ("Bia", None, "Encolheu"),
        ("Cliente", None, None),
    ]
    assert keep.rating(ECO_1)["rating_count"] == 2
    remove = ReviewsReader(live, ReadModelSealer(world.services.store.keys), "remove")
    assert [r["author_name"] for r in remove.page(ECO_1).items] == ["Bia"]
    assert remove.page(ECO_1).total == 1
    assert remove.rating(ECO_1)["rating_average"] == "2.0"


# Products with variants (issue 28): a buyer of one variant reviews the product --------------
def test_a_buyer_of_one_variant_reviews_the_product_and_a_variants_id_is_no_product(world):
    from tests.checkout import catalog_with_variants

    catalog_with_variants(world.services)
    product_id = product_of_sku(world.services.store, "CAN-AZ")
    assert product_id == product_of_sku(world.services.store, "CAN-BR")
    assert product_id != own_product_id("CAN-AZ")
    order_id = check_out(world.services, fill_cart(world.services, {"CAN-AZ": 1}, "ana"))
    world.settle()
    world.services.orders.ship_order(order_id, "Correios", "BR1")
    world.services.orders.track_order(order_id, "delivered", datetime.now(tz=UTC))
    done = service(world).submit(product_id, "ana", ReviewDraft(rating=4))
    assert service(world).review(done.review_id).sku == "CAN-AZ"
    with pytest.raises(ProductNotFoundError):
        service(world).submit(own_product_id("CAN-AZ"), "ana", ReviewDraft(rating=4))
