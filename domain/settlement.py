"""Settlement: what a provider settled for one period, as a reconciliation found it.

One per provider and period (its id derived from both); each recorded reconciliation is an
event, the latest one standing (a re-run after the provider corrected its report is a new
fact, never an overwrite). Money to the centavo: gross captures, refunds and chargebacks
the provider settled, the fees it kept, and the net paid out.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import EcoAggregate
from domain.money import Money

SETTLEMENT_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/settlement")


class Settlement(EcoAggregate):
    class Opened(EcoAggregate.Created):
        provider: str
        start: str  # ISO dates, UTC, inclusive
        end: str

    class Reconciled(EcoAggregate.Event):
        """One run's totals and, for the audit, what it left unresolved, by id only: our
        payment ids missing at the provider, the provider's ids missing in our books, and
        each discrepancy as `problem:line id`."""

        class_version = 2

        gross: Money
        refunds: Money
        chargebacks: Money
        fees: Money
        net: Money
        matched: int
        unresolved: int  # missing on either side, or a discrepancy
        missing_at_provider: list[str]
        missing_in_books: list[str]
        discrepancies: list[str]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """v1 kept only the count of what was unresolved."""
            state["missing_at_provider"] = []
            state["missing_in_books"] = []
            state["discrepancies"] = []

    @staticmethod
    def create_id(provider: str, start: str, end: str) -> UUID:
        return uuid5(SETTLEMENT_NAMESPACE, f"{provider}:{start}:{end}")

    @event(Opened)
    def __init__(self, provider: str, start: str, end: str) -> None:
        self.provider, self.start, self.end = provider, start, end
        self.runs = 0

    @event(Reconciled)
    def record(
        self,
        gross: Money,
        refunds: Money,
        chargebacks: Money,
        fees: Money,
        net: Money,
        matched: int,
        unresolved: int,
        missing_at_provider: list[str],
        missing_in_books: list[str],
        discrepancies: list[str],
    ) -> None:
        self.runs += 1
