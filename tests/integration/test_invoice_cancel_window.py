"""NF-e and a cancelled order, on PostgreSQL with Focus NFe's local fake: within the SEFAZ's
24 hours the sale NF-e is cancelled; past them it stays authorized, the refusal recorded on
it with the reason, and one entry NF-e referring to it undoes the sale (never two)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.errors import RetryLaterError
from domain.base import EventMetadata, event_context
from domain.customer import Profile
from domain.invoice import Invoice, InvoiceStatus, reversal_invoice_id
from infrastructure.gateways.fiscal.focus_nfe import FocusNfe
from tests.checkout import check_out, fill_cart, register
from tests.fakes.focus_nfe import FakeFocusNfe

META = EventMetadata("test", "nfe-window", "")
CPF = "52998224725"


class Later:
    def __init__(self, delta: timedelta):
        self.delta = delta

    def now(self) -> datetime:
        return datetime.now(UTC) + self.delta


@pytest.fixture
def fiscal() -> Iterator[FakeFocusNfe]:
    with FakeFocusNfe() as server:
        yield server


def until_done(call: Callable[[], Any]) -> Any:
    for _ in range(20):
        try:
            return call()
        except RetryLaterError:
            continue
    raise AssertionError("the provider never finished")


def issued_order(world, fiscal: FakeFocusNfe) -> UUID:
    """A confirmed order whose sale NF-e the provider authorized."""
    world.services.invoices.fiscal = FocusNfe(fiscal.token, base_url=fiscal.url, timeout_s=1)
    with event_context(META):
        register(world.services, "ECO-1", 10, "30.00")
        world.services.invoices.set_product_taxes("ECO-1", "0901.11.00", 0, "5102")
        world.services.customers.update_profile(
            "ana", Profile.parse("Ana Souza", "ana@example.com.br", cpf=CPF)
        )
        order_id = check_out(world.services, fill_cart(world.services, {"ECO-1": 2}, "ana"))
        world.settle()
        until_done(lambda: world.services.invoices.issue_invoice(order_id))
    assert sale(world, order_id).status is InvoiceStatus.ISSUED
    return order_id


def sale(world, order_id: UUID) -> Invoice:
    found: Invoice = world.services.store.load(Invoice, Invoice.create_id(order_id))
    return found


def cancel(world, order_id: UUID, after: timedelta) -> None:
    with event_context(META):
        world.services.orders.cancel_order(order_id, "ana", "")
        world.settle()
    with event_context(META, Later(after)):
        until_done(lambda: world.services.invoices.cancel_invoice(order_id))


def test_within_24_hours_the_sale_nfe_is_cancelled(world, fiscal):
    order_id = issued_order(world, fiscal)
    cancel(world, order_id, timedelta(hours=23))
    assert sale(world, order_id).status is InvoiceStatus.CANCELLED
    assert [row["op"] for row in fiscal.ledger] == ["issue", "cancel"]


def test_past_24_hours_the_refusal_is_recorded_and_an_entry_nfe_undoes_the_sale(world, fiscal):
    order_id = issued_order(world, fiscal)
    cancel(world, order_id, timedelta(hours=25))
    kept = sale(world, order_id)
    assert kept.status is InvoiceStatus.ISSUED
    assert kept.cancel_refusal is not None
    assert "only within 24 hours" in kept.cancel_refusal
    reversal: Invoice = world.services.store.load(Invoice, reversal_invoice_id(order_id))
    assert (reversal.kind, reversal.status) == ("reversal", InvoiceStatus.ISSUED)
    sent = fiscal.notes[reversal.reference]["request"]
    assert sent["finalidade_emissao"] == 4
    assert sent["notas_referenciadas"] == [{"chave_nfe": kept.access_key}]
    assert [i["quantidade_comercial"] for i in sent["items"]] == [2]
    with event_context(META, Later(timedelta(hours=26))):  # the worker runs it again
        until_done(lambda: world.services.invoices.cancel_invoice(order_id))
    assert [row["op"] for row in fiscal.ledger] == ["issue", "issue"]  # one entry NF-e
