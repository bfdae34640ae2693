"""LGPD: access and erasure by crypto-shredding, checked in the raw tables and keys."""

from __future__ import annotations

import psycopg
import redis

from domain.base import EcoAggregate
from domain.card import Address, CardDetails
from domain.personal import DataSubject
from infrastructure.store.event_log import EventLog
from tests.checkout import backends_on, register, settled, wait_until

STREET = "Rua Marcador Pessoal 4711"
POSTAL = "54321-987"
HOLDER = "Fulana Marcadora de Tal"
CARD = "4242424242424242"


def checkout_with_personal_data(container, customer: str = "ana"):
    services = container.services
    cart_id = services.checkout.create_cart(customer).aggregate_id
    services.checkout.add_cart_item(cart_id, customer, "ECO-1", 1)
    address = Address(STREET, "fundos", "Olinda", "PE", POSTAL)
    order_id = services.checkout.checkout(
        cart_id, customer, address, CardDetails(CARD, "12/39", "987", HOLDER)
    ).aggregate_id
    wait_until(lambda: settled(services), what="the checkout")
    return order_id


def found_in_postgres(database_url: str, needle: str) -> list[str]:
    """Every table.column holding `needle` as text or as bytes, whatever its type."""
    hits = []
    with psycopg.connect(database_url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public'"
        ).fetchall()
        for table, column, data_type in columns:
            if data_type == "bytea":
                condition = f"position(convert_to(%s, 'UTF8') in \"{column}\") > 0"
            else:
                condition = f"\"{column}\"::text LIKE '%%' || %s || '%%'"
            count = conn.execute(
                f'SELECT count(*) FROM "{table}" WHERE {condition}', (needle,)
            ).fetchone()
            if count and count[0]:
                hits.append(f"{table}.{column}")
    return hits


def values_of(client: redis.Redis, key: bytes) -> list[bytes]:
    kind = client.type(key).decode()
    if kind == "string":
        return [client.get(key) or b""]
    if kind == "list":
        return client.lrange(key, 0, -1)
    if kind == "hash":
        return [*client.hkeys(key), *client.hvals(key)]
    if kind == "set":
        return list(client.smembers(key))
    if kind == "zset":
        return client.zrange(key, 0, -1)
    return []


def found_in_redis(redis_url: str, needle: str) -> list[str]:
    client = redis.Redis.from_url(redis_url)
    hits = []
    for key in client.scan_iter(count=1000):
        values = values_of(client, key)
        if needle.encode() in key or any(needle.encode() in v for v in values):
            hits.append(key.decode(errors="replace"))
    return hits


def test_personal_data_is_stored_only_encrypted_and_export_decrypts_it(container):
    register(container.services, "ECO-1", 10)
    checkout_with_personal_data(container)
    assert found_in_postgres(container.database_url, STREET) == []
    exported = container.services.data_subjects.export_personal_data("ana", "customer:ana")
    [order] = exported["orders"]
    assert order["shipping_address"]["line1"] == STREET
    assert order["shipping_address"]["postal_code"] == POSTAL
    assert exported["requests"][-1]["type"] == "access"
    assert exported["requests"][-1]["completed_at"] is not None


def test_card_numbers_and_holders_never_reach_postgres_or_redis(container):
    register(container.services, "ECO-1", 10)
    checkout_with_personal_data(container)
    for needle in (CARD, HOLDER):
        assert found_in_postgres(container.database_url, needle) == []
        assert found_in_redis(container.redis_url, needle) == []


def test_after_erasure_no_plaintext_personal_value_exists_anywhere(container):
    register(container.services, "ECO-1", 10)
    order_id = checkout_with_personal_data(container)
    assert (
        container.services.data_subjects.erase_personal_data("ana", "customer:ana").status
        == "erased"
    )
    # The search itself works: what is stored in plaintext is found.
    assert "ecovarejo_events.state" in found_in_postgres(container.database_url, "Produto ECO-1")
    assert found_in_redis(container.redis_url, "Produto ECO-1") != []
    for needle in (STREET, POSTAL, "fundos", HOLDER, CARD):
        assert found_in_postgres(container.database_url, needle) == [], needle
        assert found_in_redis(container.redis_url, needle) == [], needle
    order = container.services.orders.order_of(order_id)
    assert order.shipping_address.erased
    assert order.totals.total.amount > 0  # orders and totals stay intact
    exported = container.services.data_subjects.export_personal_data("ana", "admin:root")
    assert exported["orders"][0]["shipping_address"] == {"erased": True}
    assert exported["erased"] is True
    assert EventLog(container.database_url).verify_chain().ok


def test_a_fresh_application_cannot_read_erased_data_back(container, settings):
    from infrastructure.bootstrap import bootstrap

    register(container.services, "ECO-1", 10)
    order_id = checkout_with_personal_data(container)
    container.services.data_subjects.erase_personal_data("ana", "customer:ana")
    rebuilt = bootstrap(settings)  # as a rebuild or another process would read the log
    try:
        assert rebuilt.services.orders.order_of(order_id).shipping_address.value is None
    finally:
        rebuilt.close()


def test_the_last_container_closed_on_a_database_closes_its_key_pool_and_forgets_its_keys(
    settings,
):
    from infrastructure.bootstrap import bootstrap
    from infrastructure.keys import data_keys

    first = bootstrap(settings)
    second = bootstrap(settings)
    conninfo = first.keys_held
    assert conninfo is not None
    key = first.services.store.keys.key_for("customer:ana")
    pool = data_keys._shared[conninfo][0]
    first.close()
    # the other container still reads and makes data keys through the same pool
    assert second.services.store.keys.existing_key("customer:ana") == key
    assert second.services.store.keys.key_for("customer:bia") != key
    assert data_keys._shared[conninfo][0] is pool
    assert not pool.closed
    second.close()
    assert conninfo not in data_keys._shared
    assert pool.closed
    # a backend leaves pg_stat_activity a moment after its client hung up
    wait_until(lambda: backends_on(settings.database_url) == 0, what="no connection left")


def test_erasure_is_idempotent_and_says_so(container):
    register(container.services, "ECO-1", 10)
    checkout_with_personal_data(container)
    services = container.services
    assert services.data_subjects.erase_personal_data("ana", "admin:x").status == "erased"
    assert services.data_subjects.erase_personal_data("ana", "admin:x").status == "already_erased"
    assert services.data_subjects.erase_personal_data("nobody", "admin:x").status == "unknown"
    subject = services.store.repository.get(DataSubject.create_id("ana"))
    kinds = [type(e).__name__ for e in services.store.repository.event_store.get(subject.id)]
    assert kinds.count("PersonalDataErased") == 1
    assert services.store.load(EcoAggregate, DataSubject.create_id("nobody")) is None
