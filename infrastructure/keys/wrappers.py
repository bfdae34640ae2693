"""The key wrappers (the `KeyWrapper` port's adapters), each listed once.

`ECOVAREJO_KEY_WRAPPER` chooses one: `local` (a master key from ECOVAREJO_MASTER_KEY or, in
embedded mode, the data dir) or `vault` (HashiCorp Vault's Transit engine). Each entry
names, by topic (resolved when used, so this module imports no adapter), how to build the
wrapper from the validated settings (at start) and from an application's environment
(every application instance: `as_env` says which entry by `ECOVAREJO_KEY_WRAPPER`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.utils import Environment, resolve_topic

from application.keys import KeyWrapper


@dataclass(frozen=True)
class WrapperKind:
    name: str
    description: str
    from_settings: str  # topic of a function (Settings) -> KeyWrapper, checked usable
    from_env: str  # topic of a function (Environment) -> KeyWrapper


KEY_WRAPPERS: dict[str, WrapperKind] = {
    kind.name: kind
    for kind in (
        WrapperKind(
            "local",
            "a master key from ECOVAREJO_MASTER_KEY (or the data dir, outside production)",
            "infrastructure.keys.master_key:master_key_of",
            "infrastructure.keys.data_keys:LocalMasterKey.from_env",
        ),
        WrapperKind(
            "vault",
            "HashiCorp Vault's Transit engine (ECOVAREJO_VAULT_ADDR, _TOKEN, _TRANSIT_KEY)",
            "infrastructure.keys.vault_transit:VaultTransitKey.from_settings",
            "infrastructure.keys.vault_transit:VaultTransitKey.from_env",
        ),
    )
}


def key_wrapper_of(settings: Any) -> KeyWrapper:
    """The configured wrapper, checked usable (`MasterKeyError` or
    `KeyWrapperUnavailableError` with the fix otherwise)."""
    wrapper: KeyWrapper = resolve_topic(KEY_WRAPPERS[settings.key_wrapper].from_settings)(settings)
    return wrapper


def wrapper_from_env(env: Environment) -> KeyWrapper:
    name = env.get("KEY_WRAPPER") or "local"
    kind = KEY_WRAPPERS.get(name)
    if kind is None:
        raise RuntimeError(f"unknown ECOVAREJO_KEY_WRAPPER {name!r}")
    wrapper: KeyWrapper = resolve_topic(kind.from_env)(env)
    return wrapper
