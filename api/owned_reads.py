"""Reads of one personal document on the event loop: one Redis round trip (the active
generation checked in the same `MGET`, `infrastructure/stored_documents.py`), no thread
hand-off, and the readers' one ownership rule (someone else's document is a 404)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from application.errors import CartNotFoundError, OrderNotFoundError, PaymentNotFoundError
from domain.personal import WordsSealer
from infrastructure.stored_documents import StoredDocuments
from projections.carts import CartsProjection, cart_key
from projections.orders import OrdersProjection, order_key, payment_key
from projections.readers import WORD_FIELDS, Viewer, _owned, with_words

Doc = dict[str, Any]


async def _load(stored: StoredDocuments, projection: str, key: str) -> Doc | None:
    raw = await stored.raw(projection, key)
    return orjson.loads(raw) if raw is not None else None


async def order(
    stored: StoredDocuments, order_id: object, viewer: Viewer, words: WordsSealer | None
) -> Doc:
    """The order, with the customer's sealed words opened for the caller as the order
    reader does (`with_words`); off the event loop only when there are words to open (the
    key store may be asked)."""
    doc = await _load(stored, OrdersProjection.name, order_key(order_id))
    found = _owned(doc, viewer, OrderNotFoundError, f"no order {order_id}")
    if any(found.get(name) for name in WORD_FIELDS):
        return await run_in_threadpool(with_words, found, words)
    return found


async def payment(stored: StoredDocuments, payment_id: object, viewer: Viewer) -> Doc:
    doc = await _load(stored, OrdersProjection.name, payment_key(payment_id))
    return _owned(doc, viewer, PaymentNotFoundError, f"no payment {payment_id}")


async def cart(stored: StoredDocuments, cart_id: object, viewer: Viewer) -> Doc:
    doc = await _load(stored, CartsProjection.name, cart_key(cart_id))
    return _owned(doc, viewer, CartNotFoundError, f"no cart {cart_id}")
