"""Several read models rebuilt in one pass over the log give what one rebuild each gives,
and the log is read and decoded once for all of them."""

from __future__ import annotations

from typing import Any

from application.event_store import LogFollower
from infrastructure.bootstrap import REDIS_PROJECTIONS
from infrastructure.read_stores import projection_admin
from infrastructure.read_stores.projection_admin import rebuild, rebuild_many, snapshot
from infrastructure.read_stores.redis_views import active_generation
from tests.checkout import check_out, fill_cart, register, settled, wait_until


class CountingFollower(LogFollower):
    decoded = 0

    def construct_mapper(self) -> Any:
        mapper = super().construct_mapper()
        decode = mapper.event_of_row  # rebuilds decode the log's rows, not `Notification`s

        def counted(*row: Any) -> Any:
            CountingFollower.decoded += 1
            return decode(*row)

        mapper.event_of_row = counted
        return mapper


def test_one_pass_over_the_log_rebuilds_every_read_model_as_separate_rebuilds_do(
    container, monkeypatch
):
    register(container.services, "ECO-1", 10)
    for i in range(2):
        check_out(container.services, fill_cart(container.services, {"ECO-1": 1}, f"c{i}"))
    wait_until(lambda: settled(container.services))
    one_by_one = {}
    for name in REDIS_PROJECTIONS:
        rebuild(container, name)
        one_by_one[name] = snapshot(container.redis, name)
    monkeypatch.setattr(projection_admin, "LogFollower", CountingFollower)
    head = container.head_position()
    reports = rebuild_many(container, list(REDIS_PROJECTIONS))
    assert CountingFollower.decoded == reports[0].events  # each event decoded once, for all
    assert [r.projection for r in reports] == list(REDIS_PROJECTIONS)
    assert {r.events for r in reports} == {head}  # (the test log has no gaps)
    for report in reports:
        assert active_generation(container.redis, report.projection) == report.generation
        assert report.previous_generation != report.generation
        assert snapshot(container.redis, report.projection) == one_by_one[report.projection]
    assert one_by_one["orders"]  # the comparison compared something
