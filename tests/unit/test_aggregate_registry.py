"""The aggregate registry lists every aggregate once; auditors can name all their events."""

from __future__ import annotations

import importlib
import pkgutil

import domain
from application.audit import event_types
from domain.base import EcoAggregate
from domain.registry import AGGREGATES


def _aggregates_defined_in_domain() -> set[type]:
    for module in pkgutil.iter_modules(domain.__path__):
        importlib.import_module(f"domain.{module.name}")
    found: set[type] = set()
    pending = list(EcoAggregate.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("domain."):
            found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_aggregate_in_the_domain_is_listed_in_the_registry_once() -> None:
    assert len(set(AGGREGATES)) == len(AGGREGATES)
    assert _aggregates_defined_in_domain() <= set(AGGREGATES)


def test_webhook_delivery_events_can_be_named_by_auditors() -> None:
    assert "WebhookDelivery.Received" in event_types()


def test_every_registered_aggregate_contributes_event_types() -> None:
    names = {name.split(".")[0] for name in event_types()}
    assert names == {aggregate.__name__ for aggregate in AGGREGATES}
