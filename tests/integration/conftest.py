"""Fixtures of the integration tests."""

from tests.worlds import world  # noqa: F401 (the in-memory and PostgreSQL worlds)
