"""The process's cache of unwrapped data keys stays bounded however many customers it
sees: expired keys go first, then the older half."""

from __future__ import annotations

from infrastructure.keys import data_keys as keys


def test_a_full_key_cache_drops_expired_keys_first_then_the_older_half(monkeypatch):
    monkeypatch.setattr(keys, "CACHE_MAX", 10)
    cache = {f"s{i}": (b"k", 5.0 if i % 2 else 50.0) for i in range(10)}
    keys._evict(cache, now=10.0)
    assert sorted(cache) == ["s0", "s2", "s4", "s6", "s8"]  # the expired ones went
    full = {f"s{i}": (b"k", 50.0) for i in range(10)}
    keys._evict(full, now=10.0)
    assert list(full) == ["s5", "s6", "s7", "s8", "s9"]  # none expired: the older half went
