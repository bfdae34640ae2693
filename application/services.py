"""The application layer as the edge, the workers and the CLI see it: one service per area,
each constructed with its collaborators and its settings, all over the one `EventStore`.

| area | service | module |
|---|---|---|
| catalog (and catalog files) | `CatalogService` | `application/catalog.py` |
| promotions (coupons) | `PromotionService` | `application/promotions.py` |
| shipping (rates) | `ShippingService` | `application/shipping.py` |
| carts and checkout (card, Pix, boleto) | `CheckoutService` | `application/checkout/carts.py` |
| payments, webhooks, 3-D Secure | `PaymentService` | `application/checkout/payments.py` |
| orders | `OrderService` | `application/orders.py` |
| carrier labels | `LabelService` | `application/labels.py` |
| returns | `ReturnService` | `application/returns.py` |
| NF-e | `InvoiceService` | `application/invoices.py` |
| customers | `CustomerService` | `application/customers.py` |
| data subjects (LGPD) | `DataSubjectService` | `application/lgpd.py` |

`build` is the one place they are put together (the wiring, `infrastructure/bootstrap.py`,
calls it with what the settings say); `COMMANDS` names the commands workers may run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from eventsourcing.utils import EnvType

from application.audit import EventLog
from application.carriers import Carrier
from application.catalog import CatalogService
from application.checkout.carts import CheckoutService
from application.checkout.effects import COMMANDS
from application.checkout.payments import PaymentDeadlines, PaymentService
from application.customers import CustomerService
from application.event_store import EventStore
from application.fiscal import FiscalProvider
from application.invoices import InvoiceService
from application.labels import LabelService
from application.lgpd import AccountHooks, DataSubjectService
from application.orders import OrderService
from application.ports import Notifier, PaymentGateway
from application.products import ProductService
from application.promotions import PromotionService
from application.returns import ReturnService
from application.shipping import ShippingService
from domain.delivery import DEFAULT_WINDOWS, ReturnWindows


@dataclass(frozen=True)
class ServiceSettings:
    """The settings the services take (bootstrap reads them from `Settings`)."""

    deadlines: PaymentDeadlines = field(default_factory=PaymentDeadlines)
    interest_free_installments: int = 6
    raw_cards_allowed: bool = True  # card numbers reach the sandbox: never in production
    return_windows: ReturnWindows = DEFAULT_WINDOWS
    ship_from_postal_code: str = "01310-100"
    invoice_on: str = "confirmed"  # or "shipped"
    shipping_quote_valid_for: timedelta = timedelta(hours=1)  # a carrier's quote, charged


@dataclass
class Services:
    store: EventStore
    catalog: CatalogService
    promotions: PromotionService
    shipping: ShippingService
    checkout: CheckoutService
    payments: PaymentService
    orders: OrderService
    labels: LabelService
    returns: ReturnService
    invoices: InvoiceService
    customers: CustomerService
    data_subjects: DataSubjectService
    products: ProductService  # products, variants, categories, certificates (issue 28)
    event_log: EventLog | None = None  # the raw log reader (PostgreSQL only): audit, LGPD
    commands: dict[str, Callable[..., Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.commands = command_table(self)

    @classmethod
    def open(
        cls,
        env: EnvType | None = None,
        *,
        gateways: Sequence[PaymentGateway] = (),
        notifier: Notifier | None = None,
        **collaborators: Any,
    ) -> Services:
        """The services over a new event store on `env` (tests, tools): see `build`."""
        return build(EventStore(env=env), gateways=gateways, notifier=notifier, **collaborators)


def build(
    store: EventStore,
    *,
    gateways: Sequence[PaymentGateway] = (),
    notifier: Notifier | None = None,
    carrier: Carrier | None = None,
    fiscal: FiscalProvider | None = None,
    event_log: EventLog | None = None,
    account_hooks: AccountHooks | None = None,
    settings: ServiceSettings = ServiceSettings(),
) -> Services:
    """Every service, each handed the collaborators it uses."""
    catalog = CatalogService(store)
    promotions = PromotionService(store, catalog)
    shipping = ShippingService(store, catalog)
    orders = OrderService(store, catalog, notifier)
    customers = CustomerService(store, catalog, notifier)
    products = ProductService(store, catalog)
    catalog.products = products  # catalog files create products with their variants
    return Services(
        store=store,
        catalog=catalog,
        promotions=promotions,
        shipping=shipping,
        checkout=CheckoutService(
            store,
            catalog,
            promotions,
            shipping,
            gateways,
            interest_free_installments=settings.interest_free_installments,
            raw_cards_allowed=settings.raw_cards_allowed,
            carrier=carrier,
            ship_from_postal_code=settings.ship_from_postal_code,
            quote_valid_for=settings.shipping_quote_valid_for,
        ),
        payments=PaymentService(store, gateways, settings.deadlines),
        orders=orders,
        labels=LabelService(store, orders, carrier, settings.ship_from_postal_code),
        returns=ReturnService(store, orders, settings.return_windows),
        invoices=InvoiceService(store, orders, fiscal, settings.invoice_on),
        customers=customers,
        data_subjects=DataSubjectService(store, customers, event_log, account_hooks),
        products=products,
        event_log=event_log,
    )


def command_table(services: Services) -> dict[str, Callable[..., Any]]:
    """What a worker runs for each command of the effects table (application/checkout/
    effects.py `COMMANDS`): the service method, by name. Written out, so that finding who
    carries out `expire_payment` is one search; a test checks it covers `COMMANDS`."""
    payments, orders, invoices = services.payments, services.orders, services.invoices
    labels = services.labels
    table: dict[str, Callable[..., Any]] = {
        "authorize_payment": payments.authorize_payment,
        "capture_payment": payments.capture_payment,
        "void_payment": payments.void_payment,
        "refund_payment": payments.refund_payment,
        "refund_extra_payments": payments.refund_extra_payments,
        "expire_payment": payments.expire_payment,
        "expire_authentication": payments.expire_authentication,
        "expire_order": orders.expire_order,
        "close_payment_retry": orders.close_payment_retry,
        "resume_label_purchase": labels.resume_label_purchase,
        "resume_return_label": labels.resume_return_label,
        "notify_order": orders.notify_order,
        "issue_invoice": invoices.issue_invoice,
        "cancel_invoice": invoices.cancel_invoice,
        "issue_return_invoice": invoices.issue_return_invoice,
    }
    missing = set(COMMANDS) - set(table)
    if missing:
        raise LookupError(f"no service carries out {sorted(missing)} (application/services.py)")
    return table


def command_runner(services: Services, command: str) -> Callable[..., Any]:
    """The service call a worker makes for `command`: the id parsed, the rest as is."""
    method = services.commands[command]

    def run(aggregate_id: str, *extra: str) -> Any:
        return method(UUID(aggregate_id), *extra)

    return run
