"""The edge returns stored public documents as they are, without validating them: every
document a projector stores for the API must be exactly what the response model would
produce (same fields, same values, nothing more)."""

from __future__ import annotations

from decimal import Decimal

import orjson

from api.http.schemas import StockItemPublic
from domain.money import Money
from infrastructure.read_stores.projection_admin import rebuild
from tests.checkout import register


def public_documents(container) -> dict[str, bytes]:
    client = container.redis
    generation = (client.get("ev:stock_items:active") or b"g1").decode()
    prefix = f"ev:stock_items:{generation}:stock-public:"
    return {key.decode(): client.get(key) for key in client.scan_iter(match=prefix + "*")}


def assert_matches_model(body: bytes) -> None:
    doc = orjson.loads(body)
    assert StockItemPublic.model_validate(doc).model_dump(mode="json") == doc


def test_every_stored_stock_item_document_is_its_response_model_exactly(container):
    services = container.services
    register(services, "ECO-1", 10)
    register(services, "ECO-2", 0, price="0.10")
    services.catalog.receive_stock("ECO-2", 5)
    services.catalog.adjust_stock("ECO-1", -2, "avaria")
    services.catalog.change_price("ECO-1", Money(Decimal("1234.50"), "BRL"))
    services.catalog.edit_stock_item(
        "ECO-2",
        name="Nome novo, com “aspas” e \\ barra",
        description="descrição",
        category="jardim",
        weight_grams=1200,
        sustainability={"carbon_footprint_kg": "0.250", "certifications": ["FSC", "GOTS"]},
    )
    services.catalog.archive_stock_item("ECO-1")
    assert container.wait_for_projections(container.head_position(), timeout=30)
    live = public_documents(container)
    assert len(live) == 2
    for body in live.values():
        assert_matches_model(body)
    rebuild(container, "stock_items")  # a rebuilt generation stores the same bytes
    assert sorted(public_documents(container).values()) == sorted(live.values())
