"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.worlds import World, postgres_world


@pytest.fixture
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """The application and the saga on PostgreSQL and Redis: the behaviour tests of
    tests/unit that take a `world` run here again through the modules that import them."""
    yield from postgres_world(request)
