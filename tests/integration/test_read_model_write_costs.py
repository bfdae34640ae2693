"""What a write of the worker's Redis read models costs Redis: a batch of every read model
the runner holds is ONE round trip and, whatever the number of read models, three commands
of the script's own (one MGET of their generations, positions and retry counts, one MSET
of their documents and positions, one PUBLISH of the positions) besides index changes;
and each model's expected position is still checked, so a position moved under any one
of them refuses the write. Counted on a real Redis (INFO commandstats, and the client's
round trips)."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from eventsourcing.persistence import Tracking

from infrastructure.read_stores.redis_views import RedisDocumentView
from infrastructure.runtime.fanout import FanOut
from infrastructure.runtime.followers import READ_MODELS, READ_MODELS_RUNNER
from infrastructure.runtime.live_batch import LiveBatch, prefixed
from projections.base import APPLICATION, Batch, PositionMovedError, Put

MODELS = [n for n, m in READ_MODELS.items() if m.runner == READ_MODELS_RUNNER]


class CountingRedis(redis.Redis):
    """A real client that counts the commands it sends (each one a round trip here)."""

    sent: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(str(args[0]).upper())
        return super().execute_command(*args, **options)


def commands(client: redis.Redis) -> dict[str, int]:
    stats: dict[str, Any] = client.info("commandstats")  # type: ignore[assignment]
    return {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}


def spent(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def runner_of(client: redis.Redis) -> tuple[FanOut, list[Batch]]:
    """The read models' runner as the worker builds it: a live batch per read model (all
    checking their expected position, as those keeping documents do)."""
    batches: list[Batch] = [
        LiveBatch(RedisDocumentView(client, name, follow_active=True), 500, prefixed("kept:"))
        for name in MODELS
    ]
    return FanOut([(n, None, b) for n, b in zip(MODELS, batches, strict=True)]), batches  # type: ignore[misc]


def test_a_batch_of_every_read_model_costs_one_round_trip_and_three_commands_in_redis(
    redis_url,
):
    assert len(MODELS) == 8
    client = CountingRedis.from_url(redis_url)
    fanout, batches = runner_of(client)
    for batch in batches:  # the first write loads the script into Redis
        batch.apply([], Tracking(APPLICATION, 1))
    fanout.flush()
    for position in (2, 3):  # most models ignore most events: their positions still move
        for batch in batches:
            batch.apply([], Tracking(APPLICATION, position))
    batches[0].apply([Put("doc:1", {"v": 1})], Tracking(APPLICATION, 4))
    before = commands(client)
    client.sent.clear()
    fanout.flush()
    assert client.sent == ["EVALSHA"]  # one round trip for the eight read models
    spent_in_redis = spent(before, commands(client))
    spent_in_redis.pop("info", None)  # the count's own
    assert spent_in_redis == {
        "evalsha": 1,
        "mget": 1,  # their generations, positions and retry counts
        "mset": 1,  # the document written and their eight positions
        "publish": 1,  # the positions, for the requests waiting on a consistency token
    }
    assert client.get(f"ev:{MODELS[0]}:g1:position") == b"4"
    assert all(client.get(f"ev:{name}:g1:position") == b"3" for name in MODELS[1:])


def test_a_position_moved_under_any_one_read_model_refuses_the_whole_write_and_names_it(
    redis_url,
):
    client = redis.Redis.from_url(redis_url)
    for moved in (MODELS[3], MODELS[-1]):
        fanout, batches = runner_of(client)  # a runner (re)started: at position 1
        for batch in batches:
            batch.apply([Put("doc:1", {"v": 1})], Tracking(APPLICATION, 1))
        fanout.flush()
        # another worker (a lease's failover) wrote that one read model meanwhile
        client.set(f"ev:{moved}:g1:position", b"5")
        for batch in batches:
            batch.apply([Put("doc:1", {"v": 2})], Tracking(APPLICATION, 6))
        with pytest.raises(PositionMovedError, match=f"ev:{moved}:g1:position"):
            fanout.flush()
        for name in MODELS:  # nothing written, not even the others' documents
            assert client.get(f"ev:{name}:g1:doc:1") == b'{"v":1}'
        client.flushdb()


def test_a_parked_retry_under_any_one_read_model_refuses_the_whole_write(redis_url):
    client = redis.Redis.from_url(redis_url)
    fanout, batches = runner_of(client)
    for batch in batches:
        batch.apply([], Tracking(APPLICATION, 1))
    fanout.flush()
    client.incr(f"ev:{MODELS[5]}:g1:retried")  # what `retry_parked` does with its write
    for batch in batches:
        batch.apply([Put("doc:1", {"v": 1})], Tracking(APPLICATION, 2))
    with pytest.raises(PositionMovedError, match="1 retried"):
        fanout.flush()
    assert all(client.get(f"ev:{name}:g1:position") == b"1" for name in MODELS)
