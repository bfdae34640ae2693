"""The search answer's bytes built without the response model (`answer_body`, what the
in-process index answers with) are the model's; a hit the model would refuse takes the
model's path and fails as it does."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from api.http.routers.products import _public, answer_body
from api.http.stored import canonical
from projections.search import ProductHit, SearchResult


def hit(sku: str, price: str, **fields) -> ProductHit:
    return ProductHit(
        sku=sku,
        name=fields.pop("name", f"Produto {sku} — “ação”"),
        price=Decimal(price),
        available=fields.pop("available", 3),
        certifications=fields.pop("certifications", ["FSC", "Orgânico Brasil"]),
        carbon_footprint_kg="1.250",
        **fields,
    )


RESULTS = [
    SearchResult(total=0, items=[], facets={"category": {}, "certification": {}, "price": {}}),
    SearchResult(
        total=3,
        items=[
            hit("A-1", "10.00", sustainability_score=72, rating_average=Decimal("4.50")),
            hit("B-2", "0.50", in_stock=False, rating_count=7, certifications=[]),
            hit("C-3", "99999999.99", name="x" * 200),
        ],
        facets={
            "category": {"casa": 2, "alimentos": 1},
            "certification": {"FSC": 2},
            "price": {"-25": 2, "500-": 1},
        },
    ),
    SearchResult(total=1, items=[hit("D-4", "5")], facets={"category": {"casa": 1}}),
]


@pytest.mark.parametrize("result", RESULTS)
def test_the_bytes_are_the_response_models(result):
    assert answer_body(result) == canonical(_public(result).model_dump(mode="json"))


def test_a_price_the_model_refuses_fails_as_the_model_fails():
    result = SearchResult(total=1, items=[hit("E-5", "123456789.00")])
    with pytest.raises(ValidationError):
        answer_body(result)
