"""Every aggregate of the domain, listed once.

Auditors name event types by it (`replay --type Order.Placed`); a unit test checks that each
subclass of `EcoAggregate` in `domain/` is listed, so a new aggregate cannot be forgotten.
"""

from __future__ import annotations

from domain.account import Account
from domain.base import EcoAggregate
from domain.cart import Cart
from domain.category import CategoryTree
from domain.customer import Customer
from domain.invoice import Invoice
from domain.order import Order
from domain.payment import Payment
from domain.personal import DataSubject
from domain.product import Product
from domain.product_media import ProductMedia
from domain.product_taxes import ProductTaxes
from domain.promotion import Promotion
from domain.returns import Return
from domain.review import Review
from domain.settlement import Settlement
from domain.shipping import ShippingRates
from domain.stock_item import StockItem
from domain.webhook import WebhookDelivery

AGGREGATES: tuple[type[EcoAggregate], ...] = (
    StockItem,
    Cart,
    Order,
    Payment,
    DataSubject,
    Promotion,
    Return,
    ShippingRates,
    Customer,
    WebhookDelivery,
    Invoice,
    ProductTaxes,
    Settlement,
    Account,
    ProductMedia,  # issue 28: images (object-store references)
    Review,  # issue 28: reviews and ratings
    Product,
    CategoryTree,
)
