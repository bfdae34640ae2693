"""The checkout saga's outcomes of tests/unit/test_checkout_outcomes.py, again on PostgreSQL
and Redis (this folder's `world` fixture)."""

from tests.unit.test_checkout_outcomes import *  # noqa: F403
