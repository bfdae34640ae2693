"""Supervision of the library's projection runners.

A runner stops at the first exception. The supervisor restarts it with exponential backoff;
on restart it resumes from its last recorded position and retries the failing event, so an
event is never skipped. Its status (state, failures, last error) is published — to /ready,
/metrics and `ecovarejo projections status`, in whichever process asks.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from eventsourcing.projection import BaseProjectionRunner

log = logging.getLogger(__name__)


@dataclass
class RunnerStatus:
    name: str
    state: str = "starting"  # starting | running | retrying | stopped
    failures: int = 0
    last_error: str | None = None
    host: str = f"{socket.gethostname()}:{os.getpid()}"
    updated_at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Supervisor:
    def __init__(
        self,
        name: str,
        make_runner: Callable[[], BaseProjectionRunner[Any]],
        *,
        initial_backoff: float = 0.1,
        max_backoff: float = 30.0,
        restart_on: tuple[type[Exception], ...] = (),
        publish: Callable[[RunnerStatus], None] | None = None,
    ):
        self.status = RunnerStatus(name)
        self._make_runner = make_runner
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._restart_on = restart_on
        self._publish = publish
        self._stopping = threading.Event()
        self._runner: BaseProjectionRunner[Any] | None = None
        self._thread = threading.Thread(target=self._supervise, name=f"runner-{name}", daemon=True)

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        runner = self._runner
        if runner is not None:
            runner.stop()
        self._thread.join(timeout)
        self._set(state="stopped")

    def _set(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self.status, key, value)
        self.status.updated_at = time.time()
        if self._publish is not None:
            try:
                self._publish(self.status)
            except Exception:  # status is best effort; the runner goes on
                log.warning("could not publish the status of %s", self.status.name)

    def _supervise(self) -> None:
        backoff = self._initial_backoff
        while not self._stopping.is_set():
            try:
                self._run_once()
                backoff = self._initial_backoff
            except self._restart_on as reason:
                log.info("runner %s restarts: %s", self.status.name, reason)
            except Exception as error:
                self._set(
                    state="retrying",
                    failures=self.status.failures + 1,
                    last_error=f"{type(error).__name__}: {error}",
                )
                log.exception("runner %s failed; retrying in %.1fs", self.status.name, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    def _run_once(self) -> None:
        runner = self._make_runner()
        self._runner = runner
        try:
            with runner:
                self._set(state="running")
                while not self._stopping.is_set():
                    runner.run_forever(timeout=1.0)
                    if runner.is_interrupted.is_set():
                        break
                    self._set()  # heartbeat
        finally:
            self._runner = None
