"""Extra payments of tests/unit/test_extra_payments.py, again on PostgreSQL and Redis (this
folder's `world` fixture)."""

from tests.unit.test_extra_payments import *  # noqa: F403
