"""What auditors and data subjects see: the log as JSON, an aggregate replayed to any
point, an order's saga trail, and LGPD access and erasure."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification

# The rows of the log live in application/audit_rows.py (light, for `replay --all`); named
# here too, where their callers have always found them.
from application.audit_rows import METADATA, describe, event_type, plain
from application.audit_rows import masked as masked
from application.audit_rows import stream as stream
from application.audit_rows import unreadable as unreadable
from application.errors import AggregateNotFoundError, InvalidReplayError, UnreadableHistoryError
from domain.payment import payment_id_for_order
from domain.personal import PersonalData
from domain.stock_item import StockItem


class EventLog(Protocol):
    """Raw access to the log with positions (the event store's own API has none)."""

    def aggregate_notifications(
        self, aggregate_id: UUID, *, mentioning: UUID | None = None
    ) -> list[Notification]: ...

    def aggregates_of_customer(self, customer_id: str) -> list[UUID]: ...

    def records_of_customer(self, customer_id: str) -> list[Notification]: ...


def holds_personal_data(value: Any) -> bool:
    """Whether `value` (an event, a payload) carries any PersonalData that is not erased."""
    if isinstance(value, PersonalData):
        return value.value is not None
    if isinstance(value, dict):
        return any(holds_personal_data(v) for v in value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return any(holds_personal_data(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(holds_personal_data(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


def event_types() -> dict[str, str]:
    """Every event type of the domain, as auditors name it ("Order.Placed"), to its topic."""
    from eventsourcing.utils import get_topic

    from domain.registry import AGGREGATES

    types = {}
    for aggregate in AGGREGATES:
        for value in vars(aggregate).values():
            if isinstance(value, type) and issubclass(value, aggregate.Event):
                types[value.__qualname__] = get_topic(value)
    return types


def with_stored_form(
    described: dict[str, Any], event: Any, mapper: Mapper[UUID], state: bytes, *, reveal: bool
) -> dict[str, Any]:
    """An event stored in an older `class_version` shows the row as written (`stored`)
    beside the event as read today (`data`): see docs/events-that-evolve.md."""
    current = int(getattr(type(event), "class_version", 1))
    if current == 1:
        return described
    if mapper.cipher is not None:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor is not None:
        state = mapper.compressor.decompress(state)
    stored: dict[str, Any] = mapper.transcoder.decode(state)
    written = int(stored.pop("class_version", 1))
    if written >= current:
        return described
    data = {k: plain(v, reveal=reveal) for k, v in stored.items() if k not in METADATA}
    return {
        **described,
        "read_as_version": current,
        "stored": {"class_version": written, "data": data},
    }


def mapped(mapper: Mapper[UUID], notification: Notification) -> Any:
    """The domain event of one aggregate's own history; an unreadable one is a clear error
    about that aggregate (its state cannot be told), never a crash."""
    try:
        return mapper.to_domain_event(notification)
    except Exception as error:
        raise UnreadableHistoryError(
            f"the event at position {notification.id} of {notification.originator_id} "
            f"cannot be read ({type(error).__name__})"
        ) from None


def state_of(aggregate: Any, *, reveal: bool = True) -> dict[str, Any]:
    fields = {
        k: plain(v, reveal=reveal) for k, v in vars(aggregate).items() if not k.startswith("_")
    }
    return {
        "id": str(aggregate.id),
        "type": type(aggregate).__name__,
        "version": aggregate.version,
        **fields,
    }


@dataclasses.dataclass(frozen=True)
class Replay:
    events: list[dict[str, Any]]
    state: dict[str, Any]
    personal: bool = False  # some event carries personal data that is not erased


def replay(
    mapper: Mapper[UUID],
    log: EventLog,
    aggregate_id: UUID,
    *,
    as_of: datetime | None = None,
    version: int | None = None,
    reveal: bool = True,
) -> Replay:
    """The aggregate's events up to `version` or the moment `as_of`, and its state then
    (personal data masked unless `reveal`)."""
    notifications = log.aggregate_notifications(aggregate_id)
    if not notifications:
        raise AggregateNotFoundError(f"no aggregate {aggregate_id}")
    last = notifications[-1].originator_version
    if version is not None and not 1 <= version <= last:
        raise InvalidReplayError(f"version {version} is outside 1..{last}")
    if as_of is not None and as_of.tzinfo is None:
        raise InvalidReplayError("--as-of needs a timezone, e.g. 2026-11-22T10:00:00Z")
    pairs: list[tuple[int, Any]] = [(n.id, mapped(mapper, n)) for n in notifications]
    pairs = [
        (p, e)
        for p, e in pairs
        if (version is None or e.originator_version <= version)
        and (as_of is None or e.timestamp <= as_of)
    ]
    if not pairs:
        raise InvalidReplayError(f"aggregate {aggregate_id} did not exist yet at {as_of}")
    aggregate = None
    for _, event in pairs:
        aggregate = event.mutate(aggregate)
    states = {n.id: n.state for n in notifications}
    events = [
        with_stored_form(describe(e, p, reveal=reveal), e, mapper, states[p], reveal=reveal)
        for p, e in pairs
    ]
    return Replay(
        events,
        state_of(aggregate, reveal=reveal),
        any(holds_personal_data(vars(e)) for _, e in pairs),
    )


COMPENSATIONS = frozenset(
    {
        "Order.Cancelled",
        "StockItem.Released",
        "Payment.VoidRequested",
        "Payment.Voided",
        "Payment.RefundRequested",
        "Payment.Refunded",
    }
)


def trail(
    mapper: Mapper[UUID], log: EventLog, order_id: UUID, *, reveal: bool = True
) -> list[dict[str, Any]]:
    """Every step the order went through across aggregates (the order, its payment, the
    reservations on each stock item, its returns), in log order, compensations marked
    (personal data masked unless `reveal`)."""
    order_notifications = log.aggregate_notifications(order_id)
    if not order_notifications:
        raise AggregateNotFoundError(f"no order {order_id}")
    placed = mapped(mapper, order_notifications[0])
    if event_type(placed) != "Order.Placed":
        raise AggregateNotFoundError(f"{order_id} is not an order")
    events: list[Any] = [mapped(mapper, n) for n in order_notifications[1:]]
    # One payment per attempt at paying: the first, and one per PaymentRetried.
    attempts = [1, *(e.attempt for e in events if event_type(e) == "Order.PaymentRetried")]
    related = list(order_notifications)
    for attempt in attempts:
        related += log.aggregate_notifications(payment_id_for_order(order_id, attempt))
    # Returns are aggregates of their own, named by the order's ReturnOpened events.
    return_ids = {e.return_id for e in events if event_type(e) == "Order.ReturnOpened"}
    for return_id in sorted(return_ids, key=str):
        related += log.aggregate_notifications(return_id)
    for line in placed.lines:
        related += log.aggregate_notifications(StockItem.create_id(line.sku), mentioning=order_id)
    steps = []
    for notification in sorted(related, key=lambda n: n.id):
        event = mapped(mapper, notification)
        if isinstance(event, StockItem.Event) and getattr(event, "order_id", None) != order_id:
            continue  # another order's reservation, or a receipt
        step = describe(event, notification.id, reveal=reveal)
        step["compensation"] = step["type"] in COMPENSATIONS
        steps.append(step)
    return steps
