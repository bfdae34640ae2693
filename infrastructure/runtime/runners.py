"""Supervision of the library's projection runners.

A runner stops at the first exception. The supervisor restarts it with exponential backoff;
on restart it resumes from its last recorded position and retries the failing event, so an
event is never skipped. Its status (state, failures, last error) is published — to /ready,
/metrics and `ecovarejo projections status`, in whichever process asks.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import psycopg
from eventsourcing.projection import BaseProjectionRunner

log = logging.getLogger(__name__)

# How often a running runner republishes its unchanged status (a change is published at
# once): a third of the published status' TTL (projection_admin.STATUS_TTL_S, 15 s; /ready
# and backups take a status younger than that as a live runner). Was every run_forever
# round (1 s): seven Redis SETs a second per worker whatever it did.
HEARTBEAT_EVERY_S = 5.0


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
        leased: bool = False,
    ):
        """With `leased`, the runner waits on standby until `activate` (its `Leases` holds
        the follower's lease) and stops again on `deactivate`."""
        self.status = RunnerStatus(name, state="standby" if leased else "starting")
        self._active = threading.Event()
        self._idle = threading.Event()  # no runner of this supervisor is running
        self._idle.set()
        if not leased:
            self._active.set()
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

    @property
    def active(self) -> bool:
        return self._active.is_set()

    def activate(self) -> None:
        self._active.set()

    def deactivate(self, timeout: float = 10.0) -> bool:
        """Stop the runner and go back on standby; True once no runner is running."""
        self.release()
        return self._idle.wait(timeout)

    def release(self) -> None:
        """Tell the runner to stop and go back on standby, without waiting for it."""
        self._active.clear()
        runner = self._runner
        if runner is not None:
            runner.stop()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._active.set()  # wake a standby loop so that it can end
        runner = self._runner
        if runner is not None:
            runner.stop()
        self._thread.join(timeout)
        self._set(state="stopped")

    def _set(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self.status, key, value)
        self.status.updated_at = time.time()
        if self._publish is not None and self.status.state != "standby":  # owners report
            try:
                self._publish(self.status)
            except Exception:  # status is best effort; the runner goes on
                log.warning("could not publish the status of %s", self.status.name)

    def _supervise(self) -> None:
        backoff = self._initial_backoff
        while not self._stopping.is_set():
            if not self._active.is_set():
                self._set(state="standby")
                while not self._active.wait(0.5) and not self._stopping.is_set():
                    pass
                continue
            try:
                self._run_once()
                backoff = self._initial_backoff
            except self._restart_on as reason:
                log.info("runner %s restarts: %s", self.status.name, reason)
                self._stopping.wait(getattr(reason, "restart_after_s", 0.0))
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
        self._idle.clear()
        if not self._active.is_set():  # deactivated since the loop looked: not ours now
            self._idle.set()
            return
        # Logged before the runner exists (it processes from its construction on), and
        # under a lease only after "took the lease" (tests/e2e/test_two_workers.py).
        log.info("runner %s started", self.status.name)
        try:
            runner = self._make_runner()
        except BaseException:
            self._idle.set()
            raise
        self._runner = runner
        try:
            with runner:
                self._set(state="running")
                while not self._stopping.is_set() and self._active.is_set():
                    runner.run_forever(timeout=1.0)
                    if runner.is_interrupted.is_set():
                        break
                    if time.time() - self.status.updated_at >= HEARTBEAT_EVERY_S:
                        self._set()  # heartbeat
        finally:
            self._runner = None
            log.info("runner %s stopped", self.status.name)
            self._idle.set()


LEASE_CLASS = 7300  # advisory lock namespace of follower leases: (7300, hashtext(name))
WORKER_APPLICATION_NAME = "ecovarejo-worker"


class Leases:
    """Who runs which follower, when several workers share one database: a PostgreSQL
    advisory lock per follower, held on this worker's lease connection (as Marten's async
    daemon does). One owner at a time; every other worker keeps the follower on hot standby
    (its supervisor is started, its runner is not). A worker that dies loses its connection
    and so its locks at once; the others take its share at their next poll (`poll_s`).

    Work is spread: each worker holds at most its fair share, ceil(followers / workers), the
    workers being counted by their lease connections; one above its share gives one back
    per poll, so a worker that joins gets work without anyone stopping at once.
    """

    def __init__(self, database_url: str, supervisors: list[Supervisor], poll_s: float = 1.0):
        self._database_url = database_url
        self._supervisors = supervisors
        self._poll_s = poll_s
        self._owner = f"{socket.gethostname()}:{os.getpid()}"
        self._conn: psycopg.Connection[Any] | None = None
        self._held: list[Supervisor] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leases", daemon=True)

    def start(self) -> Leases:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(15)
        self._drop_all()

    def held(self) -> list[str]:
        return [s.status.name for s in self._held]

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._poll()
            except Exception:  # lost the database: whatever we held is no longer ours
                log.warning("lease connection lost; standing by", exc_info=True)
                self._drop_all()
            self._stopping.wait(self._poll_s)

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self._database_url,
                autocommit=True,
                application_name=f"{WORKER_APPLICATION_NAME} {self._owner}"[:63],
                connect_timeout=5,
            )
        return self._conn

    def _poll(self) -> None:
        conn = self._connect()
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name LIKE %s",
            (f"{WORKER_APPLICATION_NAME} %",),
        ).fetchone()
        workers = max(1, int(row[0]) if row else 1)
        share = math.ceil(len(self._supervisors) / workers)
        if len(self._held) > share:
            self._give_back(conn, self._held[-1])
            return
        for supervisor in self._supervisors:
            if len(self._held) >= share or self._stopping.is_set():
                break
            if supervisor in self._held:
                continue
            taken = conn.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                (LEASE_CLASS, supervisor.status.name),
            ).fetchone()
            if taken and taken[0]:
                log.info("took the lease of %s", supervisor.status.name)  # before it starts
                self._held.append(supervisor)
                supervisor.activate()

    def _give_back(self, conn: psycopg.Connection[Any], supervisor: Supervisor) -> None:
        if supervisor.deactivate():  # its runner has stopped: nobody runs it now
            conn.execute(
                "SELECT pg_advisory_unlock(%s, hashtext(%s))",
                (LEASE_CLASS, supervisor.status.name),
            )
            self._held.remove(supervisor)
            log.info("gave back the lease of %s", supervisor.status.name)

    def _drop_all(self) -> None:
        for supervisor in self._held:  # all stop together, then each is waited for
            supervisor.release()
        for supervisor in self._held:
            supervisor.deactivate()
        self._held.clear()
        if self._conn is not None:
            try:
                self._conn.close()  # releases any lock still held
            finally:
                self._conn = None


def lease_holders(database_url: str, names: list[str]) -> dict[str, str]:
    """Which worker (host:pid) holds each follower's lease, from PostgreSQL itself."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT n, a.application_name FROM unnest(%s::text[]) AS n "
            "JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 "
            "AND l.classid = %s AND l.objid = ((hashtext(n)::bigint + 4294967296) "
            "%% 4294967296)::oid AND l.database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database()) "
            "JOIN pg_stat_activity a ON a.pid = l.pid",
            (names, LEASE_CLASS),
        ).fetchall()
    prefix = f"{WORKER_APPLICATION_NAME} "
    return {str(name): str(app).removeprefix(prefix) for name, app in rows}
