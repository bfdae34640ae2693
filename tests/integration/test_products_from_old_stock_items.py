"""Stock items stored before products existed read as single-variant products (issue 28).

The rows are verbatim: `events_v1_stock_item.json` as the first version wrote them, and
`events_v3_stock_item_before_products.json` (events and a snapshot) as the code just before
products wrote them, with that code's own mapper. They go in below the mapper, as stored.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from application.products import ProductInput, VariantInput
from domain.base import EventMetadata, event_context
from domain.money import Money
from domain.product import SustainabilityProfile
from domain.stock_item import StockItem
from infrastructure.bootstrap import bootstrap
from infrastructure.read_stores.projection_admin import rebuild

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
V1 = json.loads((FIXTURES / "events_v1_stock_item.json").read_text())
V3 = json.loads((FIXTURES / "events_v3_stock_item_before_products.json").read_text())
MUG = UUID(V3["rows"][0]["originator_id"])
BRUSH = UUID(V1["rows"][0]["originator_id"])
TODAY = date(2026, 12, 7)


def stored(row: dict) -> StoredEvent:
    return StoredEvent(
        UUID(row["originator_id"]), row["originator_version"], row["topic"], row["state"].encode()
    )


@pytest.fixture
def old_system(settings):
    system = bootstrap(settings)
    system.services.store.recorder.insert_events([stored(r) for r in V1["rows"] + V3["rows"]])
    system.services.store.snapshots.recorder.insert_events([stored(r) for r in V3["snapshots"]])
    yield system
    system.close()


def test_the_fixture_rows_predate_products(old_system):
    assert all('"product_id"' not in r["state"] for r in V1["rows"] + V3["rows"])
    assert '"class_version":3' in V3["rows"][0]["state"]
    assert '"variant_of"' not in V3["snapshots"][0]["state"]


def test_an_old_registration_reads_as_a_variant_of_its_own_product(old_system):
    for item_id in (BRUSH, MUG):
        registered = next(iter(old_system.services.store.repository.event_store.get(item_id)))
        assert isinstance(registered, StockItem.Registered)
        assert (registered.product_id, registered.gtin) == (item_id, "")


def test_an_old_snapshot_loads_with_its_own_product_and_no_gtin(old_system):
    item = old_system.services.catalog.stock_item("ECO-0077")
    assert item.variant_of is None  # read from the old snapshot (events would say MUG)
    assert (item.version, item.on_hand, item.price) == (3, 15, Money(Decimal("42.50")))
    assert (item.product_id, item.gtin) == (MUG, "")
    with event_context(EventMetadata("admin:ops")):
        old_system.services.catalog.receive_stock("ECO-0077", 1)
        old_system.services.products.change_gtin("ECO-0077", "7891000315507")
    item = old_system.services.catalog.stock_item("ECO-0077")
    assert (item.on_hand, item.gtin, item.product_id) == (16, "7891000315507", MUG)


def test_old_stock_items_are_single_variant_products_in_the_read_model(old_system):
    rebuild(old_system, "products")
    products = old_system.readers.products
    mug = products.get(str(MUG), TODAY)
    assert products.get("caneca-de-fibra-de-bambu-eco-0077", TODAY) == mug
    assert (mug["legacy"], mug["name"], mug["category_path"]) == (
        True,
        "Caneca de fibra de bambu",
        ["cozinha"],
    )
    [variant] = mug["variants"]
    assert (variant["sku"], variant["price"]["amount"], variant["available"]) == (
        "ECO-0077",
        "42.50",
        15,
    )
    assert mug["price_min"] == mug["price_max"] == {"amount": "42.50", "currency": "BRL"}
    # Bare certification names are shown, but are no evidence: they do not score.
    assert [(c["name"], c["counts"]) for c in mug["certifications"]] == [
        ("FSC", False),
        ("Vegano", False),
    ]
    # 40 x (10 - 0.4)/10 = 38.4, biodegradable: 15 x 100% = 15; packaging unknown.
    assert mug["sustainability_score"] == 53
    brush = products.get(str(BRUSH), TODAY)
    assert (brush["variants"][0]["available"], brush["slug"]) == (17, "escova-de-bambu-eco-0042")


def test_old_items_and_new_products_live_side_by_side_in_one_tree(old_system):
    services = old_system.services
    with event_context(EventMetadata("admin:ops")):
        services.products.add_category("cozinha", "Cozinha")
        services.products.add_category("canecas", "Canecas", "cozinha")
        services.products.create_product(
            ProductInput(
                slug="caneca-esmaltada",
                name="Caneca esmaltada",
                description="Aço esmaltado",
                option_names=("cor",),
                variants=[
                    VariantInput("CAN-ESM-BR", {"cor": "branca"}, Money(Decimal("59.00")), 4)
                ],
                profile=SustainabilityProfile(),
                category="canecas",
            )
        )
    rebuild(old_system, "products")
    [cozinha] = old_system.readers.products.categories()
    # The old mug's free-text category "Cozinha" is the tree's "cozinha" now.
    assert (cozinha["count"], cozinha["children"][0]["count"]) == (2, 1)
