"""What auditors and data subjects see: the log as JSON, an aggregate replayed to any
point, an order's saga trail, and LGPD access and erasure."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification

from application.errors import AggregateNotFoundError, InvalidReplayError, UnreadableHistoryError
from domain.money import Money
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


MASK = "***"
# Coarse facts an auditor may need (tax jurisdiction) that identify no one.
SHOWN_WHEN_MASKED = frozenset({"state", "country"})


def masked(data: PersonalData) -> dict[str, Any]:
    """Personal data as auditors see it without the `auditor:pii` scope: which fields are
    held, not what they say."""
    if data.value is None:
        return {"erased": True}
    fields = {k: v if k in SHOWN_WHEN_MASKED else MASK for k, v in data.value.items()}
    return {**fields, "masked": True}


_SCALARS = frozenset({str, int, bool, float, type(None)})


def plain(value: Any, *, reveal: bool = True) -> Any:
    """A JSON-ready copy: Money as {amount, currency}, Decimal as string, erased personal
    data as {"erased": true}, personal data masked unless `reveal`."""
    if type(value) in _SCALARS:  # most values: one look-up, no isinstance chain
        return value
    if isinstance(value, Money):
        return value.to_dict()
    if isinstance(value, PersonalData):
        return value.shown() if reveal else masked(value)
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v, reveal=reveal) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v, reveal=reveal) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name), reveal=reveal) for f in dataclasses.fields(value)
        }
    return value


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


METADATA = (
    "originator_id",
    "originator_version",
    "timestamp",
    "actor",
    "correlation_id",
    "causation_id",
    "originator_topic",
    "trace_parent",
)


def event_type(event: Any) -> str:
    return str(type(event).__qualname__)


def describe(event: Any, position: int, *, reveal: bool = True) -> dict[str, Any]:
    """An event as auditors read it: position, metadata, and its data."""
    data = {k: plain(v, reveal=reveal) for k, v in vars(event).items() if k not in METADATA}
    return {
        "position": position,
        "aggregate_id": str(event.originator_id),
        "version": event.originator_version,
        "type": event_type(event),
        "timestamp": event.timestamp.isoformat(),
        "actor": getattr(event, "actor", ""),
        "correlation_id": getattr(event, "correlation_id", ""),
        "causation_id": getattr(event, "causation_id", ""),
        "data": data,
        **({"trace_parent": event.trace_parent} if hasattr(event, "trace_parent") else {}),
    }


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


def unreadable(notification: Notification, error: Exception) -> dict[str, Any]:
    """A stored event this code cannot read, as auditors see it in a stream: where it is
    and why, instead of a stream that stops there."""
    return {
        "position": notification.id,
        "aggregate_id": str(notification.originator_id),
        "version": notification.originator_version,
        "type": "unreadable",
        "topic": notification.topic,
        "error": f"{type(error).__name__}: {error}"[:300],
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


def stream(
    mapper: Mapper[UUID],
    select: Any,
    *,
    since: int = 0,
    topics: Sequence[str] = (),
    batch: int = 2000,
) -> Iterator[dict[str, Any]]:
    """The whole log from position `since` (exclusive), in order, in constant memory.
    `select` is the recorder's `select_notifications`."""
    position = since
    while notifications := select(position + 1, batch, topics=topics):
        for notification in notifications:
            try:
                event = mapper.to_domain_event(notification)
            except Exception as error:  # one odd stored event must not end the stream
                yield unreadable(notification, error)
                continue
            yield describe(event, notification.id)
        position = notifications[-1].id


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
