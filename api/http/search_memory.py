"""Anonymous searches answered in process: the in-process search index
(`infrastructure/read_stores/search_memory.py`) behind the search-results cache (which keeps
its contract: what it misses is answered here when possible, and stored in it) and in front
of the store. Its answers are the store's to the field (a differential test holds it to
that), so the bytes are the route's too: built without the response model (`render`, the router's
`answer_body`, compared with the model's bytes by a test) and remembered per snapshot and
query (with the results cache off, a repeated search is one dictionary lookup).

The index's upkeep (a version check every half of the staleness bound, a reload when the
version moved, learning new words) runs on a worker thread, started by the searches that find
it due: never on the event loop, and not at all in a process nobody searches. What it cannot
answer (stale, a word not learnt yet, a shape it does not reproduce) goes on to the cache and
the store, as before."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter

from infrastructure.bootstrap import Container
from infrastructure.read_stores.search_memory import MemorySearchIndex, Snapshot
from infrastructure.read_stores.search_postgres import PostgresSearchStore
from projections.search import SearchQuery, SearchResult

Render = Callable[[SearchResult], bytes]  # an answer's bytes (routers/products.answer_body)

MAX_BODIES = 4096  # answers remembered per snapshot (then forgotten all at once)


class SearchMemoryMetrics:
    def __init__(self, registry: CollectorRegistry):
        answers = Counter(
            "ecovarejo_search_memory_answers",
            "anonymous searches answered by the in-process index (answered) or handed on to "
            "the results cache and the store (handed_on)",
            ["result"],
            registry=registry,
        )
        self.answered = answers.labels("answered")
        self.handed_on = answers.labels("handed_on")


class InProcessSearch:
    def __init__(self, index: MemorySearchIndex, metrics: SearchMemoryMetrics, render: Render):
        self.index = index
        self.metrics = metrics
        self.render = render
        self._snapshot: Snapshot | None = None
        self._bodies: dict[SearchQuery, bytes] = {}
        self._job: asyncio.Future[None] | None = None

    def body(self, query: SearchQuery) -> bytes | None:
        """The answer's bytes, or None: the cache and the store answer. Call it on the event
        loop (it starts the index's upkeep there when due)."""
        if self.index.wants_work():
            self._start_work()
        snapshot = self.index.fresh()
        if snapshot is None:
            self.metrics.handed_on.inc()
            return None
        if snapshot is not self._snapshot or len(self._bodies) >= MAX_BODIES:
            self._snapshot, self._bodies = snapshot, {}
        found = self._bodies.get(query)
        if found is None:
            result = self.index.search(query)
            if result is None:
                self.metrics.handed_on.inc()
                if self.index.wants_work():  # the words it did not know
                    self._start_work()
                return None
            found = self._bodies[query] = self.render(result)
        self.metrics.answered.inc()
        return found

    def _start_work(self) -> None:
        if self._job is None or self._job.done():
            self._job = asyncio.get_running_loop().run_in_executor(None, self.index.work)


def search_memory(
    container: Container, registry: CollectorRegistry, render: Render
) -> InProcessSearch | None:
    """This app's in-process index, when search is PostgreSQL's and the index is on."""
    store, settings = container.search, container.settings
    if not isinstance(store, PostgresSearchStore) or not settings.search_memory_enabled:
        return None
    index = MemorySearchIndex(
        store,
        max_documents=settings.search_memory_max_documents,
        max_stale_s=settings.search_memory_max_stale_s,
    )
    return InProcessSearch(index, SearchMemoryMetrics(registry), render)
