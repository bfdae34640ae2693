"""The use-case scenarios of tests/unit/test_scenarios.py, again on PostgreSQL and Redis
(this folder's `world` fixture)."""

from tests.unit.test_scenarios import *  # noqa: F403
