"""One behaviour suite for the key-wrapper port (application/keys.KeyWrapper), run against
every adapter in infrastructure/key_wrappers.KEY_WRAPPERS: the local master key, and
HashiCorp Vault's Transit engine reached over HTTP (a local fake implementing Vault's
documented API, tests/fakes/vault.py)."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from eventsourcing.utils import Environment

from application.keys import KeyWrapper, KeyWrapperUnavailableError, WrongMasterKeyError
from infrastructure.keys.data_keys import LocalMasterKey, generate_master_key
from infrastructure.keys.vault_transit import VaultTransitKey
from infrastructure.keys.wrappers import KEY_WRAPPERS, wrapper_from_env
from tests.fakes.vault import FakeVault, TransitKey, started_vault

DATA_KEY = bytes(range(32))


@dataclass
class Adapter:
    wrapper: KeyWrapper
    another: Callable[[], KeyWrapper]  # a wrapper with another key-encryption key


@pytest.fixture(scope="module")
def fake_vault() -> Iterator[FakeVault]:
    vault = started_vault()
    yield vault
    vault.stop()


def vault_wrapper(vault: FakeVault, key: str = "ecovarejo") -> VaultTransitKey:
    vault.keys.setdefault(key, TransitKey(derived=True))
    return VaultTransitKey(vault.url, vault.token, key)


@pytest.fixture(params=sorted(KEY_WRAPPERS))
def adapter(request: pytest.FixtureRequest, fake_vault: FakeVault) -> Adapter:
    if request.param == "local":
        return Adapter(
            LocalMasterKey(generate_master_key()), lambda: LocalMasterKey(generate_master_key())
        )
    if request.param == "vault":
        return Adapter(vault_wrapper(fake_vault), lambda: vault_wrapper(fake_vault, "another"))
    raise AssertionError(f"no contract fixture for the {request.param} wrapper")


def test_a_wrapped_data_key_unwraps_to_itself_and_does_not_show_it(adapter):
    wrapped = adapter.wrapper.wrap(DATA_KEY, "ana")
    assert DATA_KEY not in wrapped
    assert adapter.wrapper.unwrap(wrapped, "ana") == DATA_KEY


def test_each_wrapping_is_fresh(adapter):
    assert adapter.wrapper.wrap(DATA_KEY, "ana") != adapter.wrapper.wrap(DATA_KEY, "ana")


def test_a_wrapped_key_copied_to_another_subject_does_not_open(adapter):
    wrapped = adapter.wrapper.wrap(DATA_KEY, "ana")
    with pytest.raises(WrongMasterKeyError):
        adapter.wrapper.unwrap(wrapped, "bia")


def test_another_key_encryption_key_does_not_open_it(adapter):
    wrapped = adapter.wrapper.wrap(DATA_KEY, "ana")
    with pytest.raises(WrongMasterKeyError):
        adapter.another().unwrap(wrapped, "ana")


def test_damaged_wrapping_does_not_open(adapter):
    wrapped = bytearray(adapter.wrapper.wrap(DATA_KEY, "ana"))
    wrapped[-3] ^= 1  # base64 text for Vault, raw bytes for the local key: both damaged
    with pytest.raises(WrongMasterKeyError):
        adapter.wrapper.unwrap(bytes(wrapped), "ana")


def test_the_key_id_names_the_key_without_revealing_it(adapter):
    key_id = adapter.wrapper.key_id
    assert key_id
    assert key_id != adapter.another().key_id
    env = adapter.wrapper.as_env()
    secrets = [v for k, v in env.items() if k.endswith(("MASTER_KEY", "TOKEN"))]
    assert secrets
    assert all(secret not in key_id for secret in secrets)
    assert all(secret not in repr(adapter.wrapper) for secret in secrets)


def test_a_wrapper_rebuilt_from_its_environment_is_the_same_key(adapter):
    wrapped = adapter.wrapper.wrap(DATA_KEY, "ana")
    env = adapter.wrapper.as_env()
    rebuilt = wrapper_from_env(Environment("EcoVarejo", env))
    assert rebuilt.key_id == adapter.wrapper.key_id
    assert rebuilt.unwrap(wrapped, "ana") == DATA_KEY


# What only a KMS reached over the network can do ----------------------------------------
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_kms_is_a_clear_error_not_a_wrong_key():
    wrapper = VaultTransitKey(f"http://127.0.0.1:{closed_port()}", "t", "ecovarejo", timeout_s=1)
    with pytest.raises(KeyWrapperUnavailableError, match=r"cannot be reached .*VAULT_ADDR"):
        wrapper.wrap(DATA_KEY, "ana")
    with pytest.raises(KeyWrapperUnavailableError, match="cannot be reached"):
        wrapper.unwrap(b"vault:v1:AAAA", "ana")


def test_a_kms_that_answers_errors_or_garbage_is_a_clear_error(fake_vault):
    wrapper = vault_wrapper(fake_vault)
    fake_vault.faults = ["503"]
    with pytest.raises(KeyWrapperUnavailableError, match="503"):
        wrapper.wrap(DATA_KEY, "ana")
    fake_vault.faults = ["malformed"]
    with pytest.raises(KeyWrapperUnavailableError, match="without Vault's JSON"):
        wrapper.wrap(DATA_KEY, "ana")


def test_a_refused_token_is_a_clear_error_that_shows_no_token(fake_vault):
    wrapper = VaultTransitKey(fake_vault.url, "hvs.not-the-token", "ecovarejo")
    with pytest.raises(KeyWrapperUnavailableError, match="refused the token") as caught:
        wrapper.wrap(DATA_KEY, "ana")
    assert "hvs.not-the-token" not in str(caught.value)


def test_a_missing_or_underived_transit_key_is_refused_with_the_fix(fake_vault):
    with pytest.raises(KeyWrapperUnavailableError, match="create it with `vault write"):
        VaultTransitKey(fake_vault.url, fake_vault.token, "nobody").info()
    fake_vault.keys["flat"] = TransitKey(derived=False)
    with pytest.raises(KeyWrapperUnavailableError, match="derived=true"):
        VaultTransitKey(fake_vault.url, fake_vault.token, "flat").info()


def test_rewrapping_moves_a_key_to_the_new_version_and_retiring_closes_the_old(fake_vault):
    wrapper = vault_wrapper(fake_vault, "rotating")
    old = wrapper.wrap(DATA_KEY, "ana")
    version = wrapper.rotate_key()
    assert version == 2
    new = wrapper.rewrap(old, "ana")
    assert new.startswith(b"vault:v2:")
    assert wrapper.unwrap(old, "ana") == wrapper.unwrap(new, "ana") == DATA_KEY
    with pytest.raises(WrongMasterKeyError):
        wrapper.rewrap(old, "bia")
    wrapper.retire_versions_below(version)
    assert wrapper.info().min_decryption_version == 2
    with pytest.raises(WrongMasterKeyError, match="too old"):
        wrapper.unwrap(old, "ana")
    assert wrapper.unwrap(new, "ana") == DATA_KEY
