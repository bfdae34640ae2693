"""After shipment: the parcel's steps as the carrier reports them, and the windows in which
a shopper may send things back (Código de Defesa do Consumidor).

- *Withdrawal* (direito de arrependimento, CDC art. 49): 7 days **from receipt**, no reason
  needed; everything paid comes back, the original shipping included.
- *Defect* (vício do produto, CDC art. 26): 30 days for non-durable goods, 90 for durable
  ones, counted from receipt; the shop decides on repair, replacement or refund. A product
  says whether it is durable (`StockItem.DurabilitySet`); one not classified yet gets the
  durable window: the longer one never gives a shopper less than the law.

Until a delivery is recorded (a carrier's tracking update, or an admin marking the order
delivered), the withdrawal window counts from shipment: the shop that does not record
receipt gives the shopper the earliest possible start, never a later one than the law.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class DeliveryStep(StrEnum):
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    RETURNED_TO_SENDER = "returned_to_sender"


FINAL_STEPS = frozenset({DeliveryStep.DELIVERED, DeliveryStep.RETURNED_TO_SENDER})


class ReturnKind(StrEnum):
    WITHDRAWAL = "withdrawal"  # arrependimento, art. 49
    DEFECT = "defect"  # vício, art. 18/26


@dataclass(frozen=True)
class ReturnWindows:
    """How long after receipt each kind of return may be asked for (settings): a defect of
    durable goods (`defect`) or of non-durable ones (`defect_non_durable`)."""

    withdrawal: timedelta = timedelta(days=7)
    defect: timedelta = timedelta(days=90)
    defect_non_durable: timedelta = timedelta(days=30)

    def closes(self, kind: ReturnKind, start: datetime, durable: bool = True) -> datetime:
        if kind is ReturnKind.WITHDRAWAL:
            return start + self.withdrawal
        return start + (self.defect if durable else self.defect_non_durable)


DEFAULT_WINDOWS = ReturnWindows()


def step_applies(history: list[tuple[str, datetime]], step: DeliveryStep, at: datetime) -> bool:
    """Whether a carrier's report moves the parcel on: never after a final step, never one
    older than the newest already recorded (reports arrive out of order), never a repeat."""
    if not history:
        return True
    last_step, last_at = history[-1]
    if last_step in FINAL_STEPS or at < last_at:
        return False
    return not (last_step == step and at == last_at)
