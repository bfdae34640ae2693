from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.auth import issue_token
from application.errors import StockItemNotFoundError
from infrastructure.bootstrap import Container
from infrastructure.keys.data_keys import generate_master_key
from infrastructure.settings import Settings
from tests.checkout import wait_until
from tests.conftest import JWT_SECRET

Auth = Callable[..., dict[str, str]]


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def auth() -> Auth:
    def headers(role: str = "customer", sub: str = "cliente-1", **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(JWT_SECRET, sub, role, 600)}", **extra}  # type: ignore[arg-type]

    return headers


PRODUCT = {
    "sku": "ECO-0100",
    "name": "Garrafa Térmica de Inox",
    "description": "Aço inox reciclável",
    "category": "casa",
    "price": {"amount": "129.90", "currency": "BRL"},
    "initial_quantity": 10,
    "sustainability": {
        "carbon_footprint_kg": "3.200",
        "certifications": ["B Corp"],
        "recyclable": True,
        "biodegradable": False,
    },
}


@pytest.fixture
def product(client: TestClient, auth: Auth) -> dict:
    response = client.post("/api/v1/stock-items", json=PRODUCT, headers=auth("admin", "adm"))
    assert response.status_code == 201, response.text
    # Wait until the catalog's read model has it (tests read stock right away), through the
    # reader, not HTTP: tests count the requests they make.
    readers = client.app.state.container.readers

    def projected() -> bool:
        try:
            return bool(readers.stock_items.get(PRODUCT["sku"]))
        except StockItemNotFoundError:
            return False

    wait_until(projected, what=f"{PRODUCT['sku']} in the stock_items read model")
    return {**PRODUCT, **response.json()}


def configured(database_url: str, redis_url: str, tmp_path: object, **extra: object) -> Settings:
    """The e2e system on the test servers in its own data dir, with `extra` settings (a
    provider's fake, a feature turned on) by their environment names."""
    return Settings(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        ECOVAREJO_DATA_DIR=tmp_path,
        ECOVAREJO_JWT_SECRET=JWT_SECRET,
        ECOVAREJO_MASTER_KEY=generate_master_key(),
        **extra,
    )
