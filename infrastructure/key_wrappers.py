"""The key wrappers (the `KeyWrapper` port's adapters), each listed once.

`ECOVAREJO_KEY_WRAPPER` chooses one: `local` (a master key from ECOVAREJO_MASTER_KEY or, in
embedded mode, the data dir) or `vault` (HashiCorp Vault's Transit engine). Each entry
says how to build the wrapper from the validated settings (at start) and from an
application's environment (every application instance, via `as_env`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eventsourcing.utils import Environment

from application.keys import KeyWrapper

if TYPE_CHECKING:
    from infrastructure.settings import Settings


@dataclass(frozen=True)
class WrapperKind:
    name: str
    description: str
    from_settings: Callable[[Settings], KeyWrapper]
    from_env: Callable[[Environment], KeyWrapper]


def _local_from_settings(settings: Settings) -> KeyWrapper:
    from infrastructure.master_key import master_key_of

    return master_key_of(settings)


def _local_from_env(env: Environment) -> KeyWrapper:
    from infrastructure.keys import LocalMasterKey

    text = env.get("MASTER_KEY")
    if not text:
        raise RuntimeError("no master key (ECOVAREJO_MASTER_KEY): personal data cannot be stored")
    path = env.get("MASTER_KEY_PATH")
    return LocalMasterKey(text, Path(path) if path else None)


def _vault_from_settings(settings: Settings) -> KeyWrapper:
    from infrastructure.vault_transit import VaultTransitKey

    assert settings.vault_addr  # the settings validate both
    assert settings.vault_token
    wrapper = VaultTransitKey(
        settings.vault_addr,
        settings.vault_token.get_secret_value(),
        settings.vault_transit_key,
        settings.vault_transit_mount,
    )
    wrapper.info()  # reachable, the token accepted, the key exists and is derived
    return wrapper


_vault_instances: dict[tuple[str, ...], KeyWrapper] = {}


def _vault_from_env(env: Environment) -> KeyWrapper:
    """One client per Vault key and token in a process, shared by its applications."""
    from infrastructure.vault_transit import VaultTransitKey

    address, token = env.get("VAULT_ADDR"), env.get("VAULT_TOKEN")
    if not address or not token:
        raise RuntimeError("ECOVAREJO_KEY_WRAPPER=vault without ECOVAREJO_VAULT_ADDR and _TOKEN")
    key = env.get("VAULT_TRANSIT_KEY") or "ecovarejo"
    mount = env.get("VAULT_TRANSIT_MOUNT") or "transit"
    found = _vault_instances.get((address, token, key, mount))
    if found is None:
        found = _vault_instances[(address, token, key, mount)] = VaultTransitKey(
            address, token, key, mount
        )
    return found


KEY_WRAPPERS: dict[str, WrapperKind] = {
    kind.name: kind
    for kind in (
        WrapperKind(
            "local",
            "a master key from ECOVAREJO_MASTER_KEY (or the data dir, outside production)",
            _local_from_settings,
            _local_from_env,
        ),
        WrapperKind(
            "vault",
            "HashiCorp Vault's Transit engine (ECOVAREJO_VAULT_ADDR, _TOKEN, _TRANSIT_KEY)",
            _vault_from_settings,
            _vault_from_env,
        ),
    )
}


def key_wrapper_of(settings: Settings) -> KeyWrapper:
    """The configured wrapper, checked usable (`MasterKeyError` or
    `KeyWrapperUnavailableError` with the fix otherwise)."""
    return KEY_WRAPPERS[settings.key_wrapper].from_settings(settings)


def wrapper_from_env(env: Environment) -> KeyWrapper:
    name = env.get("KEY_WRAPPER") or "local"
    kind = KEY_WRAPPERS.get(name)
    if kind is None:
        raise RuntimeError(f"unknown ECOVAREJO_KEY_WRAPPER {name!r}")
    return kind.from_env(env)
