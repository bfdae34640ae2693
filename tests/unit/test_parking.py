"""Projectors retry a failing event, then park it; an unreadable event is parked at once."""

from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking

from domain.base import UnreadableEvent
from projections.base import MAX_ATTEMPTS, process_or_park


class Lot:
    def __init__(self) -> None:
        self.failures = 0
        self.parked: list[tuple[dict, int]] = []

    def count_failure(self, position: int) -> int:
        self.failures += 1
        return self.failures

    def park(self, entry: dict) -> None:
        self.parked.append((entry, entry["position"]))


def broken(_event: object) -> list:
    raise KeyError("missing field")


def test_a_failing_event_is_retried_then_parked_with_its_position_and_error():
    lot, applied = Lot(), []
    for _ in range(MAX_ATTEMPTS - 1):
        with pytest.raises(KeyError):
            process_or_park(
                object(), Tracking("EcoVarejo", 7), broken, lambda *a: applied.append(a), lot
            )
    assert lot.parked == []
    process_or_park(object(), Tracking("EcoVarejo", 7), broken, lambda *a: applied.append(a), lot)
    [(entry, position)] = lot.parked
    assert position == 7
    assert entry["error"] == "KeyError: 'missing field'"
    assert applied == [([], Tracking("EcoVarejo", 7))]  # no change; the position moves past


def test_an_unreadable_event_is_parked_at_once_and_only_its_position_is_recorded():
    lot, applied = Lot(), []
    event = UnreadableEvent(uuid4(), 1, "domain.gone:Gone.Happened", "TopicError: gone")
    process_or_park(
        event, Tracking("EcoVarejo", 3), lambda e: ["change"], lambda *a: applied.append(a), lot
    )
    assert [(e["type"], p) for e, p in lot.parked] == [("domain.gone:Gone.Happened", 3)]
    assert applied == [([], Tracking("EcoVarejo", 3))]


def test_a_good_event_is_applied_with_its_tracking():
    lot, applied = Lot(), []
    tracking = Tracking("EcoVarejo", 4)
    process_or_park(object(), tracking, lambda e: ["change"], lambda *a: applied.append(a), lot)
    assert applied == [(["change"], tracking)]
    assert lot.parked == []
