"""The read side's one mechanism: batches, the fan-out of one decoded event to several
projectors, and an infrastructure package without import cycles."""

from __future__ import annotations

import ast
import time
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking

from infrastructure.runtime.fanout import FanOut
from projections.base import MAX_ATTEMPTS, Batch, IndexAdd, MemoryParking, Projector, Put
from projections.catalog import stock_key
from projections.memory import MemoryStore
from projections.orders import order_index, order_key
from projections.readers import RecommendationsReader
from projections.search import ProductHit, SearchQuery, SearchResult


class Counting(Projector):
    """Counts the events it sees under one key."""

    name = "counting"

    def evolve(self, domain_event):  # type: ignore[override]
        doc = self.view.get("count") or {"n": 0}
        doc["n"] += 1
        return [Put("count", doc)]


class Failing(Counting):
    def evolve(self, domain_event):  # type: ignore[override]
        if domain_event == "bad":
            raise ValueError("cannot")
        return super().evolve(domain_event)


def t(position: int) -> Tracking:
    return Tracking("EcoVarejo", position)


def test_a_batch_writes_many_events_as_one_write_with_the_last_position():
    store = MemoryStore()
    batch = Batch(store, size=100)
    projector = Counting(batch)
    for position in (1, 2, 3):
        projector.process_event(object(), t(position))
    assert store.get("count") is None  # nothing written yet
    assert batch.get("count") == {"n": 3}  # but the projector reads its own writes
    batch.flush()
    assert store.get("count") == {"n": 3}
    assert store.max_tracking_id("") == 3


def test_a_batch_skips_positions_its_store_has_already_applied():
    store = MemoryStore()
    store.apply([Put("count", {"n": 5})], t(5))
    batch = Batch(store)
    Counting(batch).process_event(object(), t(4))
    batch.flush()
    assert store.get("count") == {"n": 5}


def test_the_fan_out_feeds_every_projector_once_and_resumes_each_from_its_own_position():
    ahead, behind = MemoryStore(), MemoryStore()
    ahead.apply([Put("count", {"n": 2})], t(2))
    members = [
        (name, Counting(batch), batch)
        for name, batch in (("ahead", Batch(ahead)), ("behind", Batch(behind)))
    ]
    fanout = FanOut(members)
    assert fanout.view.max_tracking_id("") is None  # the subscription starts at the lowest
    for position in (1, 2, 3):
        fanout.process_event(object(), t(position))
    assert ahead.get("count") == {"n": 3}  # 1 and 2 were applied before
    assert behind.get("count") == {"n": 3}


def test_a_failing_projector_is_retried_then_parked_and_the_others_go_on():
    good, bad = MemoryStore(), MemoryStore()
    parking = MemoryParking()
    good_batch, bad_batch = Batch(good), Batch(bad)
    fanout = FanOut(
        [
            ("good", Counting(good_batch), good_batch),
            ("bad", Failing(bad_batch, parking), bad_batch),
        ]
    )
    fanout.process_event("ok", t(1))
    for _ in range(MAX_ATTEMPTS - 1):  # each failure stops the runner, which restarts
        with pytest.raises(ValueError, match="cannot"):
            fanout.process_event("bad", t(2))
    fanout.process_event("bad", t(2))  # the last attempt parks it
    fanout.process_event("ok", t(3))
    assert good.get("count") == {"n": 3}
    assert bad.get("count") == {"n": 2}
    assert bad.max_tracking_id("") == 3
    assert [e["position"] for e in parking.parked()] == [2]


class OnlyOdd(Counting):
    """Changes something for odd events only (as search indexes products, not orders)."""

    def evolve(self, domain_event):  # type: ignore[override]
        return super().evolve(domain_event) if domain_event % 2 else []


