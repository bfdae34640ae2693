"""Events stored by earlier versions of the code keep loading. The fixture holds real rows
written by the code before issue 13 (typed order payloads), captured with its own mapper."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent

from application.event_store import EventStoreApp
from application.keys import key_store_from
from domain.money import Money
from domain.order import Order, OrderLine, OrderStatus, PaymentMethod
from domain.personal import PersonalData, words_of
from domain.returns import Return, ReturnStatus
from domain.review import Review, ReviewStatus
from domain.stock_item import Sustainability
from infrastructure.store.memory import memory_env

FIXTURES = Path(__file__).parent.parent / "fixtures"
ROWS = json.loads((FIXTURES / "stored_events_v1.json").read_text())
RETURN_ROWS = json.loads((FIXTURES / "stored_events_v1_returns.json").read_text())["rows"]
REVIEW_ROWS = json.loads((FIXTURES / "stored_events_v1_reviews.json").read_text())["rows"]


def stored(row: dict) -> StoredEvent:
    return StoredEvent(
        UUID(row["originator_id"]), row["originator_version"], row["topic"], row["state"].encode()
    )


def mapper() -> Mapper[UUID]:
    app = EventStoreApp(env=memory_env("upcasting"))
    transcoder = app.construct_transcoder()
    assert isinstance(transcoder, JSONTranscoder)
    return Mapper(transcoder=transcoder)


def order_rows() -> list[StoredEvent]:
    return [stored(r) for r in ROWS["rows"] if r["topic"].startswith("domain.order:")]


def test_a_version_1_order_placed_loads_with_typed_lines_and_payment_method():
    placed = mapper().to_domain_event(order_rows()[0])
    assert isinstance(placed, Order.Placed)
    assert placed.lines == [
        OrderLine("ECO-1", "Café", 3, Money.brl("42.90"), Decimal("1.800")),
        OrderLine("ECO-2", "Sabão", 1, Money.brl("19.95"), Decimal("0.250")),
    ]
    assert placed.lines[0].discount == Money.zero()
    assert placed.payment_method == PaymentMethod("card", "tok_abc", "visa", "4242")
    assert (placed.coupon, placed.shipping_method) == (None, "standard")


def test_a_version_1_order_replays_to_the_same_state_it_had():
    m = mapper()
    order = None
    for row in order_rows():
        order = m.to_domain_event(row).mutate(order)
    assert order is not None
    assert order.totals.total == Money.brl("168.55")
    assert order.carbon_footprint_kg == Decimal("5.650")
    assert (order.status, order.cancellation_reason) == (OrderStatus.CANCELLED, "customer_request")
    # v1 kept the words in plaintext: they read as they were written, as personal data.
    assert order.cancellation_detail == PersonalData("", {"text": "mudei de ideia"})
    assert order.shipping_address.erased  # its key is not in this store: read as erased


def test_every_stored_row_of_the_fixture_still_maps_to_an_event():
    m = mapper()
    for row in ROWS["rows"]:
        event = m.to_domain_event(stored(row))
        assert type(event).__qualname__ == row["topic"].split(":")[1]


def test_a_new_order_placed_round_trips_at_class_version_2():
    m = mapper()
    old = m.to_domain_event(order_rows()[0])
    order = Order.place(
        customer_id="c1",
        cart_id=old.cart_id,
        lines=old.lines,
        shipping_address=PersonalData("c1", {"city": "Recife"}),
        payment_method=old.payment_method,
        coupon="BEMVINDO10",
    )
    [placed] = order.collect_events()
    row = m.to_stored_event(placed)
    assert b'"class_version":2' in row.state
    assert b'"_type_":"order_line"' in row.state
    assert vars(m.to_domain_event(row)) == vars(placed)


def test_a_version_1_stock_item_weighs_the_default_500_grams():
    [registered] = [
        mapper().to_domain_event(stored(r))
        for r in ROWS["rows"]
        if r["topic"] == "domain.stock_item:StockItem.Registered"
    ]
    assert registered.weight_grams == 500
    assert registered.mutate(None).weight_grams == 500


def test_version_1_sustainability_data_becomes_a_typed_value():
    [registered] = [
        mapper().to_domain_event(stored(r))
        for r in ROWS["rows"]
        if r["topic"] == "domain.stock_item:StockItem.Registered"
    ]
    assert registered.sustainability == Sustainability(Decimal("1.800"), ("IBD",), True, False)
    assert registered.mutate(None).carbon_footprint_kg == Decimal("1.800")


def test_version_1_return_reasons_read_as_the_customers_words():
    m = mapper()
    requested, rejected = (m.to_domain_event(stored(r)) for r in RETURN_ROWS)
    assert requested.reason == PersonalData("c1", {"text": "veio com a tampa quebrada"})
    assert rejected.reason == PersonalData("", {"text": "fora do prazo combinado com a cliente"})
    request = rejected.mutate(requested.mutate(None))
    assert request.status is ReturnStatus.REJECTED
    assert words_of(request.rejection_reason) == "fora do prazo combinado com a cliente"


def test_new_cancellation_details_and_return_reasons_are_stored_only_encrypted():
    app = EventStoreApp(env=memory_env("free-text"))
    m = Mapper(transcoder=app.construct_transcoder())
    old = m.to_domain_event(order_rows()[0])
    order = Order.place(
        customer_id="c1",
        cart_id=old.cart_id,
        lines=old.lines,
        shipping_address=PersonalData("c1", {"city": "Recife"}),
        payment_method=old.payment_method,
    )
    order.cancel("customer_request", "achei mais barato noutro lugar")
    request = Return.request(
        order_id=order.id, customer_id="c1", lines=old_return_lines(), reason="chegou quebrado"
    )
    request.reject("a caixa veio aberta")
    rows = [m.to_stored_event(e) for e in [*order.collect_events(), *request.collect_events()]]
    assert not [r for r in rows if b"barato" in r.state or b"quebrado" in r.state]
    assert not [r for r in rows if b"caixa" in r.state]
    read = [m.to_domain_event(r) for r in rows]
    assert words_of(read[1].detail) == "achei mais barato noutro lugar"
    assert words_of(read[2].reason) == "chegou quebrado"
    assert words_of(read[3].reason) == "a caixa veio aberta"
    key_store_from(app.env).destroy("c1")  # erasure
    read = [m.to_domain_event(r) for r in rows]
    assert [words_of(read[1].detail), words_of(read[2].reason), words_of(read[3].reason)] == [
        {"erased": True}
    ] * 3


def test_version_1_review_rejection_reasons_read_as_words_of_no_named_subject():
    m = mapper()
    submitted, rejected = (m.to_domain_event(stored(r)) for r in REVIEW_ROWS)
    reason = "cita o telefone da autora, 81 99999-0000"
    assert rejected.reason == PersonalData("", {"text": reason})
    review = rejected.mutate(submitted.mutate(None))
    assert review.status is ReviewStatus.REJECTED
    assert words_of(review.rejection_reason) == reason


def test_new_review_rejection_reasons_are_stored_only_encrypted_and_erased_with_the_author():
    app = EventStoreApp(env=memory_env("review-words"))
    m = Mapper(transcoder=app.construct_transcoder())
    review = Review.submit(
        product_id=UUID(int=7),
        customer_id="c9",
        order_id=UUID(int=8),
        sku="CAM-P-AZ",
        rating=2,
        author="Ana",
        title="Não gostei",
        words="Rasgou",
    )
    review.reject("cita o telefone da autora, 81 99999-0000")
    rows = [m.to_stored_event(e) for e in review.collect_events()]
    assert not [r for r in rows if b"99999" in r.state or b"telefone" in r.state]
    assert words_of(m.to_domain_event(rows[1]).reason) == "cita o telefone da autora, 81 99999-0000"
    key_store_from(app.env).destroy("c9")  # erasure
    assert words_of(m.to_domain_event(rows[1]).reason) == {"erased": True}
    # A moderator rejecting an erased author's review keeps no words about them.
    erased = m.to_domain_event(rows[0]).mutate(None)
    erased.reject("outra razão")
    assert erased.rejection_reason is None


def test_a_customer_whose_data_was_erased_has_no_new_words_kept():
    m = mapper()
    order = None
    for row in order_rows()[:3]:  # placed, reserved, confirmed; its key is not here: erased
        order = m.to_domain_event(row).mutate(order)
    order.cancel("customer_request", "não quero mais")
    assert order.cancellation_detail is None
    request = Return.request(
        order_id=order.id,
        customer_id="c1",
        lines=old_return_lines(),
        reason="não serviu",
        subject_erased=order.shipping_address.erased,
    )
    assert request.reason is None


def old_return_lines():
    return list(mapper().to_domain_event(stored(RETURN_ROWS[0])).lines)


def test_returns_stored_before_withdrawals_existed_read_as_withdrawals_without_shipping():
    requested = mapper().to_domain_event(stored(RETURN_ROWS[0]))
    assert (requested.kind, requested.shipping_refund) == ("withdrawal", Money.zero())
    assert requested.mutate(None).refund == sum(
        (line.refund for line in requested.lines), Money.zero()
    )
