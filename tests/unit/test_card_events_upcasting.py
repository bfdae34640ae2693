"""Issue 29's review changed two stored events: `Payment.ActionRequired` v1 kept Stripe's
client secret and the challenge URL in clear (v2 keeps neither: they are read from the
provider on request), and `Settlement.Reconciled` v1 kept only a count of what was left
unresolved (v2 names it). Rows written as v1 keep loading."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

from eventsourcing.persistence import StoredEvent

from domain.money import Money
from domain.payment import Payment
from domain.settlement import Settlement
from tests.unit.test_stored_event_upcasting import mapper


def as_v1(event: object, **extra: object) -> StoredEvent:
    """The row the code before the change wrote: no class_version, the old fields."""
    m = mapper()
    row = m.to_stored_event(event)  # type: ignore[arg-type]
    state = json.loads(row.state)
    assert state.pop("class_version") == 2
    state.update(extra)
    return StoredEvent(
        row.originator_id, row.originator_version, row.topic, json.dumps(state).encode()
    )


def test_a_v1_action_required_loads_without_its_client_secret():
    due = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    event = Payment.ActionRequired(
        originator_id=uuid4(),
        originator_version=2,
        timestamp=datetime.now(UTC),
        gateway="stripe",
        authorization_id="pi_123",
        expires_at=due,
    )
    row = as_v1(event, client_secret="pi_123_secret_abc", redirect_url="https://hooks/x?cs=1")
    read = mapper().to_domain_event(row)
    assert isinstance(read, Payment.ActionRequired)
    assert (read.authorization_id, read.expires_at) == ("pi_123", due)
    assert not hasattr(read, "client_secret")
    assert not hasattr(read, "redirect_url")


def test_a_v1_reconciled_loads_with_nothing_named_as_unresolved():
    zero = Money.zero()
    event = Settlement.Reconciled(
        originator_id=uuid4(),
        originator_version=2,
        timestamp=datetime.now(UTC),
        gross=Money.brl("10.00"),
        refunds=zero,
        chargebacks=zero,
        fees=zero,
        net=Money.brl("10.00"),
        matched=1,
        unresolved=2,
        missing_at_provider=["x"],
        missing_in_books=["y"],
        discrepancies=["z"],
    )
    state = as_v1(event)
    cleaned = json.loads(state.state)
    for name in ("missing_at_provider", "missing_in_books", "discrepancies"):
        cleaned.pop(name)
    row = StoredEvent(
        state.originator_id, state.originator_version, state.topic, json.dumps(cleaned).encode()
    )
    read = mapper().to_domain_event(row)
    assert isinstance(read, Settlement.Reconciled)
    assert (read.unresolved, read.missing_at_provider, read.discrepancies) == (2, [], [])
