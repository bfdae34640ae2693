from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.auth import issue_token
from application.errors import StockItemNotFoundError
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.keys.data_keys import generate_master_key
from infrastructure.settings import Settings
from tests.checkout import wait_until
from tests.conftest import JWT_SECRET, Servers, new_database, plain_settings

Auth = Callable[..., dict[str, str]]


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container), raise_server_exceptions=False) as test_client:
        yield test_client


def auth_headers(role: str = "customer", sub: str = "cliente-1", **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(JWT_SECRET, sub, role, 600)}", **extra}  # type: ignore[arg-type]


@pytest.fixture
def auth() -> Auth:
    return auth_headers


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
def product(client: TestClient) -> dict:
    return register_product(client)


def register_product(client: TestClient) -> dict:
    response = client.post(
        "/api/v1/stock-items", json=PRODUCT, headers=auth_headers("admin", "adm")
    )
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


def redis_db(url: str, db: int) -> str:
    """`url` with another database number."""
    if url.startswith("unix://"):
        return f"{url.split('?')[0]}?db={db}"
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


@contextmanager
def shared_system(
    servers: Servers,
    tmp_path_factory: pytest.TempPathFactory,
    redis_number: int,
    settings_for: Callable[[str, str, Path], Settings] = plain_settings,
) -> Iterator[Container]:
    """One system for a module's read-only tests (module scope): its own database, and its
    own Redis database `redis_number` (the function-scoped `redis_url` flushes the servers'
    one between tests, which would empty this system's read models; the browser tests' is 3),
    flushed on entering and leaving. The tests that take it check on leaving that the log's
    head did not move (`unwritten`)."""
    redis_url = redis_db(servers.redis_url, redis_number)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        with new_database(servers) as database_url:
            settings = settings_for(database_url, redis_url, tmp_path_factory.mktemp("shared"))
            built = bootstrap(settings)
            built.start_processing()
            try:
                yield built
            finally:
                built.close()
    finally:
        client.flushdb()
        client.close()


@contextmanager
def unwritten(client: TestClient) -> Iterator[TestClient]:
    """`client`, for a block that must not append to its system's log: a read-only test on
    a shared system that started writing fails here instead of leaking into the next test."""
    container = client.app.state.container  # type: ignore[attr-defined]
    head = container.head_position()
    yield client
    assert container.head_position() == head, "a read-only test wrote to the shared log"
