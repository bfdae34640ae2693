"""A live read model's batch that keeps public documents in memory between its writes.

A live runner read, for every event, the documents the event changes from its store — a
stock receipt cost five Redis GETs (stock item, its SKU index, product, variant index,
back-office row) and a PostgreSQL SELECT (its search document), more than any other part
of the worker's work per event (bench/README.md, "The worker per event"). Yet under its
lease the runner is its generation's only writer: what it wrote last is what the store
holds. `LiveBatch` keeps what it wrote (and what it read once) for the keys `keeps`
names, and reads only what it does not hold — as a rebuild's `Batch(fresh=True)` keeps
every document (the same documents, so the same bytes as a rebuild).

What keeps it exact:

- **Checked at every write.** Each write names the position (and, in Redis, the count of
  retried parked events) the runner last wrote or read at its start; the store refuses
  any other (`PositionMovedError`: another worker wrote after a lease's failover, a parked
  event was retried, a Redis database was flushed). The runner's supervisor restarts it,
  as on a generation's move: a new batch, nothing kept, documents read again. A refused
  write changes nothing, so the events are applied once, from the store's position.
- **Public documents only** (`keeps`: stock items, products, the back office's product
  rows, product search): never a document holding personal data, sealed or not.
- **Bounded**: at most `limit` documents, the least recently written dropped first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.base import Batch, Derived, ReadStore, _copy

KEEP_LIMIT = 5_000  # documents kept per read model, at most (a few MB)
Doc = dict[str, Any]


class LiveBatch(Batch):
    """A `Batch` for a live runner that keeps the documents of the keys `keeps` names
    across writes (see the module's docstring). The store must check an expected position
    (`apply(changes, tracking, expected)`); one that cannot keeps nothing."""

    def __init__(
        self,
        store: ReadStore,
        size: int,
        keeps: Callable[[str], bool],
        limit: int = KEEP_LIMIT,
    ):
        super().__init__(store, size)
        self.checked = bool(getattr(store, "checks_expected", False))
        self.keeps = keeps if self.checked else _nothing
        self.limit = limit
        self._kept: dict[str, Doc | None] = {}
        retried = getattr(store, "retried", None)
        self._retried = retried() if retried is not None else 0

    def get(self, key: str) -> Doc | None:
        if key in self._docs:
            return _copy(super().peek(key))
        if key in self._kept:
            return _copy(self._kept[key])
        doc = self.store.get(key)
        if self.keeps(key):
            self._keep(key, doc)
            return _copy(doc)
        return doc

    def peek(self, key: str) -> Doc | None:
        if key in self._docs:
            return super().peek(key)  # a pending document (made now if `Derived`)
        if key in self._kept:
            return self._kept[key]
        doc = self.store.get(key)
        if self.keeps(key):
            self._keep(key, doc)
        return doc

    def expected(self) -> tuple[int, int] | None:
        """What the store must hold for this batch's write to go in: the position this
        runner last wrote (or found at its start) and the retries it knew of (None: a
        store that cannot check, which is given nothing kept)."""
        return (self._recorded, self._retried) if self.checked else None

    def flush(self) -> None:
        expected = self.expected()
        write = self.pending_write()
        if expected is None or write is None:
            super().flush()
            return
        self.store.apply(*write, expected=expected)  # type: ignore[call-arg]
        self.written()

    def written(self) -> None:
        if self._events:
            for key, doc in self._docs.items():
                if self.keeps(key):
                    self._kept.pop(key, None)  # re-inserted last: the newest
                    self._keep(key, doc.doc if isinstance(doc, Derived) else doc)
        super().written()

    def _keep(self, key: str, doc: Doc | None) -> None:
        self._kept[key] = doc
        if len(self._kept) > self.limit:
            del self._kept[next(iter(self._kept))]


def _nothing(key: str) -> bool:
    return False


def prefixed(*prefixes: str) -> Callable[[str], bool]:
    """Keys starting with one of `prefixes` (all keys: no prefix given)."""
    if not prefixes:
        return lambda key: True
    return lambda key: key.startswith(prefixes)
