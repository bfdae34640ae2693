"""Side effects the log asks for: the ONE table from event to the command that carries it out,
and the dispatcher that hands them to the workers.

`EFFECTS` is the only place an effect is named. The dispatcher reads it to send; the workers
(infrastructure/runtime/actors.py) run the service method `application/services.py` `command_table`
names for each. A
command takes the aggregate id first, then the step's extra arguments (all strings).

The dispatcher follows the log like a projector. For each event it sends the effects due
now, then records the position: at-least-once delivery. Every command is idempotent (it
checks state first and uses idempotency keys), so a repeat after a crash is harmless.

An effect for later (a step with `delay` or `until`: the payment deadline of every order)
is not a delayed broker message when the dispatcher has a `DeadlineBook`: it is a row of the
book written in the same transaction as the position, so it is recorded exactly once and
survives any crash; the book's sweeper sends it when due (infrastructure/runtime/
deadlines.py). The deadlines an event makes pointless (`SETTLED_BY`: an order decided needs
no payment deadline) are deleted with that event's position, so most never run at all.

With a book, the position is written with the batch's deadlines once the runner's reads are
drained and `write_every_s` has passed since the first event not yet written (or at `BATCH`
events), not once per event. Effects due now are sent before their position is written, as
before, so a crash sends again at most that batch's (every command is idempotent), and a
deadline is recorded at most `write_every_s` late.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.base import now
from domain.order import Order
from domain.payment import Payment
from domain.returns import Return


@dataclass(frozen=True)
class Effect:
    action: str  # the application command (and the worker actor of that name)
    args: tuple[str, ...]
    correlation_id: str = ""
    causation_id: str = ""
    delay_s: float = 0.0


class EffectSender(Protocol):
    def send(self, effect: Effect) -> None: ...


@dataclass(frozen=True)
class Deadline:
    """An effect to send at `due` (the book's row)."""

    due: datetime
    effect: Effect

    @property
    def key(self) -> str:
        """One row per command and arguments: a step recorded twice is one deadline."""
        return ":".join((self.effect.action, *self.effect.args))


class DeadlineBook(Protocol):
    """Where the dispatcher keeps the effects for later, beside its position."""

    def record(
        self, due: list[Deadline], settled: list[tuple[str, tuple[str, ...]]], tracking: Tracking
    ) -> None:
        """In ONE transaction: delete the deadlines `settled` names (aggregate id, commands),
        then insert `due`, and record the position `tracking`."""


@dataclass(frozen=True)
class Step:
    """What one kind of event asks for: run `command` on the event's aggregate (with
    `extra` arguments), after the delay named `delay` (a key of the dispatcher's delays)."""

    command: str
    extra: tuple[str, ...] = ()
    delay: str | None = None
    until: str | None = None  # or: wait until the instant in this field of the event
    needs: str | None = None  # only when the dispatcher has this feature on (settings)
    fields: tuple[str, ...] = ()  # the event's fields passed after `extra`, as strings


PAYMENT_TIMEOUT = "payment_timeout_s"
LABEL_RESUME = "label_resume_s"
# Delays a dispatcher is not given: a label purchase cut short is taken up again after this
# long (the request that asked for it has long finished or failed by then).
DEFAULT_DELAYS: dict[str, float] = {LABEL_RESUME: 120.0}

# The payment deadline is a step of the saga like the others: placing an order schedules
# its expiry; `expire_order` cancels it as payment_timeout if it is still pending then.
PAYMENT_DEADLINE = Step("expire_order", delay=PAYMENT_TIMEOUT)

EFFECTS: dict[type, Step] = {
    Order.Placed: PAYMENT_DEADLINE,
    Order.Confirmed: Step("notify_order", ("order_confirmed",)),
    Order.Cancelled: Step("notify_order", ("order_cancelled",)),
    Order.Shipped: Step("notify_order", ("order_shipped",)),
    # A failed payment leaves the order for another try until its deadline (the command
    # checks that none is under way then); each new try has the payment deadline again.
    Order.PaymentFailed: Step("close_payment_retry", until="retry_until"),
    Order.PaymentRetried: Step("expire_order", delay=PAYMENT_TIMEOUT, fields=("attempt",)),
    Payment.Requested: Step("authorize_payment"),
    Payment.CaptureRequested: Step("capture_payment"),
    Payment.VoidRequested: Step("void_payment"),
    Payment.RefundRequested: Step("refund_payment"),
    # A Pix or boleto paid again: that money goes back at once.
    Payment.ExtraPaymentReceived: Step("refund_extra_payments"),
    # A Pix or boleto expires at its deadline unless paid first (the command checks).
    Payment.ChargeIssued: Step("expire_payment", until="expires_at"),
    # A card's 3-D Secure not finished by its deadline expires (the command checks).
    Payment.ActionRequired: Step("expire_authentication", until="expires_at"),
}
# Steps beside the ones above (several per event): a configured feature's (`needs`: the
# NF-e), or always (`needs` None).
FEATURE_EFFECTS: dict[type, tuple[Step, ...]] = {
    Order.Confirmed: (Step("issue_invoice", needs="fiscal:confirmed"),),
    Order.Shipped: (Step("issue_invoice", needs="fiscal:shipped"),),
    Order.Cancelled: (Step("cancel_invoice", needs="fiscal"),),
    Return.Received: (Step("issue_return_invoice", needs="fiscal"),),
    Order.PaymentFailed: (Step("notify_order", ("payment_failed",)),),  # always
    Order.TrackingUpdated: (Step("notify_order", ("order_tracking",)),),  # each step
    Order.LabelRequested: (Step("resume_label_purchase", delay=LABEL_RESUME),),
    Return.LabelRequested: (Step("resume_return_label", delay=LABEL_RESUME),),
}
# Deadlines an event makes pointless: an order decided is not expired, nor is its retry
# window closed (the commands would check and do nothing; deleting them saves their run).
ORDER_DEADLINES = ("expire_order", "close_payment_retry")
SETTLED_BY: dict[type, tuple[str, ...]] = {
    Order.Confirmed: ORDER_DEADLINES,
    Order.Cancelled: ORDER_DEADLINES,
}
EFFECT_EVENTS: tuple[type, ...] = tuple(dict.fromkeys([*EFFECTS, *FEATURE_EFFECTS]))
COMMANDS: tuple[str, ...] = tuple(
    sorted(
        {step.command for step in EFFECTS.values()}
        | {step.command for steps in FEATURE_EFFECTS.values() for step in steps}
    )
)


def effects_of(
    event: Any, delays: Mapping[str, float], features: frozenset[str] = frozenset()
) -> list[Effect]:
    """What the event asks of the outside world (nothing if it is not in `EFFECTS`), and
    the steps of the `features` that are on."""
    first = EFFECTS.get(type(event))
    steps = [first] if first is not None else []
    steps += [
        s for s in FEATURE_EFFECTS.get(type(event), ()) if s.needs is None or s.needs in features
    ]
    return [
        Effect(
            action=step.command,
            args=(
                str(event.originator_id),
                *step.extra,
                *(str(getattr(event, name)) for name in step.fields),
            ),
            correlation_id=getattr(event, "correlation_id", ""),
            causation_id=f"event:{event.originator_id}:{event.originator_version}",
            delay_s=_delay_of(step, event, delays),
        )
        for step in steps
    ]


def _delay_of(step: Step, event: Any, delays: Mapping[str, float]) -> float:
    if step.until is not None:
        return max(0.0, (getattr(event, step.until) - now()).total_seconds())
    return {**DEFAULT_DELAYS, **delays}[step.delay] if step.delay else 0.0


BATCH = 200  # events between two writes of the position, at most


class EffectDispatcher(Projection[TrackingRecorder]):
    name = "effects"

    def __init__(
        self,
        view: TrackingRecorder,
        sender: EffectSender,
        delays: Mapping[str, float],
        features: frozenset[str] = frozenset(),
        book: DeadlineBook | None = None,
        write_every_s: float = 0.0,
    ):
        super().__init__(view)
        self.sender = sender
        self.delays = dict(delays)
        self.features = features
        self.book = book
        self.write_every_s = write_every_s
        # Set by a runner that knows when its reads are drained; until then, every event.
        self.drained: Callable[[], bool] = lambda: True
        self._due: dict[str, Deadline] = {}
        self._settled: list[tuple[str, tuple[str, ...]]] = []
        self._tracking: Tracking | None = None
        self._events = 0
        self._since = 0.0  # when the first event not yet written was processed

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        if self.book is None:  # every effect to the broker, the position per event
            for effect in effects_of(domain_event, self.delays, self.features):
                self.sender.send(effect)
            self.view.insert_tracking(tracking)
            return
        later = []
        for effect in effects_of(domain_event, self.delays, self.features):
            if effect.delay_s > 0:
                later.append(Deadline(now() + timedelta(seconds=effect.delay_s), effect))
            else:
                self.sender.send(effect)
        self._due.update((deadline.key, deadline) for deadline in later)  # all sent: keep
        settles = SETTLED_BY.get(type(domain_event))
        if settles:
            self._settle(str(domain_event.originator_id), settles)
        if self._tracking is None:
            self._since = time.monotonic()
        self._tracking, self._events = tracking, self._events + 1
        if self._events >= BATCH or self.drained():
            self.flush_pending()

    def _settle(self, aggregate_id: str, commands: tuple[str, ...]) -> None:
        """Deadlines of this batch go without a word to the database; earlier ones are
        deleted with the position."""
        for key, deadline in list(self._due.items()):
            if deadline.effect.args[0] == aggregate_id and deadline.effect.action in commands:
                del self._due[key]
        self._settled.append((aggregate_id, commands))

    def flush_pending(self) -> None:
        """Write the batch's deadlines and position once `write_every_s` has passed (also
        called when the runner has nothing queued)."""
        if self._tracking is not None and (
            self._events >= BATCH or time.monotonic() - self._since >= self.write_every_s
        ):
            self.flush()

    def flush(self) -> None:
        """Write the batch's deadlines and position now (a runner that stops)."""
        if self.book is None or self._tracking is None:
            return
        self.book.record(list(self._due.values()), self._settled, self._tracking)
        self._due, self._settled, self._tracking, self._events = {}, [], None, 0
