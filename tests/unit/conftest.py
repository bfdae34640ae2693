"""Fixtures of the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.worlds import World, memory_world


@pytest.fixture
def world() -> Iterator[World]:
    """The application and the saga in memory (no I/O); tests/integration has a `world` on
    PostgreSQL and Redis and runs the same tests there."""
    yield from memory_world()
