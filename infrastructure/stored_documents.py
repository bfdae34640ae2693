"""Stored documents as bytes, for the event loop: one Redis round trip per read.

Each API process remembers the active generation of every Redis read model. A read asks,
in ONE `MGET`, for the active pointer and the document under the remembered generation: when
the pointer still names it, the document is the active generation's (MGET is atomic, so no
swap can fall between the two); when a rebuild has swapped generations, the process adopts
the new one and asks again. So a swap costs each process one extra round trip, a reader never
sees a 404 because of it, and after the swap no read is answered from the old generation."""

from __future__ import annotations

from infrastructure.lean_redis import LeanReaders
from infrastructure.redis_keys import active_key, document_key
from infrastructure.redis_views import LoopRedis
from projections.base import DEFAULT_GENERATION

# A rebuild keeps the generation it replaced; a reader racing more swaps than this in a row
# is answered from what the pointer names on its last attempt.
MAX_ATTEMPTS = 4


class StoredDocuments:
    def __init__(self, aredis: LoopRedis, lean: LeanReaders | None = None):
        """`lean`: read through the pipelined reader (`infrastructure.lean_redis`), a third
        of redis-py's CPU per read; without it, through redis-py."""
        self.aredis = aredis
        self.lean = lean
        self.generations: dict[str, str] = {}

    def generation(self, projection: str) -> str:
        """The generation this process believes active (a cache, checked on every read)."""
        return self.generations.get(projection, DEFAULT_GENERATION)

    async def raw(self, projection: str, key: str) -> bytes | None:
        """The stored bytes of `key` in the active generation of `projection`, or None."""
        reader = self.lean.reader() if self.lean is not None else self.aredis.client()
        pointer = active_key(projection)
        generation = self.generation(projection)
        for _ in range(MAX_ATTEMPTS):
            active, raw = await reader.mget(pointer, document_key(projection, generation, key))
            named = _text(active) or DEFAULT_GENERATION
            if named == generation:
                return _bytes(raw)
            generation = self.generations[projection] = named
        return _bytes(await reader.get(document_key(projection, generation, key)))


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: bytes | str | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value
