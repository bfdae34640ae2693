"""Reads of one personal document on the event loop: one Redis round trip (the active
generation checked in the same `MGET`, `infrastructure/read_stores/stored_documents.py`), no thread
hand-off, and the readers' one ownership rule (someone else's document is a 404). An order
may be read with a wait for the checkout saga's decision (`GET /orders/{id}?wait=`)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

from application.errors import CartNotFoundError, OrderNotFoundError, PaymentNotFoundError
from domain.order import OrderStatus
from domain.personal import WordsSealer
from infrastructure.read_stores.stored_documents import RECHECK_S, StoredDocuments
from projections.carts import CartsProjection, cart_key
from projections.orders import OrdersProjection, order_key, payment_key
from projections.readers import WORD_FIELDS, Viewer, _owned, owns, with_words

Doc = dict[str, Any]
STILL_PENDING = frozenset({OrderStatus.PENDING.value})


async def _load(stored: StoredDocuments, projection: str, key: str) -> Doc | None:
    raw = await stored.raw(projection, key)
    return orjson.loads(raw) if raw is not None else None


async def order(
    stored: StoredDocuments,
    order_id: object,
    viewer: Viewer,
    words: WordsSealer | None,
    wait: float = 0.0,
) -> Doc:
    """The order, with the customer's sealed words opened for the caller as the order
    reader does (`with_words`); off the event loop only when there are words to open (the
    key store may be asked). With `wait` (seconds), an order still `pending` is answered
    once decided, or as it is when the wait runs out."""
    key = order_key(order_id)
    if wait > 0:
        doc = await _decided(stored, key, viewer, wait)
    else:
        doc = await _load(stored, OrdersProjection.name, key)
    found = _owned(doc, viewer, OrderNotFoundError, f"no order {order_id}")
    if any(found.get(name) for name in WORD_FIELDS):
        return await run_in_threadpool(with_words, found, words)
    return found


async def _decided(stored: StoredDocuments, key: str, viewer: Viewer, wait: float) -> Doc | None:
    """Read the order until the saga has decided it, for at most `wait` seconds: each read
    after the first is woken by the read model's write of the order (pub/sub) that leaves
    it no longer `pending` (a write that keeps it `pending`, stock reserved or payment
    requested, cannot answer: its message says so and wakes no one), or after RECHECK_S in
    case a message was lost; a wait that runs out re-reads, so it answers the order as it
    is then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    async with stored.changes.watching(OrdersProjection.name, key, STILL_PENDING) as watch:
        while True:
            doc = await _load(stored, OrdersProjection.name, key)
            # Missing (send the consistency token to be sure it is there), decided, or
            # someone else's: answered at once.
            if (
                doc is None
                or doc.get("status") != OrderStatus.PENDING.value
                or not owns(viewer, doc)
            ):
                return doc
            left = deadline - loop.time()
            if left <= 0:
                return doc
            await watch.wait(min(left, RECHECK_S))


async def payment(stored: StoredDocuments, payment_id: object, viewer: Viewer) -> Doc:
    doc = await _load(stored, OrdersProjection.name, payment_key(payment_id))
    return _owned(doc, viewer, PaymentNotFoundError, f"no payment {payment_id}")


async def cart(stored: StoredDocuments, cart_id: object, viewer: Viewer) -> Doc:
    doc = await _load(stored, CartsProjection.name, cart_key(cart_id))
    return _owned(doc, viewer, CartNotFoundError, f"no cart {cart_id}")
