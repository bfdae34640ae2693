"""Plumbing shared by the command handlers: load, check the client's version, commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import EnvType

from application.errors import StockItemNotFoundError, VersionConflictError
from application.event_store import CommandResult, EventStoreApp, result_of
from application.gateways import GatewayChain
from application.ports import Notifier, PaymentGateway
from domain.base import EcoAggregate, NotFoundError
from domain.money import check_sku
from domain.stock_item import StockItem

A = TypeVar("A", bound=EcoAggregate)


class CommandApp(EventStoreApp):
    def __init__(
        self,
        env: EnvType | None = None,
        *,
        gateways: Sequence[PaymentGateway] = (),
        notifier: Notifier | None = None,
    ) -> None:
        super().__init__(env)
        self.gateways: Sequence[PaymentGateway] = (
            gateways if isinstance(gateways, GatewayChain) else list(gateways)
        )
        self.notifier = notifier

    def _get(self, aggregate_id: UUID, kind: type[A], missing: NotFoundError) -> A:
        try:
            aggregate: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise missing from None
        if not isinstance(aggregate, kind):
            raise missing
        return aggregate

    def _owned(
        self, aggregate_id: UUID, kind: type[A], customer_id: str | None, missing: NotFoundError
    ) -> A:
        """The aggregate; with `customer_id`, only if it is that customer's: someone else's
        is reported as `missing`, like one that does not exist."""
        found = self._get(aggregate_id, kind, missing)
        if customer_id is not None and getattr(found, "customer_id", None) != customer_id:
            raise missing
        return found

    @staticmethod
    def _check_version(aggregate: EcoAggregate | None, expected_version: int | None) -> None:
        """The client's If-Match against the aggregate (one not yet created is version 0)."""
        version = 0 if aggregate is None else aggregate.version
        if expected_version is not None and version != expected_version:
            raise VersionConflictError(f"version is {version}, not {expected_version} (If-Match)")

    def _commit(self, primary: EcoAggregate, *others: EcoAggregate) -> CommandResult:
        """Save `primary` and `others` in one transaction; report on `primary`."""
        try:
            recordings = self.save(primary, *others)
        except IntegrityError:
            raise VersionConflictError(
                f"{type(primary).__name__} {primary.id} was changed concurrently; retry"
            ) from None
        return result_of(primary, recordings)

    def stock_item(self, sku: str) -> StockItem:
        check_sku(sku)
        return self._get(
            StockItem.create_id(sku), StockItem, StockItemNotFoundError(f"no stock item {sku}")
        )
