"""Another try at paying (tests/unit/test_payment_retry.py), again on PostgreSQL and Redis
(this folder's `world` fixture)."""

from tests.unit.test_payment_retry import *  # noqa: F403
