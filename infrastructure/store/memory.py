"""In-memory persistence for fast, I/O-free application and saga tests.

The library's POPO persistence gives each application its own store; the command side, the
saga and the followers of one system must share one log, as they do on PostgreSQL. This
factory hands every application with the same `MEMORY_STORE` name the same recorder.
`MemoryKeyStore` is the in-memory key store (the PostgreSQL one's contract, no table).

    env = {"PERSISTENCE_MODULE": "infrastructure.store.memory", "MEMORY_STORE": "test-1",
           "KEY_STORE_TOPIC": "infrastructure.store.memory:MemoryKeyStore"}
"""

from __future__ import annotations

import os
from typing import ClassVar

from eventsourcing import popo
from eventsourcing.persistence import ApplicationRecorder, ProcessRecorder
from eventsourcing.utils import Environment


def memory_env(store: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": __name__,
        "MEMORY_STORE": store,
        "KEY_STORE_TOPIC": f"{__name__}:MemoryKeyStore",
    }


class SharedMemoryFactory(popo.POPOFactory):
    _stores: ClassVar[dict[str, popo.POPOProcessRecorder]] = {}

    def _store(self) -> popo.POPOProcessRecorder:
        name = self.env.get("MEMORY_STORE") or "default"
        return self._stores.setdefault(name, popo.POPOProcessRecorder())

    def application_recorder(self) -> ApplicationRecorder:
        return self._store()

    def process_recorder(self) -> ProcessRecorder:
        return self._store()

    @classmethod
    def drop(cls, store: str) -> None:
        cls._stores.pop(store, None)
        MemoryKeyStore.keys.pop(store, None)


class MemoryKeyStore:
    keys: ClassVar[dict[str, dict[str, bytes]]] = {}

    def __init__(self, store: str):
        self._keys = self.keys.setdefault(store, {})

    @classmethod
    def from_env(cls, env: Environment) -> MemoryKeyStore:
        return cls(env.get("MEMORY_STORE") or "default")

    def key_for(self, subject: str) -> bytes:
        return self._keys.setdefault(subject, os.urandom(32))

    def existing_key(self, subject: str) -> bytes | None:
        return self._keys.get(subject)

    def destroy(self, subject: str) -> bool:
        return self._keys.pop(subject, None) is not None
