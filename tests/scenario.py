"""Given events → when a command → then new events: a use case as a domain expert reads it
(after the `eventsourcing` examples' `shopvertical` slices).

    (
        Scenario(world.services)
        .given(a_stock_item("ECO-1", 10))
        .when(lambda s: s.catalog.receive_stock("ECO-1", 5, reference="NF 12"))
        .then(Expect(StockItem.Received, quantity=5, reference="NF 12"))
    )

`given` takes aggregates built with the domain's own commands (`StockItem.register(...)`,
then any further command on them): their pending events are the history, saved as they are.
`when` runs one service call. `then` checks exactly the events that call recorded, in order,
by type and by the attributes named; `then_refused` checks the error and that nothing was
recorded. The services are the world's (tests/worlds.py): in memory in tests/unit, on
PostgreSQL and Redis when an integration module runs the same scenarios again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from application.services import Services
from domain.base import EcoAggregate
from domain.money import Money
from domain.stock_item import StockItem


class Expect:
    """An expected event: its type, and the attributes that matter to the scenario."""

    def __init__(self, kind: type, **attributes: Any):
        self.kind = kind
        self.attributes = attributes

    def matches(self, event: Any) -> bool:
        return isinstance(event, self.kind) and all(
            getattr(event, name, _MISSING) == value for name, value in self.attributes.items()
        )

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.attributes.items())
        return f"{self.kind.__qualname__}({shown})"


_MISSING = object()


@dataclass
class Scenario:
    services: Services
    result: Any = None
    error: Exception | None = None
    _mark: int = 0

    def _head(self) -> int:
        return self.services.store.recorder.max_notification_id() or 0

    def given(self, *history: EcoAggregate) -> Scenario:
        """The history: the aggregates' pending events, saved together."""
        if history:
            self.services.store.save(*history)
        self._mark = self._head()
        return self

    def when(self, command: Callable[[Services], Any]) -> Scenario:
        """The one service call under test (a domain refusal is kept for `then_refused`)."""
        self._mark = self._head()
        try:
            self.result = command(self.services)
        except Exception as error:
            self.error = error
        return self

    def recorded(self) -> list[Any]:
        """Every event the `when` recorded, in log order."""
        store = self.services.store
        found = store.recorder.select_notifications(self._mark + 1, 1000)
        return [store.mapper.to_domain_event(n) for n in found]

    def then(self, *expected: Expect | type) -> list[Any]:
        """Exactly these events, in this order (a type alone matches any such event)."""
        if self.error is not None:
            raise AssertionError(f"the command was refused: {self.error!r}") from self.error
        events = self.recorded()
        wanted = [e if isinstance(e, Expect) else Expect(e) for e in expected]
        names = [type(e).__qualname__ for e in events]
        assert len(events) == len(wanted), f"recorded {names}, expected {wanted}"
        for event, expectation in zip(events, wanted, strict=True):
            assert expectation.matches(event), f"recorded {event!r}, expected {expectation}"
        return events

    def then_refused(self, error: type[Exception], mentioning: str = "") -> Exception:
        """The command was refused with `error` (its message naming `mentioning`), and
        nothing at all was recorded."""
        assert isinstance(self.error, error), f"expected {error.__name__}, got {self.error!r}"
        assert mentioning in str(self.error), f"{mentioning!r} not in {self.error}"
        assert self.recorded() == [], "a refused command recorded events"
        return self.error


# Histories: aggregates made by the domain's own commands ------------------------------------
def a_stock_item(sku: str, quantity: int, price: str = "50.00") -> StockItem:
    return StockItem.register(
        sku=sku,
        name=f"Produto {sku}",
        description="",
        category="casa",
        price=Money.brl(price),
        initial_quantity=quantity,
        sustainability={"carbon_footprint_kg": "1.5", "certifications": ["FSC"]},
    )
