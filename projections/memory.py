"""A read model in memory: the `ReadStore` of behaviour tests (and of anyone who wants to
see what a projector does without Redis). Same promises as the Redis store: changes and
position together, a position at or below the recorded one changes nothing."""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.persistence import Tracking

from projections.base import Change, Delete, IndexAdd, IndexRemove, Put, ReadStore


class MemoryStore(ReadStore):
    def __init__(self, generation: str = "g1") -> None:
        self.generation = generation
        self.docs: dict[str, str] = {}  # serialized, so a reader cannot change a document
        self.indexes: dict[str, dict[str, float]] = {}
        self._position: int | None = None

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self.docs.get(key)
        return None if raw is None else json.loads(raw)

    def get_many(self, keys: list[str]) -> list[dict[str, Any] | None]:
        return [self.get(key) for key in keys]

    def count(self, key: str) -> int:
        return len(self.indexes.get(key, {}))

    def apply(self, changes: list[Change], tracking: Tracking) -> None:
        if tracking.notification_id <= (self._position or 0):
            return
        for change in changes:
            if isinstance(change, Put):
                self.docs[change.key] = json.dumps(change.doc, sort_keys=True)
            elif isinstance(change, Delete):
                self.docs.pop(change.key, None)
            elif isinstance(change, IndexAdd):
                self.indexes.setdefault(change.key, {})[change.member] = change.score
            elif isinstance(change, IndexRemove):
                self.indexes.get(change.key, {}).pop(change.member, None)
        self._position = tracking.notification_id

    def members(self, key: str, start: int, stop: int) -> list[str]:
        """Members of a sorted index, highest score first (Redis ZREVRANGE order)."""
        index = self.indexes.get(key, {})
        ordered = sorted(index, key=lambda m: (index[m], m), reverse=True)
        return ordered[start : None if stop == -1 else stop + 1]

    def max_tracking_id(self, application_name: str) -> int | None:
        return self._position