def test_a_held_back_position_is_written_with_the_next_change_or_once_it_is_due():
    store = MemoryStore()
    batch = Batch(store)
    fanout = FanOut([("odd", OnlyOdd(batch), batch)], defer_s=0.05)
    fanout.process_event(1, t(1))
    assert store.max_tracking_id("") == 1  # a change: written at once, as before
    fanout.process_event(2, t(2))
    assert store.max_tracking_id("") == 1  # its position alone: held back
    assert fanout.view.max_tracking_id("") == 2  # (the runner knows how far it got)
    held = fanout.idle_in()
    assert held is not None
    assert 0 < held <= 0.05
    fanout.process_event(3, t(3))  # the next change takes the position with it
    assert (store.max_tracking_id(""), fanout.idle_in()) == (3, None)

    fanout.process_event(4, t(4))
    fanout.flush_pending()  # the feed's idle call, before it is due: not yet
    assert store.max_tracking_id("") == 3
    time.sleep(0.06)
    assert fanout.idle_in() == 0
    fanout.flush_pending()  # due: no position stays behind in a quiet log
    assert (store.max_tracking_id(""), fanout.idle_in()) == (4, None)
    fanout.process_event(6, t(6))
    fanout.flush(now=True)  # a runner that stops writes what it held back
    assert (store.max_tracking_id(""), store.get("count")) == (6, {"n": 2})


def _module(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every infrastructure module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("infrastructure."):
            found.add(node.module)  # type: ignore[arg-type]
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("infrastructure.")}
    return found


def test_no_module_in_infrastructure_imports_another_in_a_cycle():
    root = Path(__file__).resolve().parents[2] / "infrastructure"
    graph = {_module(root, p): _imports(p) for p in root.rglob("*.py")}
    assert "infrastructure.bootstrap" in graph  # the folders were read

    def reaches(start: str, seen: frozenset[str]) -> str | None:
        for nxt in graph.get(start, ()):
            if nxt in seen:
                return " -> ".join([*seen, nxt])
            if (cycle := reaches(nxt, seen | {nxt})) is not None:
                return cycle
        return None

    for module in graph:
        assert reaches(module, frozenset({module})) is None, module


def test_an_unknown_event_still_moves_the_position():
    store = MemoryStore()
    Projector(store).process_event(uuid4(), t(7))
    assert store.max_tracking_id("") == 7


class RecordingSearch:
    """The search index's one query method, answering a fixed page and keeping the queries."""

    def __init__(self, hits: list[ProductHit]):
        self.hits = hits
        self.queries: list[SearchQuery] = []

    def search(self, query: SearchQuery) -> SearchResult:
        self.queries.append(query)
        return SearchResult(total=len(self.hits), items=self.hits)


def hit(sku: str, available: int = 5) -> ProductHit:
    return ProductHit(sku, sku, Decimal("10.00"), available, [], "1.0")


def test_recommendations_skip_what_was_bought_or_is_out_of_stock_and_ask_at_most_a_page():
    orders, stock = MemoryStore(), MemoryStore()
    bought = [{"sku": f"S{i}", "quantity": 1} for i in range(150)]
    orders.apply(
        [
            Put(order_key("o1"), {"status": "confirmed", "lines": bought, "customer_id": "ana"}),
            Put(order_key("o2"), {"status": "cancelled", "lines": [{"sku": "X", "quantity": 9}]}),
            IndexAdd(order_index("ana"), "o1", 1.0),
            IndexAdd(order_index("ana"), "o2", 2.0),
        ],
        Tracking("EcoVarejo", 1),
    )
    stock.apply(
        [Put(stock_key(f"S{i}"), {"category": "casa"}) for i in range(150)]
        + [Put(stock_key("X"), {"category": "jardim"})],
        Tracking("EcoVarejo", 1),
    )
    search = RecordingSearch([hit("S3"), hit("NOVO-1"), hit("NOVO-2", available=0)])
    based_on, found = RecommendationsReader(orders, stock, search).for_customer("ana", 10)
    assert based_on == ["casa"]  # a cancelled order is not something bought
    assert [h.sku for h in found] == ["NOVO-1"]
    assert [(q.category, q.size) for q in search.queries] == [("casa", 100)]
