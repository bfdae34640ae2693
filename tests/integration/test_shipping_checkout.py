"""Checkout's shipping prices of tests/unit/test_shipping_checkout.py, again on PostgreSQL
and Redis (this folder's `world` fixture)."""

from tests.unit.test_shipping_checkout import *  # noqa: F403
