"""The checkout saga: a process manager on the library's `EventSourcedProjection`.

It follows the log and, for each event it cares about, decides the next step and collects
the new events on the processing event: they commit in one transaction with the saga's
position, so after a crash at any point no step is lost or done twice.

    Order.Placed        -> reserve_stock_and_request_payment: reserve every line and the
                           coupon's use (all or none) and request the payment; or cancel as
                           insufficient_stock / coupon_unavailable
    (Order.Placed       -> the payment deadline: `effects.PAYMENT_DEADLINE` schedules
                           `expire_order`, which cancels a still-pending order as
                           payment_timeout)
    Payment.Authorized  -> confirm_paid_order; if it was cancelled meanwhile, give the money
                           back
    Payment.Declined    -> cancel_unpaid_order as payment_declined (payment_failed when no
                           gateway answered) and release what it holds
    Payment.ChargeIssued -> wait_for_the_payer: a Pix or boleto is out, the order is
                           awaiting_payment (its expiry is an effect: `expire_payment`)
    Payment.Paid        -> confirm_order_paid_by_the_payer; paid for an order given up
                           meanwhile: the money goes back, flagged for an admin (a payment
                           made again is the Payment's own: ExtraPaymentReceived)
    Payment.Expired     -> cancel_expired_order as payment_expired, releasing what it holds
    Payment.ActionRequired -> wait_for_the_shopper: a card needs 3-D Secure, the order is
                           awaiting_authentication until authorized, declined or expired
                           (`expire_authentication`, an effect)

Another try at paying (`payment_retry_s` > 0, ECOVAREJO_PAYMENT_RETRY_S): a declined,
failed or expired attempt does not cancel the order; it waits, `awaiting_payment` with its
stock held, until the deadline (`Order.PaymentFailed`); the shopper's new attempt is a new
Payment (`CheckoutService.retry_payment`) that the steps above treat like the first; the
deadline is an effect (`close_payment_retry`). Only the order's current attempt moves it:
money an earlier attempt took late goes back.

Gateway calls, notifications and the deadline are side effects: the effect dispatcher sends
them to dramatiq when it sees the events recorded here (checkout/effects.py).

Steps run in parallel: the saga is split in partitions by the id of the aggregate whose
event it follows (`infrastructure/runtime/saga_partitions.py`), each with its own position
(`tracking_name`), so steps of one order or payment keep their order while steps of
different ones run side by side. A step that will change stock items or a coupon first
takes their locks, in sorted order (so never a deadlock): the process's own (`ItemLocks`),
then the ones shared with the other workers (`shared_locks`: PostgreSQL advisory locks),
so steps of two partitions on one hot item take turns instead of racing. Optimistic
concurrency stays the rule for everything else (a command of the API on the same item, a
step whose items were not known beforehand): two changes of one aggregate at once clash on
its version, the loser's transaction (events and position) rolls back as a whole and the
step runs again on a fresh read, a few times (`STEP_ATTEMPTS`), before the runner gives
up and its supervisor retries it. Without the shared locks, two workers stepping on one
hot item starve each other (the one that keeps committing wins every race). A clash on
the position itself means another process handled the event already (no retry: that is a
bug of ownership, not contention).
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.application import ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.utils import get_topic

from application.checkout.compensation import compensate, reserve_for
from application.event_store import EventStore
from application.write_path import LeanProjection
from domain.base import EcoAggregate, EventMetadata, event_context, now
from domain.order import CancellationReason, Order, OrderStatus
from domain.payment import Payment
from domain.personal import DataSubject
from domain.promotion import Promotion
from domain.stock_item import StockItem

log = logging.getLogger(__name__)

STEP_ATTEMPTS = 8  # runs of one step that lost a version race, before the runner gives up
RETRY_WAIT_S = 0.005  # the first wait before a rerun, doubled each time, jittered


class ItemLocks:
    """Process-wide locks on the aggregates saga steps contend for (stock items, coupons),
    taken all at once in sorted order before a step and released after its commit. One
    lock per item ever locked: bounded by the catalog and the coupons."""

    def __init__(self) -> None:
        self._locks: dict[UUID, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def holding(self, ids: Iterable[UUID]) -> Iterator[None]:
        with self._guard:
            locks = [self._locks.setdefault(i, threading.Lock()) for i in sorted(set(ids))]
        for lock in locks:
            lock.acquire()
        try:
            yield
        finally:
            for lock in reversed(locks):
                lock.release()


class BoundedIds:
    """A process-wide map of recent ids to ids (no personal data), for reads in one round
    trip. An entry is a fact that never changes, so it is never stale; an id it does not
    know (another worker's, one from before a restart) costs the reads as before. Bounded:
    the oldest entry goes first."""

    # The reads it serves come seconds after the entry (a payment's step after its order's,
    # the "confirmed" notice after the reservation): 2,048 checkouts is minutes at any rate
    # a process sustains. An entry holds ~0.3 KB (two UUIDs and their ints, the links): at
    # 10,000 the two maps kept ~6.5 MB and took a 30-minute soak's first 16 minutes to
    # fill (bench/README.md, "Memory under this session's soak"); at 2,048 ~1.3 MB, full
    # within warm-up. A miss only costs the reads as before.
    LIMIT = 2_048

    def __init__(self) -> None:
        self._ids: collections.OrderedDict[UUID, UUID] = collections.OrderedDict()
        self._guard = threading.Lock()

    def remember(self, key: UUID, value: UUID) -> None:
        with self._guard:
            self._ids[key] = value
            if len(self._ids) > self.LIMIT:
                self._ids.popitem(last=False)

    def get(self, key: UUID) -> UUID | None:
        with self._guard:
            return self._ids.get(key)


class OrdersOfPayments(BoundedIds):
    """Which order each recent payment is for (the order's step and its payment's run in
    different partitions), so that a payment's step reads the payment and its order in one
    round trip."""

    order_of = BoundedIds.get


class SubjectsOfOrders(BoundedIds):
    """Whose data subject each recent order is (order id -> `DataSubject` id, the uuid5 the
    subject's id is made of: no customer id), filled by the saga's reservation step, so
    that the notify actor of the same process reads an order and its data subject in one
    round trip (`OrderService.notify_order`) instead of the order first and then, from its
    customer, the subject."""

    subject_of = BoundedIds.get


SUBJECTS_OF_ORDERS = SubjectsOfOrders()  # one per process: the saga fills it, the actor reads


def metadata_for(actor: str, cause: Any) -> EventMetadata:
    """Events a reaction emits keep the cause's correlation id and name it as cause."""
    return EventMetadata(
        actor=actor,
        correlation_id=getattr(cause, "correlation_id", ""),
        causation_id=f"event:{cause.originator_id}:{cause.originator_version}",
    )


def payment_for(order: Order) -> Payment:
    """The payment an order asks for, by its payment method."""
    method = order.payment_method
    return Payment.for_attempt(  # one payment per attempt at paying
        order.payment_attempt,
        order_id=order.id,
        customer_id=order.customer_id,
        amount=order.totals.total,
        token=method.token,
        brand=method.brand,
        last4=method.last4,
        method=method.method,
        installments=method.installments,
        payer=order.payer,
    )


class CheckoutSaga(LeanProjection, EventStore):
    topics = (
        get_topic(Order.Placed),
        get_topic(Payment.Authorized),
        get_topic(Payment.Declined),
        get_topic(Payment.ChargeIssued),
        get_topic(Payment.Paid),
        get_topic(Payment.Expired),
        get_topic(Payment.ActionRequired),
    )

    # The name the position is recorded under: one per partition (None: the log's name).
    tracking_name: str | None = None
    item_locks = ItemLocks()  # shared by every saga (partition) of the process
    orders_of_payments = OrdersOfPayments()  # shared too: see the class
    # Locks shared with the other processes (the workers' partitions), taken after the
    # process's own: set by infrastructure (PostgreSQL advisory locks); none by default.
    shared_locks: Callable[[list[UUID]], AbstractContextManager[None]] | None = None
    # How long a failed payment leaves the order for another try (0: cancelled at once).
    payment_retry_s: float = 0.0

    def process_event(self, domain_event: DomainEventProtocol[UUID], tracking: Tracking) -> None:
        if self.tracking_name is not None:
            tracking = Tracking(self.tracking_name, tracking.notification_id)
        contended = sorted(set(self._contended(domain_event)))
        with self.item_locks.holding(contended):
            if self.shared_locks is None or not contended:
                self._run_step(domain_event, tracking)
                return
            with self.shared_locks(contended):
                self._run_step(domain_event, tracking)

    def _contended(self, event: Any) -> list[UUID]:
        """The stock items and coupon the step for `event` may change."""
        order: Order | None = None
        if isinstance(event, Order.Placed):
            lines, coupon = event.lines, event.coupon
        elif isinstance(event, Payment.Declined | Payment.Expired):  # compensations
            with self._reading_payment(event.originator_id):
                payment = self.load(Payment, event.originator_id)
                order = self.load(Order, payment.order_id) if payment is not None else None
            if order is None:
                return []
            lines, coupon = order.lines, order.coupon
        else:
            return []
        ids = [StockItem.create_id(line.sku) for line in lines]
        return [*ids, Promotion.create_id(coupon)] if coupon is not None else ids

    def _run_step(self, domain_event: DomainEventProtocol[UUID], tracking: Tracking) -> None:
        for attempt in range(1, STEP_ATTEMPTS + 1):
            try:
                with event_context(metadata_for("system:saga", domain_event)):
                    super().process_event(domain_event, tracking)
                return
            except IntegrityError:
                if attempt == STEP_ATTEMPTS or self._handled(tracking):
                    raise
            log.info(
                "saga step %s lost a version race (run %d); running it again on a fresh read",
                type(domain_event).__qualname__,
                attempt,
            )
            time.sleep(random.uniform(0.5, 1.0) * RETRY_WAIT_S * 2**attempt)

    def _handled(self, tracking: Tracking) -> bool:
        """Whether the position is recorded already (by another runner of this partition)."""
        recorded = self.recorder.max_tracking_id(tracking.application_name)
        return recorded is not None and recorded >= tracking.notification_id

    def _load(self, aggregate_id: UUID) -> Any:
        """What a step holds must exist (a missing one fails the step, retried)."""
        return self.repository.get(aggregate_id)

    def _load_as(self, kind: type, aggregate_id: UUID) -> Any:
        """`_load`, for an order or a payment: read without the snapshot table (none is
        ever taken of them)."""
        return self.get_aggregate_of(kind, aggregate_id)

    def _reading_payment(self, payment_id: UUID) -> Any:
        """A block whose loads of the payment and of its order (if known) are one read."""
        order_id = self.orders_of_payments.order_of(payment_id)
        return self.reading([payment_id] if order_id is None else [payment_id, order_id])

    def _payment_and_order(self, payment_id: UUID) -> tuple[Payment, Order]:
        """The payment a step follows and its order, read together when the order is known
        (`OrdersOfPayments`), else one after the other."""
        with self._reading_payment(payment_id):
            payment: Payment = self._load_as(Payment, payment_id)
            order: Order = self._load_as(Order, payment.order_id)
        self.orders_of_payments.remember(payment.id, order.id)
        return payment, order

    def _any(self, aggregate_id: UUID) -> Any:
        """What compensation gives back, if it exists (a payment may not yet)."""
        return self.load(EcoAggregate, aggregate_id)

    @singledispatchmethod
    def policy(self, domain_event: Any, processing_event: ProcessingEvent[UUID]) -> None:
        """Events the saga does not react to."""

    @policy.register
    def reserve_stock_and_request_payment(
        self, event: Order.Placed, processing_event: ProcessingEvent[UUID]
    ) -> None:
        items = [StockItem.create_id(line.sku) for line in event.lines]
        with self.reading([event.originator_id], cached=items):  # one read for all
            order: Order = self._load_as(Order, event.originator_id)
            if order.status != OrderStatus.PENDING or order.stock_reserved:
                return  # cancelled before the saga got here, or a step already taken
            reserved = reserve_for(order, self._load)
        if isinstance(reserved, CancellationReason):
            processing_event.collect_events(order)  # nothing was reserved: none to release
            return
        order.mark_stock_reserved()
        payment = payment_for(order)
        self.orders_of_payments.remember(payment.id, order.id)
        SUBJECTS_OF_ORDERS.remember(order.id, DataSubject.create_id(order.customer_id))
        processing_event.collect_events(order, *reserved, payment)

    @policy.register
    def confirm_paid_order(
        self, event: Payment.Authorized, processing_event: ProcessingEvent[UUID]
    ) -> None:
        payment, order = self._payment_and_order(event.originator_id)
        if order.waits_for(payment.id) and order.status != OrderStatus.AWAITING_PAYMENT:
            order.confirm(payment.id)
            processing_event.collect_events(order)
        elif order.status == OrderStatus.CANCELLED or payment.id != order.current_payment_id:
            # Given up, or an earlier attempt authorized after another was started.
            payment.give_back_unwanted(order.cancellation_reason or "order_cancelled")
            processing_event.collect_events(payment)

    @policy.register
    def cancel_unpaid_order(
        self, event: Payment.Declined, processing_event: ProcessingEvent[UUID]
    ) -> None:
        payment, order = self._payment_and_order(event.originator_id)
        if not order.waits_for(payment.id) or order.status == OrderStatus.AWAITING_PAYMENT:
            return
        reason = (
            CancellationReason.PAYMENT_FAILED
            if event.reason == "all_gateways_failed"
            else CancellationReason.PAYMENT_DECLINED
        )
        self._fail_or_cancel(order, payment, reason, event.reason, processing_event)

    def _fail_or_cancel(
        self,
        order: Order,
        payment: Payment,
        reason: CancellationReason,
        detail: str,
        processing_event: ProcessingEvent[UUID],
    ) -> None:
        """The current attempt failed: the order waits for another (within the retry
        window), else it is cancelled and what it holds given back."""
        window = timedelta(seconds=self.payment_retry_s)
        if order.hold_for_retry(payment.id, reason, window, now()):
            processing_event.collect_events(order)
            return
        processing_event.collect_events(*compensate(order, reason, detail, self._any))

    @policy.register
    def wait_for_the_shopper(
        self, event: Payment.ActionRequired, processing_event: ProcessingEvent[UUID]
    ) -> None:
        """3-D Secure: the order waits for the shopper (its expiry is an effect,
        `expire_authentication`); a cancelled order's authentication just runs out."""
        payment, order = self._payment_and_order(event.originator_id)
        if order.status == OrderStatus.PENDING and order.waits_for(payment.id):
            order.await_authentication(payment.id)
            processing_event.collect_events(order)

    # Pix and boleto -----------------------------------------------------------------------
    @policy.register
    def wait_for_the_payer(
        self, event: Payment.ChargeIssued, processing_event: ProcessingEvent[UUID]
    ) -> None:
        payment, order = self._payment_and_order(event.originator_id)
        if order.status == OrderStatus.PENDING and order.waits_for(payment.id):
            order.await_payment(payment.id)
            processing_event.collect_events(order)

    @policy.register
    def confirm_order_paid_by_the_payer(
        self, event: Payment.Paid, processing_event: ProcessingEvent[UUID]
    ) -> None:
        payment, order = self._payment_and_order(event.originator_id)
        if payment.pending is not None:
            return  # paid after its expiry: the payment gives it back on its own
        if order.waits_for(payment.id) and order.status != OrderStatus.AWAITING_AUTHENTICATION:
            order.confirm(payment.id)
            processing_event.collect_events(order)
        elif order.status == OrderStatus.CANCELLED or payment.id != order.current_payment_id:
            # Paid for an order given up meanwhile: the money goes back, flagged.
            payment.give_back_unwanted(order.cancellation_reason or "order_cancelled")
            processing_event.collect_events(payment)

    @policy.register
    def cancel_expired_order(
        self, event: Payment.Expired, processing_event: ProcessingEvent[UUID]
    ) -> None:
        payment, order = self._payment_and_order(event.originator_id)
        if not order.waits_for(payment.id):
            return
        reason = CancellationReason.PAYMENT_EXPIRED
        self._fail_or_cancel(order, payment, reason, payment.method, processing_event)
