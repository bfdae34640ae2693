"""NF-e: the sale's note when the order is confirmed (or shipped: `invoice_on`), cancelled
when a confirmed order is cancelled within the SEFAZ's 24 hours, and a return note when a
return is received. Run by workers from the effects table; a provider that is down or still
processing makes the worker try again later, never blocks the order."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from application.errors import RetryLaterError
from application.event_store import CommandResult, EventStore
from application.fiscal import (
    FiscalDocument,
    FiscalError,
    FiscalItem,
    FiscalProvider,
    FiscalRecipient,
    FiscalStatus,
)
from application.orders import OrderService
from domain.base import now
from domain.customer import Customer
from domain.invoice import CANCEL_WINDOW, Invoice, InvoiceStatus
from domain.money import Money
from domain.order import CANCELLED, Order
from domain.product_taxes import ProductTaxes
from domain.returns import Return

CANCEL_JUSTIFICATION = "Pedido cancelado antes do envio da mercadoria"


class InvoiceService:
    def __init__(
        self,
        store: EventStore,
        orders: OrderService,
        fiscal: FiscalProvider | None,  # None: no NF-e is issued
        invoice_on: str = "confirmed",  # or "shipped"
    ):
        self.store = store
        self.orders = orders
        self.fiscal = fiscal
        self.invoice_on = invoice_on

    def set_product_taxes(self, sku: str, ncm: str, origin: int, cfop: str) -> CommandResult | None:
        self.orders.catalog.stock_item(sku)  # 404 for an unknown SKU
        taxes = self.product_taxes(sku)
        if taxes is None:
            return self.store.commit(ProductTaxes.define(sku, ncm, origin, cfop))
        return self.store.commit(taxes) if taxes.change(ncm, origin, cfop) else None

    def product_taxes(self, sku: str) -> ProductTaxes | None:
        return self.store.load(ProductTaxes, ProductTaxes.create_id(sku))

    def issue_invoice(self, order_id: UUID) -> CommandResult | None:
        """Run when the order is confirmed or shipped, as `invoice_on` says (effects table)."""
        if self.fiscal is None:
            return None
        order = self.orders.order_of(order_id)
        invoice = self._invoice(order.id)
        if invoice.status is not InvoiceStatus.REQUESTED:
            return None
        cancelled = order.status == CANCELLED
        if cancelled and invoice.pending_events:
            return None  # never asked for: a cancelled order gets none
        lines = [(line.sku, line.quantity) for line in order.lines]
        document = self._document(order, invoice.reference, lines)
        result = self._settle_invoice(invoice, document)
        if cancelled and invoice.status is InvoiceStatus.ISSUED:
            # asked for before the cancellation and authorized after it: cancel it too
            return self.cancel_invoice(order.id) or result
        return result

    def issue_return_invoice(self, return_id: UUID) -> CommandResult | None:
        if self.fiscal is None:
            return None
        request: Return = self.return_of_id(return_id)
        sale = self.store.load(Invoice, Invoice.create_id(request.order_id))
        if sale is None:
            return None  # no NF-e of the sale (none configured then): none of its return
        if sale.access_key is None:
            raise RetryLaterError(f"the sale NF-e of {request.order_id} is not issued yet")
        order = self.orders.order_of(request.order_id)
        invoice = self._invoice(order.id, request.id)
        if invoice.status is not InvoiceStatus.REQUESTED:
            return None
        lines = [(line.sku, line.quantity) for line in request.lines]
        document = self._document(order, invoice.reference, lines, refers_to=sale.access_key)
        return self._settle_invoice(invoice, document)

    def cancel_invoice(self, order_id: UUID) -> CommandResult | None:
        """A cancelled order's NF-e, if issued within the last 24 h; older ones are left for
        the shop's accountant (a note of estorno), and say so in the log of the worker."""
        invoice = self.store.load(Invoice, Invoice.create_id(order_id))
        if self.fiscal is None or invoice is None:
            return None
        if invoice.status is InvoiceStatus.REQUESTED:
            # not issued (yet): asking again must not issue it for a cancelled order
            return self.store.commit(invoice) if invoice.record_failure("order cancelled") else None
        if invoice.status is InvoiceStatus.ISSUED:
            if now() - invoice.modified_on > CANCEL_WINDOW:
                return None
            invoice.request_cancel(CANCEL_JUSTIFICATION)
        if invoice.status is not InvoiceStatus.CANCEL_REQUESTED:
            return None
        status = self._ask(lambda f: f.cancel(invoice.reference, CANCEL_JUSTIFICATION))
        if status.state == "cancelled":
            invoice.record_cancelled()
        return self.store.commit(invoice)

    # ------------------------------------------------------------------------------------
    def return_of_id(self, return_id: UUID) -> Return:
        found = self.store.load(Return, return_id)
        if found is None:
            raise RetryLaterError(f"no return {return_id} yet")
        return found

    def _invoice(self, order_id: UUID, return_id: UUID | None = None) -> Invoice:
        found = self.store.load(Invoice, Invoice.create_id(order_id, return_id))
        return found or Invoice.request(order_id, return_id)

    def _ask(self, call: Callable[[FiscalProvider], FiscalStatus]) -> FiscalStatus:
        """What the provider says; a refusal reads as `rejected` with its reason; an outage
        or a timeout makes the worker try again later."""
        assert self.fiscal is not None
        try:
            status = call(self.fiscal)
        except FiscalError as error:
            if error.retryable:
                raise RetryLaterError(str(error)) from None
            return FiscalStatus(state="rejected", message=str(error))
        return status

    def _settle_invoice(
        self, invoice: Invoice, document: FiscalDocument | str
    ) -> CommandResult | None:
        """Ask the provider, record what it says; still processing: try again later."""
        if isinstance(document, str):
            changed = invoice.record_failure(document)
        else:
            status = self._ask(lambda f: f.issue(document))
            if status.state == "processing":
                if invoice.pending_events:  # a new request: keep it, then ask again later
                    self.store.commit(invoice)
                raise RetryLaterError(f"NF-e {invoice.reference} is being authorized")
            if status.state == "authorized":
                changed = invoice.record_issued(
                    status.access_key, status.number, status.series, status.danfe_url, status.taxes
                )
            else:
                reason = without_recipient(status.message or status.state, document.recipient)
                changed = invoice.record_failure(reason)
        return self.store.commit(invoice) if changed or invoice.pending_events else None

    def _document(
        self,
        order: Order,
        reference: str,
        lines: list[tuple[str, int]],
        refers_to: str | None = None,
    ) -> FiscalDocument | str:
        """The document, or why it cannot be made (a reason the admin can act on)."""
        address = order.shipping_address.value
        if address is None:
            return "the customer's data was erased"
        customer = self.store.load(Customer, Customer.create_id(order.customer_id))
        profile = (customer.profile.value if customer and customer.profile else None) or {}
        payer = order.payer.value if order.payer is not None else None
        cpf = (
            (profile.get("cpf") or (payer or {}).get("cpf") or "").replace(".", "").replace("-", "")
        )
        items = []
        for sku, quantity in lines:
            taxes = self.product_taxes(sku)
            if taxes is None:
                return f"{sku} has no NCM, origin and CFOP (PUT /stock-items/{sku}/fiscal)"
            line = order.line(sku)
            items.append(
                FiscalItem(
                    sku, line.name, quantity, line.unit_price, taxes.ncm, taxes.origin, taxes.cfop
                )
            )
        returning = refers_to is not None
        return FiscalDocument(
            reference=reference,
            items=items,
            recipient=FiscalRecipient(
                name=profile.get("name") or "Consumidor",
                cpf=cpf,
                line1=address["line1"],
                city=address["city"],
                state=address["state"],
                postal_code=address["postal_code"],
            ),
            freight=Money.zero() if returning else order.totals.shipping,
            discount=Money.zero() if returning else order.totals.discount,
            is_return=returning,
            refers_to=refers_to,
            nature="Devolução de venda" if returning else "Venda de mercadoria",
        )


def without_recipient(message: str, recipient: FiscalRecipient) -> str:
    """A provider's or the SEFAZ's refusal, as kept in the log (in clear, for an admin): the
    recipient's name, CPF and address may be echoed in it and are personal data, so they
    are masked before it is stored."""
    cpf, cep = recipient.cpf, recipient.postal_code.replace("-", "")
    personal = [recipient.name, recipient.line1, cpf, cep, f"{cep[:5]}-{cep[5:]}"]
    if len(cpf) == 11:
        personal.append(f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}")
    for value in sorted((v for v in personal if len(v) >= 3), key=len, reverse=True):
        message = message.replace(value, "***")
    return message
