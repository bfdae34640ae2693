"""The API with customers' data keys wrapped by Vault (a local fake that implements Vault's
documented Transit API, tests/fakes/vault.py): when the key service is down, a request that
needs personal data is a 503 problem+json the client may retry, never a 500; once Vault is
back, the same request answers."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from infrastructure.keys.data_keys import forget_cached_keys
from tests.fakes.vault import started_vault

API = "/api/v1"
PROFILE = {"name": "Ana Souza", "email": "ana@example.com.br", "phone": "(81) 99876-5432"}


@pytest.fixture
def vault():
    fake = started_vault("ecovarejo")
    yield fake
    fake.stop()


@pytest.fixture
def settings(settings, vault):
    return settings.model_copy(
        update={
            "key_wrapper": "vault",
            "vault_addr": vault.url,
            "vault_token": SecretStr(vault.token),
        }
    )


def test_a_key_service_outage_is_a_503_to_retry_and_the_data_is_back_after(
    container, client, auth, vault
):
    put = client.put(f"{API}/customers/me", json=PROFILE, headers=auth(sub="ana"))
    assert put.status_code == 200, put.text
    assert container.wait_for_projections(container.head_position())
    forget_cached_keys()  # as after the cache's few seconds
    vault.faults = ["503"] * 20
    down = client.get(f"{API}/customers/me", headers=auth(sub="ana"))
    assert down.status_code == 503, down.text
    assert down.headers["content-type"].startswith("application/problem+json")
    assert down.json()["type"].endswith("/key-service-unavailable")
    assert down.headers["retry-after"]
    assert vault.token not in down.text
    vault.faults = []
    back = client.get(f"{API}/customers/me", headers=auth(sub="ana"))
    assert back.status_code == 200, back.text
    assert back.json()["email"] == "ana@example.com.br"
