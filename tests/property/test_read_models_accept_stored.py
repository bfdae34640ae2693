"""Reads never 500 on a stored value (issue 21): every document a projector stores is one
its API response model accepts. A value the model refuses (a negative refund, a total
above the money limit) is a bug of the write side or the projector, caught here instead of
as a 500 on every later read.

Random commerce (the machine of test_commerce_machine.py, plus Pix and boleto paid late or
twice, fixed coupons leaving centavos on many units, returns one unit at a time, rejected
returns, cancellations in the customer's words, price changes under open carts) runs on
the in-memory system; after every step each read model of the registry is brought up to
date in memory and every document is checked against its response schema."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from eventsourcing.persistence import Tracking
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from api.http.routers.returns import ReturnPublic
from api.http.schemas import (
    AnalyticsRows,
    CartPublic,
    InvoicePublic,
    OrderPublic,
    OrderSummary,
    PaymentPublic,
    Schema,
    StockItemPublic,
)
from api.http.schemas_back_office import (
    PaymentRow,
    ProductRow,
    PromotionRow,
    ReturnRow,
    WebhookDeliveryRow,
)
from api.http.schemas_catalog import ProductPublic
from api.http.schemas_catalog_media import ImagePublic, ReviewStaff
from application.event_store import APP_NAME
from domain.base import DomainError
from domain.cpf import Cpf
from domain.money import MAX_AMOUNT, Money
from domain.payment import payment_id_for_order
from domain.payment_choice import BoletoPayment, PixPayment
from infrastructure.gateways.payments.sandbox import SandboxGateway
from infrastructure.runtime.followers import READ_MODELS
from projections.analytics import AnalyticsProjection
from projections.back_office import BackOfficeProjection
from projections.base import Projector
from projections.carts import CartsProjection
from projections.catalog import StockItemsProjection
from projections.memory import MemoryStore
from projections.orders import OrdersProjection
from projections.product_images import ProductImagesProjection
from projections.product_reader import public_product
from projections.products import ProductsProjection
from projections.readers import ANALYTICS_KINDS, AnalyticsReader
from projections.reviews import ReviewsProjection
from projections.reviews_reader import ReviewsReader, image_shown
from tests.checkout import ADDRESS, APPROVED, DECLINED, card, register
from tests.unit.test_pix_boleto_saga import META, LaterClock, event_context
from tests.worlds import memory_world

Check = Callable[[dict[str, Any]], Any]
SKUS = ["ECO-A", "ECO-B", "ECO-C"]


def schemas(*models: type[Schema]) -> Check:
    def check(doc: dict[str, Any]) -> None:
        for model in models:
            model.from_doc(doc)  # as the routes read it: a refusal here is a 500 there

    return check


def product_answer(doc: dict[str, Any]) -> None:
    """As `GET /products/{id}` reads it: through the reader, on any day."""
    ProductPublic.model_validate(public_product(doc, None, datetime.now(tz=UTC).date()))


INTERNAL: Check = lambda doc: None  # noqa: E731 (bookkeeping no route answers with)

# Each read model kept in Redis: the response schema of every kind of document it stores,
# by key prefix (documents no route answers with are marked internal).
DOCUMENTS: dict[type[Projector], dict[str, Check]] = {
    StockItemsProjection: {
        "stock:": schemas(StockItemPublic),
        "stock-public:": schemas(StockItemPublic),  # served as its stored bytes
        "stock-id:": INTERNAL,
    },
    CartsProjection: {"cart:": schemas(CartPublic), "carts-with:": INTERNAL, "sku-of:": INTERNAL},
    OrdersProjection: {
        "order:": schemas(OrderPublic, OrderSummary),
        "payment:": schemas(PaymentPublic),
        "return:": schemas(ReturnPublic),
        "invoice:": schemas(InvoicePublic),
        "words:": INTERNAL,
        "subject:": INTERNAL,
    },
    # Analytics documents are read as rows (below); the documents themselves are internal.
    AnalyticsProjection: {
        "catalog:": INTERNAL,
        "item:": INTERNAL,
        "order:": INTERNAL,
        "consent:": INTERNAL,
        "": INTERNAL,
    },
    BackOfficeProjection: {
        "product:": schemas(ProductRow),
        "return:": schemas(ReturnRow),
        "promotion:": schemas(PromotionRow),
        "payment:": schemas(PaymentRow),
        "webhook:": schemas(WebhookDeliveryRow),
        "customer:": INTERNAL,  # names and e-mails are added at read time (admins only)
        "product-id:": INTERNAL,
        "promotion-id:": INTERNAL,
        "customer-id:": INTERNAL,
    },
    # Issue 28: reviews are answered through their reader, images with their URLs.
    ReviewsProjection: {
        "review:": lambda doc: ReviewStaff.model_validate(ReviewsReader(MemoryStore()).staff(doc)),
        "stars:": INTERNAL,  # read as the rating (domain.review.rating_summary)
        "reviews-of:": INTERNAL,
        "subject:": INTERNAL,
    },
    ProductImagesProjection: {
        "images:": lambda doc: [
            ImagePublic.model_validate(image_shown(i, str)) for i in doc["images"]
        ],
    },
    ProductsProjection: {
        "product:": product_answer,
        "product-slug:": INTERNAL,
        "product-variant:": INTERNAL,
        "categories": INTERNAL,  # assembled into the tree by the reader
    },
}


def test_every_read_model_kept_in_redis_has_its_documents_checked_here():
    kept = {m.projector for m in READ_MODELS.values() if m.store == "redis"}
    assert kept == set(DOCUMENTS), "a new read model needs its response schemas listed here"


def check_document(projector: type[Projector], key: str, doc: dict[str, Any]) -> None:
    prefixes = [p for p in DOCUMENTS[projector] if key.startswith(p)]
    assert prefixes, f"{projector.name}: no response schema listed for document {key!r}"
    DOCUMENTS[projector][max(prefixes, key=len)](doc)


class ReadModels(RuleBasedStateMachine):
    """Random commerce on the in-memory system, every read model following the log."""

    def __init__(self) -> None:
        super().__init__()
        self._worlds = memory_world()
        self.world = next(self._worlds)
        services = self.world.services
        for sku, price in zip(SKUS, ("10.00", "20.00", "15.50"), strict=True):
            register(services, sku, 5000, price)
        now = datetime.now(tz=UTC)
        for code, kind, value in (("FIX", "fixed", "39.98"), ("DEZ", "percent", "10")):
            services.promotions.launch_promotion(
                code=code,
                description="",
                kind=kind,
                value=Decimal(value),
                valid_from=now - timedelta(days=1),
                valid_until=now + timedelta(days=1),
            )
        self.stores = {kind: MemoryStore() for kind in DOCUMENTS}
        self.projectors = {kind: kind(self.stores[kind]) for kind in DOCUMENTS}
        self.position = 0
        self.orders: list[uuid.UUID] = []

    def teardown(self) -> None:
        self._worlds.close()

    def _cart(self, items: dict[str, int], coupon: str | None) -> tuple[uuid.UUID, str]:
        services = self.world.services
        customer = f"c-{uuid.uuid4().hex[:6]}"
        cart_id = services.checkout.create_cart(customer).aggregate_id
        for sku, quantity in items.items():
            services.checkout.add_cart_item(cart_id, customer, sku, quantity)
        if coupon:
            services.checkout.apply_coupon(cart_id, customer, coupon)
        return cart_id, customer

    @rule(
        items=st.dictionaries(st.sampled_from(SKUS), st.integers(1, 6), min_size=1)
        | st.just({"ECO-A": 4}),  # with FIX: 0.02 left for 4 units
        coupon=st.sampled_from(["FIX", None, "DEZ"]),
        approved=st.booleans(),
        ship=st.booleans(),
    )
    def check_out_by_card(self, items, coupon, approved, ship):
        services = self.world.services
        try:
            cart_id, customer = self._cart(items, coupon)
            number = APPROVED if approved else DECLINED
            order_id = services.checkout.checkout(
                cart_id, customer, ADDRESS, card(number)
            ).aggregate_id
            self.world.settle()
            if ship:
                services.orders.ship_order(order_id, "Correios", "BR1")
                self.world.settle()
        except DomainError:
            return
        self.orders.append(order_id)

    @rule(
        sku=st.sampled_from(SKUS),
        quantity=st.integers(1, 999),
    )
    def fill_a_cart(self, sku, quantity):
        with contextlib.suppress(DomainError):
            self._cart({sku: quantity}, None)  # left open: prices change under it

    @rule(
        sku=st.sampled_from(SKUS),
        cents=st.integers(1, int(MAX_AMOUNT * 100)) | st.integers(1, 5000),
    )
    def change_a_price(self, sku, cents):
        try:
            self.world.services.catalog.change_price(sku, Money(Decimal(cents) / 100))
        except DomainError:
            return

    @rule(
        units=st.integers(2, 6),
        method=st.sampled_from(["pix", "boleto"]),
        pays=st.integers(0, 3),
        late=st.booleans(),
        coupon=st.booleans(),
    )
    def pay_by_pix_or_boleto(self, units, method, pays, late, coupon):
        services = self.world.services
        choice = PixPayment() if method == "pix" else BoletoPayment(Cpf.parse("52998224725"))
        try:
            cart_id, customer = self._cart({SKUS[0]: units}, "FIX" if coupon else None)
            order_id = services.checkout.checkout(cart_id, customer, ADDRESS, choice).aggregate_id
        except DomainError:
            return
        self.orders.append(order_id)
        self.world.settle()
        if late:
            with event_context(META, LaterClock(timedelta(hours=100))):
                self.world.settle(deadlines=True)
        payment = services.payments.payment(payment_id_for_order(order_id))
        gateway = next((g for g in services.payments.gateways if g.name == payment.gateway), None)
        if not isinstance(gateway, SandboxGateway) or not payment.charge_id:
            return
        for _ in range(pays):
            headers, body = gateway.payer_webhook(gateway.charge(payment.charge_id))
            services.payments.receive_webhook("sandbox", headers, {}, body)
            self.world.settle()

    @rule(data=st.data(), words=st.text(max_size=30))
    def cancel_in_words(self, data, words):
        if self.orders:
            order_id = data.draw(st.sampled_from(self.orders))
            try:
                self.world.services.orders.cancel_order(order_id, None, words.replace("\x00", ""))
            except DomainError:
                return
            self.world.settle()

    @rule(data=st.data(), outcome=st.sampled_from(["receive", "reject", "open"]))
    def return_one_unit(self, data, outcome):
        if not self.orders:
            return
        services = self.world.services
        order = services.orders.order_of(data.draw(st.sampled_from(self.orders)))
        line = data.draw(st.sampled_from(order.lines))
        try:
            wanted = [(line.sku, 1)]
            return_id = services.returns.request_return(
                order.id, order.customer_id, wanted, "quebrou"
            )
            if outcome == "reject":
                services.returns.reject_return(return_id.aggregate_id, "fora do prazo")
            elif outcome == "receive":
                services.returns.approve_return(return_id.aggregate_id)
                services.returns.receive_return(return_id.aggregate_id)
        except DomainError:
            return
        self.world.settle()

    @rule(data=st.data())
    def return_a_line_one_unit_at_a_time(self, data):
        """Where rounding bites: every unit of a line back on its own, each received."""
        if not self.orders:
            return
        services = self.world.services
        order = services.orders.order_of(data.draw(st.sampled_from(self.orders)))
        line = data.draw(st.sampled_from(order.lines))
        for _ in range(line.quantity):
            try:
                result = services.returns.request_return(
                    order.id, order.customer_id, [(line.sku, 1)], ""
                )
                services.returns.approve_return(result.aggregate_id)
                services.returns.receive_return(result.aggregate_id)
            except DomainError:
                return
            self.world.settle()

    @invariant()
    def read_models_accept_what_projectors_store(self):
        services = self.world.services
        while batch := services.store.recorder.select_notifications(self.position + 1, 200):
            for notification in batch:
                event = services.store.mapper.to_domain_event(notification)
                for projector in self.projectors.values():
                    projector.process_event(event, Tracking(APP_NAME, notification.id))
                self.position = notification.id
        for kind, projector in self.projectors.items():
            assert not projector.parking.parked(), f"{kind.name} parked an event"
            for key in list(self.stores[kind].docs):
                doc = self.stores[kind].get(key)
                assert doc is not None
                check_document(kind, key, doc)
        analytics = AnalyticsReader(self.stores[AnalyticsProjection])
        for rows_kind in ANALYTICS_KINDS:
            AnalyticsRows.model_validate({"rows": analytics.rows(rows_kind, 1000)})


TestReadModels = ReadModels.TestCase
TestReadModels.settings = settings(
    max_examples=30,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_a_coupon_order_returned_one_unit_at_a_time_stays_readable():
    """The finding itself: a fixed coupon leaving 0.02 on 4 units, every unit returned on
    its own; the order and its returns were refused by their schemas (-0.01) before."""
    machine = ReadModels()
    try:
        services = machine.world.services
        cart_id, customer = machine._cart({"ECO-A": 4}, "FIX")
        order_id = services.checkout.checkout(
            cart_id, customer, ADDRESS, card(APPROVED)
        ).aggregate_id
        machine.world.settle()
        services.orders.ship_order(order_id, "Correios", "BR1")
        machine.world.settle()
        machine.orders.append(order_id)
        for _ in range(4):
            result = services.returns.request_return(order_id, customer, [("ECO-A", 1)], "")
            services.returns.approve_return(result.aggregate_id)
            services.returns.receive_return(result.aggregate_id)
            machine.world.settle()
        order = services.orders.order_of(order_id)
        # the goods' 0.02, and the shipping with the last unit (a whole withdrawal)
        assert order.refunded_total == Money.brl("0.02") + order.totals.shipping
        machine.read_models_accept_what_projectors_store()
    finally:
        machine.teardown()


def test_a_price_raised_under_an_open_cart_leaves_it_readable_above_the_limit():
    """Found by the machine above: 999 units added at 10.00, then the price raised near
    the money limit; the cart view parked on a total no Money holds (the cart could no
    longer be read). Now the line and the cart say they are above the limit."""
    machine = ReadModels()
    try:
        services = machine.world.services
        cart_id, _ = machine._cart({"ECO-A": 999, "ECO-B": 1}, "FIX")
        services.catalog.change_price("ECO-A", Money(Decimal("9999999.99")))
        machine.read_models_accept_what_projectors_store()
        cart = machine.stores[CartsProjection].get(f"cart:{cart_id}")
        assert cart is not None
        assert cart["above_money_limit"] is True
        assert cart["total"] is None
        services.catalog.change_price(
            "ECO-A", Money(Decimal("0.01"))
        )  # below the coupon: total not < 0
        machine.read_models_accept_what_projectors_store()
        cart = machine.stores[CartsProjection].get(f"cart:{cart_id}")
        assert cart is not None
        assert cart["above_money_limit"] is False
        assert cart["total"] == {"amount": "0.00", "currency": "BRL"}
    finally:
        machine.teardown()
