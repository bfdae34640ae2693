"""The saga's process-wide maps of recent ids (`BoundedIds`) stay within their bound: the
oldest entry goes first, the newest are kept (their reads come seconds later)."""

from __future__ import annotations

from uuid import uuid4

from application.checkout.policy import OrdersOfPayments, SubjectsOfOrders


def test_a_map_of_recent_ids_forgets_its_oldest_entry_past_its_bound():
    for kind in (OrdersOfPayments, SubjectsOfOrders):
        ids = kind()
        pairs = [(uuid4(), uuid4()) for _ in range(kind.LIMIT + 1)]
        for key, value in pairs:
            ids.remember(key, value)
        assert len(ids._ids) == kind.LIMIT
        assert ids.get(pairs[0][0]) is None  # the oldest went
        assert ids.get(pairs[-1][0]) == pairs[-1][1]
        assert ids.get(pairs[1][0]) == pairs[1][1]


def test_the_maps_are_bounded_to_minutes_of_checkouts_not_hours():
    # ~0.3 KB an entry: a bound of hours of checkouts was megabytes of RSS in every process
    assert OrdersOfPayments.LIMIT <= 4_096
    assert SubjectsOfOrders.LIMIT <= 4_096
