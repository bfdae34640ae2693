"""The Pix and boleto saga of tests/unit/test_pix_boleto_saga.py, again on PostgreSQL and
Redis (this folder's `world` fixture)."""

from tests.unit.test_pix_boleto_saga import *  # noqa: F403
