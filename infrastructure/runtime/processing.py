"""The life cycle of one process's background work: the dramatiq worker and its actors, the
registry's runners (each supervised, under a lease), the worker's one feed and the chain
keeper. Started by `serve --worker` and `worker` (and tests), stopped with the container.

The container (infrastructure/bootstrap.py) only wires; this object runs things."""

from __future__ import annotations

from typing import Any, Protocol

from infrastructure.read_stores.projection_admin import publisher
from infrastructure.runtime.feed import FeedRunner, WorkerFeed
from infrastructure.runtime.followers import RUNNERS, Resources, Runner, runners_for
from infrastructure.runtime.runners import Leases, Supervisor
from infrastructure.store.event_log import ChainKeeper
from projections.base import GenerationMovedError


class Wiring(Resources, Protocol):
    """What processing needs of the container (not imported: bootstrap imports this)."""

    redis_url: str
    services: Any


class Processing:
    def __init__(self, wiring: Wiring):
        self.wiring = wiring
        self.supervisors: dict[str, Supervisor] = {}
        self.worker: Any = None  # a dramatiq.Worker, once started
        self.actors: Any = None  # infrastructure.runtime.actors.Actors, the effects' sender
        self.leases: Leases | None = None
        self.chain_keeper: ChainKeeper | None = None
        self.feed: WorkerFeed | None = None  # the worker's one subscription, once used

    def start_runner(self, name: str, *, leased: bool = False) -> Supervisor:
        """Run the registry's runner `name` in this process (supervised), once. `leased`:
        on standby until this worker's `Leases` hands it the runner's lease."""
        if name not in self.supervisors:
            runner = RUNNERS[name]
            self.supervisors[name] = Supervisor(
                name,
                lambda: self._make_runner(runner),
                restart_on=(GenerationMovedError,),
                publish=publisher(self.wiring.redis),
                leased=leased,
            ).start()
        return self.supervisors[name]

    def _make_runner(self, runner: Runner) -> Any:
        """The runner on this process's one feed when it can be fed (and the setting is on),
        else the registry's own runner (its own subscription)."""
        if runner.feed is None or not self.wiring.settings.shared_feed:
            return runner.make(self.wiring)
        if self.feed is None:
            self.feed = WorkerFeed(self.wiring.follower_env)
        return FeedRunner(self.feed, runner.feed(self.wiring))

    def stop_runner(self, name: str) -> None:
        supervisor = self.supervisors.pop(name, None)
        if supervisor is not None:
            supervisor.stop()

    def start(self, runners: list[str] | None = None) -> None:
        """Run the dramatiq workers and the runners (by default every runner this
        configuration can run) in this process. Every worker supervises every runner; the
        leases decide which one runs where."""
        if self.worker is not None:
            return
        from infrastructure.runtime.actors import Actors, make_broker

        settings = self.wiring.settings
        # The worker's consumers wake when it sends a message itself (the effects, retries)
        # instead of polling Redis after every message (infrastructure/runtime/broker_wakeups.py).
        broker = make_broker(settings.broker_url or self.wiring.redis_url, consuming=True)
        self.actors = Actors(broker, self.wiring.services, settings.broker_queue)
        self.worker = self.actors.worker(settings.worker_threads)
        self.worker.start()
        names = runners if runners is not None else [r.name for r in runners_for(self.wiring)]
        for name in names:
            self.start_runner(name, leased=True)
        self.leases = Leases(self.wiring.database_url, list(self.supervisors.values())).start()
        self.chain_keeper = ChainKeeper(self.wiring.database_url).start()

    def stop(self) -> None:
        """Everything started, stopped (runners first: they send to the worker's broker)."""
        if self.leases is not None:
            self.leases.stop()
        for supervisor in self.supervisors.values():
            supervisor.stop()
        self.supervisors.clear()
        if self.feed is not None:
            self.feed.stop()
        if self.chain_keeper is not None:
            self.chain_keeper.stop()
        if self.worker is not None:
            self.worker.stop(timeout=5000)
            self.worker.broker.close()
