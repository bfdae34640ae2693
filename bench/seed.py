"""Filling the log fast: aggregates built in memory and saved 100 per `save` (one
transaction, one table lock, 100 rows through the hash-chain trigger)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import TypeVar

from application.services import Services
from domain.base import EventMetadata, event_context
from domain.card import Address, CardDetails
from domain.money import Money
from domain.stock_item import StockItem
from infrastructure.bootstrap import Container

BATCH = 100
CATEGORIES = ("casa", "alimentos", "moda", "higiene", "escritorio", "jardim", "infantil")
CERTIFICATIONS = ("FSC", "IBD", "B Corp", "Fair Trade", "Vegan", "Orgânico Brasil")
WORDS = (
    *("garrafa", "térmica", "inox", "bambu", "escova", "dental", "café", "orgânico"),
    *("sabonete", "vegetal", "camiseta", "algodão", "reciclado", "caderno", "papel"),
    *("semente", "horta", "vaso", "biodegradável", "shampoo", "sólido", "canudo", "vidro"),
    *("sacola", "lona", "mochila", "pet", "copo", "fibra", "coco", "toalha", "linho"),
    *("vela", "soja"),
)
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def product(i: int) -> StockItem:
    """A varied product, so full-text search and facets have something to do."""
    words = [WORDS[(i * 7 + k * 13) % len(WORDS)] for k in range(3)]
    return StockItem.register(
        sku=f"BENCH-P{i:06d}",
        name=" ".join(words).title(),
        description=f"{' '.join(reversed(words))} sustentável, lote {i % 97}",
        category=CATEGORIES[i % len(CATEGORIES)],
        price=Money.brl(f"{5 + (i * 37) % 500}.{i % 100:02d}"),
        initial_quantity=i % 50,
        sustainability={
            "carbon_footprint_kg": f"{(i % 40) / 10:.1f}",
            "certifications": [CERTIFICATIONS[i % len(CERTIFICATIONS)]]
            + ([CERTIFICATIONS[(i + 2) % len(CERTIFICATIONS)]] if i % 3 == 0 else []),
            "recyclable": i % 2 == 0,
        },
    )


def register(container: Container, skus: list[str], quantity: int = 0) -> None:
    """Plain stock items, registered one command each (as an admin would)."""
    with event_context(EventMetadata("admin:bench", "bench-setup", "bench")):
        for sku in skus:
            container.services.catalog.register_stock_item(
                sku=sku,
                name=f"Produto {sku}",
                description="bench",
                category="casa",
                price=Money.brl("10.00"),
                initial_quantity=quantity,
                sustainability={"carbon_footprint_kg": "1.0", "certifications": ["FSC"]},
            )


def seed_products(services: Services, count: int) -> list[StockItem]:
    """`count` stock items, one Registered event each."""
    items = [product(i) for i in range(count)]
    with event_context(EventMetadata("system:bench", "bench-seed", "bench")):
        for chunk in chunks(items):
            services.store.save(*chunk)
    return items


def seed_receipts(services: Services, items: list[StockItem], events: int) -> int:
    """Stock receipts spread over `items` until `events` more events are in the log."""
    written = 0
    with event_context(EventMetadata("system:bench", "bench-seed", "bench")):
        for chunk in itertools.cycle(list(chunks(items))):
            if written >= events:
                break
            for item in chunk:
                item.receive(1)
            services.store.save(*chunk)
            written += len(chunk)
    return written


def seed_orders(services: Services, sku: str, count: int) -> None:
    """Carts checked out into orders (no saga running: they stay pending). They bring
    encrypted personal data into the log, as real orders do."""
    address = Address("Rua das Flores 10", "apto 2", "Recife", "PE", "50010-000")
    card = CardDetails("4242424242424242", "12/39", "123", "Ana Souza")
    for i in range(count):
        customer = f"bench-customer-{i}"
        with event_context(EventMetadata(f"customer:{customer}", f"bench-{i}", "bench")):
            cart_id = services.checkout.create_cart(customer).aggregate_id
            services.checkout.add_cart_item(cart_id, customer, sku, 1)
            services.checkout.checkout(cart_id, customer, address, card)
