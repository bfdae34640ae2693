"""The command side of EcoVarejo: one application over the one log.

Each method is get -> change -> save. Methods take plain values (already shaped by the
edge) and return a `CommandResult`; aggregates that must change together are saved in one
`save`, so they commit together.
"""

from __future__ import annotations

from application.card_actions import CardAuthenticationCommands
from application.carts import CartCommands
from application.catalog import CatalogCommands
from application.catalog_import import CatalogImportCommands
from application.checkout.payments import PaymentCommands
from application.invoices import InvoiceCommands
from application.labels import LabelCommands
from application.lgpd import DataSubjectCommands
from application.products import ProductCommands
from application.promotions import PromotionCommands
from application.returns import ReturnCommands


class Shop(
    CatalogCommands,
    CartCommands,
    PromotionCommands,
    ReturnCommands,  # and the OrderCommands it builds on
    LabelCommands,
    InvoiceCommands,
    CardAuthenticationCommands,  # 3-D Secure, on the PaymentCommands
    PaymentCommands,
    DataSubjectCommands,
    CatalogImportCommands,  # catalog files (issue 26)
    ProductCommands,  # products, variants, categories, certifications (issue 28)
):
    pass
