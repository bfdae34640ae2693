"""infrastructure/runtime/allocator.py: glibc gives freed memory back when trimmed."""

from __future__ import annotations

import threading

import psutil

from infrastructure.runtime import allocator

CHUNK = 4_000  # above Python's small-object limit: straight from malloc
CHUNKS = 20_000  # ~80 MB


def _fragment_an_arena(kept: list[bytes]) -> None:
    """In a new thread (its own arena), allocate ~80 MB and free nine chunks in ten: the
    arena's top stays in use, so nothing is given back by itself."""

    def allocate() -> None:
        chunks = [bytes(CHUNK) + bytes([i % 251]) for i in range(CHUNKS)]
        kept.extend(chunks[::10])
        chunks.clear()

    thread = threading.Thread(target=allocate)
    thread.start()
    thread.join()


def test_a_trim_gives_back_the_free_pages_a_fragmented_arena_keeps():
    kept: list[bytes] = []
    _fragment_an_arena(kept)
    process = psutil.Process()
    before = process.memory_info().rss
    assert allocator.trim()
    after = process.memory_info().rss
    assert before - after > 30 * 2**20, (before, after)
    assert len(kept) == CHUNKS // 10


def test_the_trimmer_trims_until_it_is_stopped(monkeypatch):
    trims = threading.Semaphore(0)
    monkeypatch.setattr(allocator, "trim", lambda: bool(trims.release()) or True)
    trimmer = allocator.Trimmer(interval=0.01).start()
    try:
        assert trims.acquire(timeout=5)
        assert trims.acquire(timeout=5)
    finally:
        trimmer.stop()
    assert not trimmer._thread.is_alive()


def test_the_arena_limit_is_taken_on_glibc():
    assert allocator.limit_arenas(16)  # glibc takes it (16: its own default on 2 cores)
