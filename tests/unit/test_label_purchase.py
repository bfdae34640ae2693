"""A label is bought in recorded steps (asked for, opened in the carrier's cart, bought) so a
purchase cut short resumes with the same label; the domain's side of it, no I/O."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from domain.order import (
    IllegalOrderTransitionError,
    LabelUnderWayError,
    Order,
    PaymentMethod,
)
from domain.personal import PersonalData
from tests.checkout import ADDRESS


def confirmed() -> Order:
    order = Order.place(
        customer_id="ana",
        cart_id=uuid4(),
        lines=[],
        shipping_address=PersonalData("ana", ADDRESS.to_dict()),
        payment_method=PaymentMethod("card", "tok", "visa", "4242"),
    )
    order.mark_stock_reserved()
    order.confirm(UUID(int=7))
    return order


def test_asking_again_for_the_same_service_resumes_and_another_is_refused():
    order = confirmed()
    assert order.request_label("2") is True
    assert order.request_label("2") is False  # recorded already: resume
    with pytest.raises(LabelUnderWayError, match="service 2"):
        order.request_label("1")


def test_a_label_opens_once_and_only_after_it_was_asked_for():
    order = confirmed()
    with pytest.raises(IllegalOrderTransitionError):
        order.open_label("L1", "Correios", "SEDEX")
    order.request_label("2")
    order.open_label("L1", "Correios", "SEDEX")
    assert (order.label_id, order.label_carrier, order.label_service_name) == (
        "L1",
        "Correios",
        "SEDEX",
    )
    with pytest.raises(IllegalOrderTransitionError):
        order.open_label("L2", "Correios", "SEDEX")


def test_a_refused_service_is_given_up_and_another_may_be_asked_for():
    order = confirmed()
    order.request_label("99")
    order.abandon_label("melhorenvio: The given data was invalid.")
    assert order.label_service is None
    assert order.request_label("1") is True
    order.open_label("L1", "Correios", "PAC")
    order.abandon_label("too late")  # something is in the cart: kept
    assert order.label_service == "1"
    types = [type(e).__qualname__ for e in order.collect_events()]
    assert types[-4:] == [
        "Order.LabelRequested",
        "Order.LabelAbandoned",
        "Order.LabelRequested",
        "Order.LabelOpened",
    ]


def test_a_carriers_refusal_with_nul_or_a_lone_surrogate_is_recorded_cleaned_and_cut():
    from application.transcoder import OrjsonTranscoder

    order = confirmed()
    order.request_label("99")
    order.abandon_label("melhorenvio: bad\x00 \ud800 data" + "x" * 1000)
    [*_, abandoned] = order.collect_events()
    assert abandoned.reason.startswith("melhorenvio: bad\ufffd \ufffd data")
    assert len(abandoned.reason) == 500
    OrjsonTranscoder().encode({"reason": abandoned.reason})  # storable: it raised before
