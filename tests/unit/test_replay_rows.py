"""`describe_state` (replay's row from an event's decoded state, no event made) is
`describe` of the event, key for key and in the same order, whatever the event's class
does with the attributes `describe` reads: a class default, a trace parent, a property,
a missing timestamp (the same error); personal data revealed or masked alike."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from application.audit_rows import describe, describe_state
from domain.money import Money
from domain.personal import PersonalData
from domain.stock_item import StockItem

WHEN = datetime(2026, 12, 7, 12, 0, 0, 123456, tzinfo=UTC)


class Defaulted:
    actor = "system:default"  # a class's plain value: read when the state lacks it


class Traced:
    trace_parent = "00-class-level"


class Computed:
    @property
    def actor(self) -> str:  # a descriptor: only the event itself can say
        return f"computed:{self.__dict__.get('who', '?')}"


class OwnLookup:
    def __getattr__(self, name: str) -> Any:
        if name == "causation_id":
            return "looked-up"
        raise AttributeError(name)


def event_of(cls: type, state: dict[str, Any]) -> Any:
    event = object.__new__(cls)
    object.__setattr__(event, "__dict__", state)
    return event


def state(**more: Any) -> dict[str, Any]:
    return {
        "timestamp": WHEN,
        "actor": "customer:ana",
        "correlation_id": "corr",
        "causation_id": "cause",
        "quantity": 3,
        "price": Money.brl("12.50"),
        "ratio": Decimal("0.25"),
        "address": PersonalData("ana", {"line1": "Rua A", "state": "PE"}),
        "erased": PersonalData("bia", None),
        "lines": [{"sku": "ECO-1", "at": WHEN}],
        "originator_id": uuid4(),
        "originator_version": 4,
        **more,
    }


CASES = {
    "a domain event": (StockItem.Received, state()),
    "with a trace parent": (StockItem.Received, state(trace_parent="00-abc-01")),
    "metadata missing": (
        StockItem.Received,
        {"timestamp": WHEN, "originator_id": uuid4(), "originator_version": 1},
    ),
    "a class default": (Defaulted, {k: v for k, v in state().items() if k != "actor"}),
    "a class trace parent": (Traced, state()),
    "a property": (Computed, state(who="bia")),
    "its own __getattr__": (OwnLookup, {k: v for k, v in state().items() if k != "causation_id"}),
}


@pytest.mark.parametrize("reveal", [True, False], ids=["revealed", "masked"])
@pytest.mark.parametrize("case", CASES)
def test_a_row_from_the_decoded_state_is_describe_of_the_event(case, reveal):
    cls, fields = CASES[case]
    expected = describe(event_of(cls, dict(fields)), 7, reveal=reveal)
    got = describe_state(cls, dict(fields), 7, reveal=reveal)
    assert got == expected
    assert list(got) == list(expected)
    assert list(got["data"]) == list(expected["data"])


def test_a_state_without_a_timestamp_fails_as_describe_does():
    fields = {k: v for k, v in state().items() if k != "timestamp"}
    with pytest.raises(AttributeError) as described:
        describe(event_of(StockItem.Received, dict(fields)), 7)
    with pytest.raises(AttributeError) as from_state:
        describe_state(StockItem.Received, dict(fields), 7)
    assert str(from_state.value) == str(described.value)
