"""The PostgreSQL event store: the library's settings from our Settings, and the guard
that makes PostgreSQL itself refuse to rewrite history."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

import psycopg
import psycopg.errors
from eventsourcing.persistence import (
    ApplicationRecorder,
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    Notification,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
    Subscription,
    Tracking,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresProcessRecorder,
    PostgresSubscription,
)
from eventsourcing.utils import retry
from psycopg import Cursor, pq, sql
from psycopg._encodings import conn_encoding
from psycopg.conninfo import conninfo_to_dict
from psycopg.generators import execute as pq_execute
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier, Literal
from psycopg.types.composite import register_composite

from infrastructure.store.wake_slot import HostWakeSlot

log = logging.getLogger(__name__)

EVENTS_TABLE = "ecovarejo_events"
# A row of the log as readers of the whole of it take it: (position, originator_id,
# originator_version, topic, state).
NotificationRow = tuple[int, UUID, int, str, bytes]

# The library's general aggregate cache stays off, whatever the process environment says
# (the library reads os.environ too, and a prefixed name wins): a cached order would keep
# personal data decrypted after the customer's key is destroyed (with AGGREGATE_CACHE_MAXSIZE
# set, tests/integration/test_lgpd.py reads an erased order's address back). The
# application caches stock items only (application/event_store.py: StockItemCache).
AGGREGATE_CACHE_OFF = {"AGGREGATE_CACHE_MAXSIZE": "", "ECOVAREJO_AGGREGATE_CACHE_MAXSIZE": ""}


class GaplessSubscription(PostgresSubscription):
    """The library's subscription reads what is recorded, then LISTENs in another thread:
    an event committed between the two is not seen until the next NOTIFY, which may never
    come. This one reads again once LISTEN is in place, and every few seconds after, so a
    follower never waits on an event that is already in the log.

    Readers only see events below the oldest transaction still in flight (see
    `ParallelAppends`): a NOTIFY can arrive while an older writer holds the new events back,
    and that writer may not notify (a tracking or search write). So every wake-up is
    followed by a few more shortly after (`FOLLOW_UPS_S`)."""

    REREAD_S = 5.0
    FOLLOW_UPS_S = (0.05, 0.25, 1.0)
    # The longest one wait for a NOTIFY lasts (and so how long a stop waits for this thread):
    # each wait costs ~0.5 ms of CPU in psycopg, whatever its length, so an idle follower
    # does not wake every 50 ms (issue 24: 17 ms of CPU a second in an idle worker).
    IDLE_WAIT_S = 0.25

    def _listen(self) -> None:
        try:
            with self._recorder.datastore.get_connection() as conn:
                conn.execute(SQL("LISTEN {0}").format(Identifier(self._recorder.channel_name)))
                try:
                    self._wait_for_notifies(conn)
                finally:
                    _stop_listening(conn)
        except BaseException as error:
            if self._thread_error is None:
                self._thread_error = error
            self.stop()

    def _wait_for_notifies(self, conn: Any) -> None:
        self._has_been_notified.set()  # whatever committed before LISTEN
        reread_at = time.monotonic() + self.REREAD_S
        follow_ups: list[float] = []
        while not self._has_been_stopped and not self._thread_error:
            now = time.monotonic()
            due = min(follow_ups[0] if follow_ups else reread_at, reread_at) - now
            wait = min(max(due, 0.01), self.IDLE_WAIT_S)
            for _ in conn.notifies(timeout=wait, stop_after=1):
                self._has_been_notified.set()
                notified = time.monotonic()
                follow_ups = [notified + delay for delay in self.FOLLOW_UPS_S]
            now = time.monotonic()
            if follow_ups and now >= follow_ups[0]:
                follow_ups.pop(0)
                self._has_been_notified.set()
            if now >= reread_at:
                self._has_been_notified.set()
                reread_at = now + self.REREAD_S


def _stop_listening(conn: Any) -> None:
    """The connection goes back to the pool: UNLISTEN, and drop what it queued. Still
    listening, every later NOTIFY would be queued on it in psycopg's backlog, which nothing
    reads: memory that grows with every append for as long as the process lives (found by
    issue 24's soak: each subscription stopped, on a restart or a lease change, left one)."""
    try:
        conn.execute("UNLISTEN *")
    except Exception:  # a broken connection: the pool discards it
        return
    backlog = getattr(conn, "_notifies_backlog", None)
    if backlog:
        backlog.clear()


class Waker:
    """Wakes followers after appends without the append waiting for it.

    NOTIFY inside the writing transaction holds PostgreSQL's global notification-queue lock
    through the commit's WAL flush (every writer in the cluster queues on it); after the
    commit, in the writer's own thread, it costs a second round trip and a second WAL flush
    per append. Here one thread per recorder sends the wake-ups: one NOTIFY in flight at a
    time, covering every append that committed meanwhile, in its own transaction with
    `synchronous_commit` off (nothing in it needs to survive a crash). A lost wake-up is
    harmless: subscriptions re-read on their own every few seconds (`GaplessSubscription`).
    At exit, a pending wake-up is sent before the process ends."""

    MIN_INTERVAL_S = 0.01  # at most 100 wake-ups a second per host (per process without a slot)
    # Share wake-ups with the host's other processes on the same channel (`HostWakeSlot`):
    # with 8 writer processes, one NOTIFY per interval for the host instead of one each.
    SHARE_ACROSS_PROCESSES = True

    def __init__(self, datastore: Any, channel: str):
        self._datastore = datastore
        self._statement = (  # rendered once: a `Composed` renders itself on every execute
            SQL("SELECT set_config('synchronous_commit', 'off', true), pg_notify({0}, '')")
            .format(Literal(channel))
            .as_string()
        )
        self._channel = channel
        self._lean = None if "%" in self._statement else LeanStatement(self._statement, ())
        self._pending = threading.Event()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._slot: HostWakeSlot | None = None
        self.sent = 0  # NOTIFYs sent (profiles, tests)
        _WAKERS.add(self)

    def poke(self) -> None:
        self._pending.set()  # after the append committed
        thread = self._thread
        if thread is None or not thread.is_alive():  # first use, or after a fork
            with self._guard:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._run, name="follower-waker", daemon=True
                    )
                    self._thread.start()

    def flush(self) -> None:
        """Send a pending wake-up now, in the caller's thread."""
        if self._pending.is_set():
            self._pending.clear()
            self._send()

    def _run(self) -> None:
        slot = self._open_slot()
        while True:
            self._pending.wait()
            self._pending.clear()
            # Every append poked before the `clear` committed before now; one poked after
            # it sets `_pending` again, for the next turn.
            upto = time.monotonic()
            if slot is not None:
                if not self._host_turn(slot, upto):
                    continue  # a wake-up from another process of this host covers them
                self._send()
                continue  # the slot spaces the host's wake-ups
            self._send()
            if self.MIN_INTERVAL_S:
                time.sleep(self.MIN_INTERVAL_S)  # appends meanwhile share the next one

    @staticmethod
    def _host_turn(slot: HostWakeSlot, upto: float) -> bool:
        """Wait for this host's next wake-up slot; False if another process's wake-up,
        started after `upto`, covers this one's appends meanwhile."""
        while (wait := slot.claim(upto)) is not None:
            if wait <= 0:
                return True
            time.sleep(wait)
        return False

    def _open_slot(self) -> HostWakeSlot | None:
        if not self.SHARE_ACROSS_PROCESSES or not self.MIN_INTERVAL_S:
            return None
        if self._slot is None or self._slot.pid != os.getpid():  # none yet, or a fork's
            kwargs = getattr(getattr(self._datastore, "pool", None), "kwargs", None)
            if not isinstance(kwargs, dict):
                kwargs = {}
            server = f"{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('dbname')}"
            self._slot = HostWakeSlot.open(f"{server}#{self._channel}", self.MIN_INTERVAL_S)
        return self._slot

    def _send(self) -> None:
        try:
            with checkout(self._datastore) as conn:
                if self._lean is not None:
                    self._lean.run(conn, (), ())  # no cursor (`LeanStatement`)
                else:
                    conn.execute(self._statement, prepare=True)
            self.sent += 1
        except Exception as error:  # a closed pool at exit, a restarting database
            log.debug("wake-up after append not sent: %s", type(error).__name__)


_WAKERS: weakref.WeakSet[Waker] = weakref.WeakSet()

# psycopg's errors as the library's `get_connection` raises them (its order: the first
# match wins), for the checkouts below.
_TRANSLATED: tuple[tuple[type[psycopg.Error], type[Exception]], ...] = (
    (psycopg.InterfaceError, InterfaceError),
    (psycopg.OperationalError, OperationalError),
    (psycopg.DataError, DataError),
    (psycopg.IntegrityError, IntegrityError),
    (psycopg.InternalError, InternalError),
    (psycopg.ProgrammingError, ProgrammingError),
    (psycopg.NotSupportedError, NotSupportedError),
    (psycopg.DatabaseError, DatabaseError),
)


def _translated(error: psycopg.Error) -> Exception:
    for psycopg_error, ours in _TRANSLATED:
        if isinstance(error, psycopg_error):
            return ours(str(error))
    return PersistenceError(str(error))


class _Checkout:
    """A pooled connection for autocommit statements: the library's `get_connection`
    (the pool's `connection()` and the connection's own `with` block, each a generator
    context; the pool's `open` asked every time) cost ~8 µs a checkout against ~3 µs for
    the pool's `getconn`/`putconn` alone, and every command makes two. The same
    connections, the same composite adapters and the same errors; a connection left in a
    transaction or broken is rolled back or replaced by the pool's `putconn`, as there."""

    __slots__ = ("_conn", "_datastore")

    def __init__(self, datastore: Any):
        self._datastore = datastore
        self._conn: Any = None

    def __enter__(self) -> Any:
        datastore = self._datastore
        try:
            conn = datastore.pool.getconn()
        except psycopg.Error as error:
            raise _translated(error) from error
        try:
            for info in datastore.psycopg_type_adapters.values():
                if not conn.adapters.types.get(info.oid):
                    register_composite(info, conn)
        except BaseException:
            datastore.pool.putconn(conn)  # never kept out of the pool
            raise
        self._conn = conn
        return conn

    def __exit__(self, exc_type: Any, error: BaseException | None, traceback: Any) -> None:
        conn, self._conn = self._conn, None
        self._datastore.pool.putconn(conn)
        if isinstance(error, psycopg.Error):
            raise _translated(error) from error


def checkout(datastore: Any) -> _Checkout:
    """A connection of `datastore`'s pool for autocommit statements (see `_Checkout`); the
    pool is opened as the library opens it, on the first checkout."""
    if getattr(datastore, "_checkout_ready", False) is False:
        wait = datastore.pool_open_timeout is not None
        datastore.pool.open(wait, datastore.pool_open_timeout or 30.0)
        datastore._checkout_ready = True
    return _Checkout(datastore)


# --- Statements sent through the connection's libpq layer --------------------------------

_PREPARED_NAMES = iter(range(1, 1 << 62))
_UUID_OID, _INT8_OID, _TEXT_OID, _BYTEA_OID = 2950, 20, 25, 17
_UUID_ARRAY_OID, _INT8_ARRAY_OID = 2951, 1016
_BINARY = pq.Format.BINARY
_TUPLES_OK = pq.ExecStatus.TUPLES_OK
_COMMAND_OK = pq.ExecStatus.COMMAND_OK
_NO_SUCH_STATEMENT = b"26000"  # invalid_sql_statement_name: the server forgot it (DEALLOCATE)


class _Session:
    """What a connection has prepared of ours, and its client encoding (as psycopg's)."""

    __slots__ = ("encoding", "prepared")

    def __init__(self, conn: Any):
        self.prepared: set[bytes] = set()
        self.encoding = conn_encoding(conn)


class LeanStatement:
    """One statement of the hot path, prepared by a name of its own on each connection that
    runs it and then executed through the connection's libpq layer (`conn.pgconn`): its
    parameters given as bytes in the types' binary formats, its rows taken in binary.

    What psycopg's `cursor.execute(..., prepare=True)` does for it in Python per call — a
    cursor and its adapters map, the query's conversion and parameters' dumpers looked up
    per value, the prepared-statement manager's bookkeeping, the result's loaders, the
    generators of `_execute_gen` — is ~0.1 ms of a command's thread (bench/README.md,
    "Branch h23w"); the statement, its plan and the server's answer are the same. Runs under
    the connection's lock, as psycopg's execute does; an error of the server is psycopg's
    own exception for its SQLSTATE (`error_from_result`), so callers translate it as
    before. A connection whose server forgot the statement (a `DEALLOCATE ALL`) prepares it
    again once."""

    __slots__ = ("name", "query", "types")

    def __init__(self, statement: str, types: tuple[int, ...]):
        parts = statement.split("%s")
        if "%" in "".join(parts) or len(parts) - 1 != len(types):
            raise ValueError(f"not a plain %s statement of {len(types)} parameters")
        self.query = "".join(
            part + (f"${i}" if i < len(parts) else "") for i, part in enumerate(parts, 1)
        ).encode()
        self.name = f"_ecovarejo_{next(_PREPARED_NAMES)}".encode()
        self.types = types

    def run(
        self, conn: Any, params: Sequence[bytes | str], formats: Sequence[int]
    ) -> tuple[Any, str]:
        """The statement's result (a `PGresult` whose status is TUPLES_OK) and the
        connection's encoding (a `str` parameter is sent in it, as text)."""
        with conn.lock:
            pgconn = conn.pgconn
            session = getattr(conn, "_ecovarejo_session", None)
            if session is None:
                session = conn._ecovarejo_session = _Session(conn)
            encoding = session.encoding
            params = [p.encode(encoding) if type(p) is str else p for p in params]
            result = self._execute(conn, pgconn, session, params, formats)
            if (
                result.status != _TUPLES_OK
                and result.error_field(pq.DiagnosticField.SQLSTATE) == _NO_SUCH_STATEMENT
            ):
                session.prepared.discard(self.name)
                result = self._execute(conn, pgconn, session, params, formats)
            if result.status != _TUPLES_OK:
                raise psycopg.errors.error_from_result(result, encoding=encoding)
            return result, encoding

    def _execute(
        self,
        conn: Any,
        pgconn: Any,
        session: _Session,
        params: Sequence[Any],
        formats: Sequence[int],
    ) -> Any:
        if self.name not in session.prepared:
            pgconn.send_prepare(self.name, self.query, param_types=self.types)
            prepared = conn.wait(pq_execute(pgconn))[-1]
            if prepared.status != _COMMAND_OK:
                raise psycopg.errors.error_from_result(prepared, encoding=session.encoding)
            session.prepared.add(self.name)
        pgconn.send_query_prepared(self.name, params, formats, _BINARY)
        return conn.wait(pq_execute(pgconn))[-1]


def _int8(value: int) -> bytes:
    return value.to_bytes(8, "big", signed=True)


def _int(value: bytes) -> int:
    return int.from_bytes(value, "big", signed=True)


def _text(value: bytes | None, encoding: str) -> Any:  # a NULL topic is None, as psycopg's
    return None if value is None else value.decode(encoding)


# The one-event append's parameters (originator id, version, topic, state) and formats.
_APPEND_ONE_TYPES = (_UUID_OID, _INT8_OID, _TEXT_OID, _BYTEA_OID)
_APPEND_ONE_FORMATS = (1, 1, 0, 1)


class _Pending:
    """One command's events waiting for a group: its outcome, or the word to lead."""

    __slots__ = ("done", "error", "events", "ids", "lead")

    def __init__(self, events: Sequence[StoredEvent]):
        self.events = events
        self.done: threading.Event | None = None  # only a follower waits (made when it queues)
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None
        self.lead = False

    def outcome(self) -> Sequence[int] | None:
        if self.error is not None:
            raise self.error
        return self.ids


class GroupCommit:
    """Concurrent appends of one process share one statement and one commit.

    A caller arriving while fewer than `max_in_flight` statements are in flight leads: it
    sends its own events straight away (a lone command waits for nothing). Callers
    arriving while that many are in flight queue; when one commits, its leader hands the
    lead to the first of them, who sends everything queued meanwhile as ONE
    `INSERT ... RETURNING` (one allocation of positions, one round trip, one commit) and
    gives each its own ids. So a group forms only under concurrency, and grows with it.

    A group's statement fails as a whole (a version conflict, a value the database
    refuses): nothing of it is committed, and each of its commands is then sent alone, so
    the bad one fails and its bystanders commit. A connection that stays broken through the
    retries fails the whole group: that is every command's failure, not one's."""

    MAX_COMMANDS = 64  # per group: a bounded statement, and a bounded wait behind it

    def __init__(
        self,
        send_group: Callable[[Sequence[StoredEvent]], Sequence[int] | None],
        send_alone: Callable[[Sequence[StoredEvent]], Sequence[int] | None],
        max_in_flight: int,
    ):
        self._send_group = send_group
        self._send_alone = send_alone
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        # Statements in flight at once. Measured (bench/README.md): with one or two, 8
        # threads of a process appended 12-30 % slower than each command on its own
        # connection (PostgreSQL group-commits their WAL flushes anyway). So commands go out
        # alone while connections are free, and share statements beyond that, where
        # they would otherwise queue for a connection.
        self.max_in_flight = max(1, max_in_flight)
        self._leaders = 0
        self.groups = 0  # groups of more than one command sent (for tests and profiles)

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def append(self, events: Sequence[StoredEvent]) -> Sequence[int] | None:
        pending = _Pending(events)
        with self._lock:
            follow = self._leaders >= self.max_in_flight
            if follow:
                pending.done = threading.Event()
                self._queue.append(pending)
            else:
                self._leaders += 1
        if not follow:
            self._lead([pending])
            return pending.outcome()
        assert pending.done is not None
        pending.done.wait()
        if pending.lead:  # handed the lead: send what queued, this command first
            with self._lock:
                batch = [pending, *self._queue[: self.MAX_COMMANDS - 1]]
                del self._queue[: self.MAX_COMMANDS - 1]
            self._lead(batch)
        return pending.outcome()

    def _lead(self, batch: list[_Pending]) -> None:
        try:
            self._send(batch)
        except BaseException:  # the leader's thread interrupted: the others must not wait
            interrupted = OperationalError("the append's group was interrupted")
            for pending in batch:
                if pending.ids is None and pending.error is None:
                    pending.error = interrupted
            raise
        finally:
            for pending in batch:
                pending.lead = False
                if pending.done is not None:
                    pending.done.set()
            self._hand_over()

    def _hand_over(self) -> None:
        with self._lock:
            if self._queue:  # the lead passes on (taken off the queue: promoted once)
                successor = self._queue.pop(0)
                successor.lead = True
                assert successor.done is not None
                successor.done.set()
            else:
                self._leaders -= 1

    def _send(self, batch: list[_Pending]) -> None:
        if len(batch) == 1:
            self._settle_alone(batch[0])
            return
        try:
            ids = self._send_group([e for pending in batch for e in pending.events])
        except (InterfaceError, OperationalError) as error:  # the connection, after retries
            for pending in batch:
                pending.error = error
            return
        except Exception:  # one command's fault, or none: each is sent alone
            log.debug("group of %d appends refused; sending each alone", len(batch))
            for pending in batch:
                self._settle_alone(pending)
            return
        if ids is None or len(ids) != sum(len(p.events) for p in batch):
            refused = ProgrammingError("a group's append did not return a position per event")
            for pending in batch:
                pending.error = refused
            return
        self.groups += 1
        ids = sorted(ids)  # positions follow the statement's order of events
        start = 0
        for pending in batch:
            pending.ids = ids[start : start + len(pending.events)]
            start += len(pending.events)

    def _settle_alone(self, pending: _Pending) -> None:
        try:
            pending.ids = self._send_alone(pending.events)
        except Exception as error:
            pending.error = error


_NOTIFYING = threading.local()


@contextmanager
def notifying_in_transaction() -> Iterator[None]:
    """Appends this thread makes in the block send their NOTIFY in their own transaction
    (`ParallelAppends._send_notifying`), instead of leaving it to the `Waker`: a second
    transaction, round trip and thread turn per append. For a worker's actors, which append
    an event or two per message, one thread each: the notification-queue lock a NOTIFY
    holds through its commit (the Waker's reason) is taken by few, and the API's commands
    keep the Waker."""
    before = getattr(_NOTIFYING, "on", False)
    _NOTIFYING.on = True
    try:
        yield
    finally:
        _NOTIFYING.on = before


def _notifying() -> bool:
    return bool(getattr(_NOTIFYING, "on", False))


@atexit.register
def _flush_wakers() -> None:
    for waker in list(_WAKERS):
        waker.flush()


# Positions are handed out in a tiny critical section that also gives the transaction its
# id (xid), so among event-writing transactions the order of positions is the order of
# xids. Nothing else is serialized: the INSERT and the COMMIT (with its WAL flush,
# group-committed by PostgreSQL) run in parallel. The session lock is released before the
# function returns, also on error, so a cancelled call cannot leave it held: the lock is
# taken inside the block whose handler releases it (an unlock of a lock not held, after a
# cancel while waiting for it, only warns), and the block's subtransaction starts before
# the lock and ends after the unlock, outside the critical section (with 8 writers on 2
# cores, a writer descheduled while holding the lock stalls every other writer: the
# section is kept to the lock, the xid, nextval and the unlock).
ALLOCATE_POSITIONS_SQL = """
CREATE OR REPLACE FUNCTION ecovarejo_allocate_positions(seq regclass, n bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE first_position bigint;
BEGIN
  IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
    RAISE EXCEPTION 'positions must be allocated before anything else is written '
      'in the transaction' USING ERRCODE = 'object_not_in_prerequisite_state';
  END IF;
  BEGIN
    PERFORM pg_advisory_lock(7203, hashtext(seq::text));
    PERFORM pg_current_xact_id();  -- the xid, taken inside the critical section
    first_position := nextval(seq);
    IF n > 1 THEN
      PERFORM setval(seq, first_position + n - 1);
    END IF;
    PERFORM pg_advisory_unlock(7203, hashtext(seq::text));
  EXCEPTION WHEN query_canceled OR others THEN  -- OTHERS alone lets a cancel through
    PERFORM pg_advisory_unlock(7203, hashtext(seq::text));
    RAISE;
  END;
  RETURN first_position;
END $$
"""


# The partition of an event: its originator id's last byte modulo the number of partitions,
# the same in SQL and in Python (`partition_of`). Random in uuid4 and uuid5 ids alike.
PARTITION_OF_SQL = "mod(get_byte(uuid_send(originator_id), 15), %s)"
TOPIC_SETS_KEPT = 64  # statements of log reads kept composed (`_select_notifications_statement`)


def partition_of(originator_id: UUID, partitions: int) -> int:
    """The partition (0 .. partitions-1) of an aggregate's events; see PARTITION_OF_SQL."""
    return originator_id.bytes[15] % partitions


class ParallelAppends(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder without its table-wide lock.

    The library takes `LOCK TABLE ... EXCLUSIVE` for every append, through the commit, so
    that notification ids commit in order and a follower never passes over an id that
    commits later. Here appends commit in parallel and followers read by transaction
    visibility instead:

    - each event row records the id of the transaction that wrote it (`tx_id xid8`);
    - positions come from `ecovarejo_allocate_positions`, which takes the transaction's
      xid and the positions together in a critical section of a few microseconds, so for
      any two event-writing transactions, lower xid <=> lower positions;
    - readers return only rows with `tx_id < pg_snapshot_xmin(pg_current_snapshot())`:
      every transaction below that xmin has finished, so no row can still appear below
      it, and (by the previous point) every row a later read can return has a higher
      position than every row returned so far. Each event is read exactly once, in an
      order that never changes once read; ids stay dense apart from rolled-back appends.
    - an append of events alone is ONE statement in its own implicit transaction (one
      round trip, one commit); a follower's events and tracking row share a transaction;
    - the NOTIFY wake-up leaves the writing path altogether (`Waker`).

    A follower is held back while any transaction with an xid is in flight (anywhere in
    the cluster); writes here are short, and subscriptions re-read soon after a wake-up
    (`GaplessSubscription`).
    """

    MAX_EVENTS_PER_APPEND = 1_000_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (k, n): reads return only the events of partition k of n (`partition_of`): a
        # follower that owns one partition never fetches, let alone decodes, the others.
        self.partition: tuple[int, int] | None = None
        self.lock_table_statements: list[Any] = []
        schema = Identifier(self.datastore.schema)
        table = Identifier(self.events_table_name)
        qualified = f"{self.datastore.schema}.{self.events_table_name}"
        self.sql_create_statements.append(SQL(ALLOCATE_POSITIONS_SQL).format())
        # Only when missing: ALTER TABLE takes an ACCESS EXCLUSIVE lock even with IF NOT EXISTS.
        self.sql_create_statements.append(
            SQL(
                "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_attribute WHERE attrelid = "
                "{qualified}::regclass AND attname = 'tx_id') THEN "
                "ALTER TABLE {schema}.{table} ADD COLUMN tx_id xid8 "
                "NOT NULL DEFAULT '3'::xid8; ALTER TABLE {schema}.{table} ALTER COLUMN tx_id "
                "SET DEFAULT pg_current_xact_id(); END IF; END $$"
            ).format(qualified=Literal(qualified), schema=schema, table=table)
        )
        self._qualified = SQL("{schema}.{table}").format(schema=schema, table=table).as_string()
        # The log's sequence, by name once known (`resolve_sequence`): until then each
        # append asks `pg_get_serial_sequence`, a catalog lookup per statement.
        self._sequence_resolved = False
        self._build_inserts(
            SQL("pg_get_serial_sequence({qualified}, 'notification_id')").format(
                qualified=Literal(qualified)
            )
        )
        self._select_statements: dict[tuple[bool, bool, bool, bool], str] = {}
        self._select_after_sql: str | None = None
        self._notification_statements: dict[
            tuple[bool, bool, bool, tuple[str, ...], bool], str
        ] = {}
        self.waker = Waker(self.datastore, self.channel_name)
        # A follower's step (the saga's) notifies in its own transaction (see
        # `_insert_with_tracking`).
        self._notify_sql = SQL("NOTIFY {0}").format(Identifier(self.channel_name)).as_string()
        self.group_commit: GroupCommit | None = GroupCommit(
            self._send_group, self._send_alone, self.datastore.pool.max_size
        )
        self.visible_bound = SQL("tx_id < pg_snapshot_xmin(pg_current_snapshot())")
        # The hot statements through the connection's libpq layer (`LeanStatement`), by
        # their text; for the usual uuid originator ids only.
        self._lean: dict[str, LeanStatement] = {}
        self._uuid_ids = getattr(self.datastore, "originator_id_type", "uuid") == "uuid"

    def _build_inserts(self, sequence: sql.Composable) -> None:
        """The two append statements, rendered once (a `Composed` renders itself again on
        every execute): events of any number, and the one-event plan most commands use."""
        names = {
            "sequence": sequence,
            "events": SQL(self._qualified),
            "stored_event_type": SQL("{schema}.{name}").format(
                schema=Identifier(self.datastore.schema),
                name=Identifier(self.stored_event_type_name),
            ),
        }
        self.append_many_sql = (
            SQL(
                "WITH allocated AS MATERIALIZED (SELECT ecovarejo_allocate_positions("
                "{sequence}, %s) AS first) "
                "INSERT INTO {events} AS t "
                "(originator_id, originator_version, topic, state, notification_id) "
                "SELECT e.originator_id, e.originator_version, e.topic, e.state, "
                "allocated.first + e.ord - 1 FROM allocated, "
                "unnest(%s::{stored_event_type}[]) WITH ORDINALITY "
                "AS e(originator_id, originator_version, topic, state, ord) ORDER BY e.ord "
                "RETURNING notification_id"
            )
            .format(**names)
            .as_string()
        )
        self.append_one_sql = (
            SQL(
                "WITH allocated AS MATERIALIZED (SELECT ecovarejo_allocate_positions("
                "{sequence}, 1) AS first) "
                "INSERT INTO {events} "
                "(originator_id, originator_version, topic, state, notification_id) "
                "SELECT %s, %s, %s, %s, allocated.first FROM allocated RETURNING notification_id"
            )
            .format(**names)
            .as_string()
        )

    def resolve_sequence(self, conn: Any) -> None:
        """Name the log's sequence in the append statements, once per recorder: a
        `'name'::regclass` constant is resolved when the statement is prepared."""
        if self._sequence_resolved:
            return
        row = conn.execute(
            "SELECT pg_get_serial_sequence(%s, 'notification_id')",
            (f"{self.datastore.schema}.{self.events_table_name}",),
        ).fetchone()
        name = row[0] if isinstance(row, tuple) else (row or {}).get("pg_get_serial_sequence")
        if name:
            self._build_inserts(SQL("{name}::regclass").format(name=Literal(name)))
            self._sequence_resolved = True

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notifies = kwargs.get("tracking") is not None or _notifying()
        ids = self._insert(stored_events, **kwargs)
        if stored_events and not notifies:
            self.waker.poke()  # the transaction did not send its NOTIFY itself
        return ids

    def _insert(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if len(stored_events) >= self.MAX_EVENTS_PER_APPEND:
            msg = f"at most {self.MAX_EVENTS_PER_APPEND - 1} events in one append"
            raise ProgrammingError(msg)
        if kwargs.get("tracking") is None:
            if not stored_events:
                return None
            if _notifying():  # a worker's actor: its NOTIFY in the append's transaction
                return self._send_notifying(stored_events)
            if self.group_commit is None:  # switched off (the append bench's comparison)
                return self._send_alone(stored_events)
            return self.group_commit.append(stored_events)  # concurrent commands share a commit
        return self._insert_with_tracking_retried(stored_events, **kwargs)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _send_alone(self, stored_events: Sequence[StoredEvent]) -> Sequence[int] | None:
        """Events with nothing else: ONE statement in its own implicit transaction, so one
        round trip and one commit."""
        with checkout(self.datastore) as conn:
            self.resolve_sequence(conn)
            if len(stored_events) == 1 and self._lean_event(stored_events[0]):
                e: Any = stored_events[0]
                result, _ = self._lean_statement(self.append_one_sql, _APPEND_ONE_TYPES).run(
                    conn,
                    (e.originator_id.bytes, _int8(e.originator_version), e.topic, e.state),
                    _APPEND_ONE_FORMATS,
                )
                return [_int(result.get_value(i, 0)) for i in range(result.ntuples)]
            with conn.cursor() as curs:
                self._insert_stored_events(curs, stored_events)
                return self._fetch_ids_after_insert_events(curs, stored_events)

    def _lean_event(self, e: StoredEvent) -> bool:
        """Whether an event's append can take the `LeanStatement` (the usual types)."""
        return (
            self._uuid_ids
            and type(e.originator_id) is UUID
            and type(e.topic) is str
            and type(e.state) is bytes
        )

    def _lean_statement(self, statement: str, types: tuple[int, ...]) -> LeanStatement:
        lean = self._lean.get(statement)
        if lean is None:
            lean = self._lean[statement] = LeanStatement(statement, types)
        return lean

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _send_notifying(self, stored_events: Sequence[StoredEvent]) -> Sequence[int] | None:
        """Events and the followers' NOTIFY in ONE round trip: pipelined up to one Sync,
        which PostgreSQL runs as one implicit transaction (a version conflict commits
        neither). Not grouped with other commands (see `notifying_in_transaction`)."""
        with checkout(self.datastore) as conn:
            self.resolve_sequence(conn)
            with conn.pipeline() as pipeline, conn.cursor() as curs, conn.cursor() as woken:
                self._insert_stored_events(curs, stored_events)
                woken.execute(self._notify_sql)
                pipeline.sync()
                return self._fetch_ids_after_insert_events(curs, stored_events)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _send_group(self, stored_events: Sequence[StoredEvent]) -> Sequence[int] | None:
        """The events of several commands: ONE multi-row statement, one commit (never the
        one-event plan, whatever the count)."""
        with checkout(self.datastore) as conn, conn.cursor() as curs:
            self.resolve_sequence(conn)
            self._insert_many(curs, stored_events)
            return self._fetch_ids_after_insert_events(curs, stored_events)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_with_tracking_retried(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        return self._insert_with_tracking(stored_events, **kwargs)

    def _insert_with_tracking(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """A follower's events, its tracking row and the followers' wake-up (NOTIFY), in
        one transaction, sent in one round trip and committed in a second (the library
        took three: the events, then the tracking row, whose RETURNING it fetched at once,
        then the commit).

        The `Waker` keeps commands' NOTIFYs off their transactions because, inside one,
        NOTIFY holds PostgreSQL's notification-queue lock through the commit's WAL flush
        and every notifying writer of the cluster queues on it; a saga step commits a few
        times per checkout, from at most a partition's thread each, so here the lock costs
        less than the Waker's own transaction, round trip and thread turn (two per
        checkout)."""
        tracking: Tracking = kwargs["tracking"]
        process: Any = self  # a process recorder (`EventStoreProcessRecorder`): its tracking
        error: Exception | None = None
        ids: Sequence[int] | None = None
        with self.datastore.get_connection() as conn:
            self.resolve_sequence(conn)  # before the pipeline: a read of its own, once
            with conn.pipeline() as pipeline, conn.transaction():
                events, tracked, woken = conn.cursor(), conn.cursor(), conn.cursor()
                process._check_has_multi_row_tracking_table(tracked)
                try:
                    # Events first: the allocation must give the transaction its xid.
                    if stored_events:
                        self._insert_stored_events(events, stored_events, **kwargs)
                    tracked.execute(
                        process.insert_tracking_statement,
                        {
                            "application_name": tracking.application_name,
                            "notification_id": tracking.notification_id,
                        },
                        prepare=True,
                    )
                    if stored_events:  # the wake-up commits with them: no Waker round trip
                        woken.execute(self._notify_sql)
                    pipeline.sync()  # a version conflict raises here
                    if stored_events:
                        ids = self._fetch_ids_after_insert_events(events, stored_events)
                except Exception as e:  # re-raised once the pipeline has exited
                    error = e
                if (
                    error is None
                    and self.datastore.single_row_tracking
                    and tracked.fetchone() is None
                ):  # the position was there already: nothing of it commits
                    raise IntegrityError(
                        f"Failed to record tracking for {tracking.application_name} "
                        f"{tracking.notification_id}"
                    )
            if error is not None:
                raise error
        return ids

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        if len(stored_events) == 1:  # most commands: plain parameters, a prepared plan
            e = stored_events[0]
            params = (e.originator_id, e.originator_version, e.topic, e.state)
            curs.execute(self.append_one_sql, params, prepare=True)
            return
        self._insert_many(curs, stored_events)

    def _insert_many(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent]) -> None:
        pg_stored_events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        curs.execute(self.append_many_sql, (len(stored_events), pg_stored_events))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The library's `select_events` (every command's load, and its fast-forward of a
        cached aggregate), its statement rendered once per shape and its rows as tuples:
        the library composes the statement anew and makes a dict of each row."""
        params: list[Any] = [originator_id]
        if gt is not None:
            params.append(gt)
        if lte is not None:
            params.append(lte)
        if limit is not None:
            params.append(limit)
        statement = self._select_events_statement(
            gt is not None, lte is not None, desc is not False, limit is not None
        )
        if self._uuid_ids and type(originator_id) is UUID:  # the usual: no cursor
            lean = self._lean_statement(statement, (_UUID_OID,) + (_INT8_OID,) * (len(params) - 1))
            values = [originator_id.bytes, *(_int8(p) for p in params[1:])]
            with checkout(self.datastore) as conn:
                result, encoding = lean.run(conn, values, (1,) * len(values))
            # Every row is of the originator asked for (the statement's WHERE).
            get = result.get_value
            return [
                StoredEvent(
                    originator_id=originator_id,
                    originator_version=_int(get(i, 1)),
                    topic=_text(get(i, 2), encoding),
                    state=bytes(get(i, 3)),
                )
                for i in range(result.ntuples)
            ]
        with checkout(self.datastore) as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, params, prepare=True)
            return [
                StoredEvent(
                    originator_id=oid, originator_version=version, topic=topic, state=bytes(state)
                )
                for oid, version, topic, state in curs.fetchall()
            ]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_events_after(
        self, after: Sequence[tuple[UUID, int]]
    ) -> dict[UUID, list[StoredEvent]]:
        """The events of several aggregates, each after a version of its own (0: all), in
        ONE round trip: what `select_events(id, gt=version)` returns for each, read in one
        statement (so from one snapshot). A saga step reads the order and the stock items
        it changes, or a payment and its order, this way."""
        if self._select_after_sql is None:
            self._select_after_sql = (
                SQL(
                    "SELECT e.originator_id, e.originator_version, e.topic, e.state "
                    "FROM unnest(%s::uuid[], %s::bigint[]) AS w(originator_id, after) "
                    "JOIN {events} e ON e.originator_id = w.originator_id "
                    "AND e.originator_version > w.after "
                    "ORDER BY e.originator_id, e.originator_version"
                )
                .format(events=SQL(self._qualified))
                .as_string()
            )
        found: dict[UUID, list[StoredEvent]] = {oid: [] for oid, _ in after}
        if self._uuid_ids and all(type(oid) is UUID for oid in found):
            return self._select_lean_after(after, found)
        params = ([oid for oid, _ in after], [version for _, version in after])
        with checkout(self.datastore) as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self._select_after_sql, params, prepare=True)
            for oid, version, topic, state in curs.fetchall():
                found.setdefault(oid, []).append(
                    StoredEvent(
                        originator_id=oid,
                        originator_version=version,
                        topic=topic,
                        state=bytes(state),
                    )
                )
        return found

    def _select_lean_after(
        self, after: Sequence[tuple[UUID, int]], found: dict[UUID, list[StoredEvent]]
    ) -> dict[UUID, list[StoredEvent]]:
        """`select_events_after` through a `LeanStatement`, as a command's one-aggregate
        load reads: the two arrays sent as text, the rows taken in binary. psycopg's
        cursor spent more of a command's CPU on this one statement (its array dumpers, the
        query's conversion) than two lean reads of one aggregate each."""
        assert self._select_after_sql is not None
        lean = self._lean_statement(self._select_after_sql, (_UUID_ARRAY_OID, _INT8_ARRAY_OID))
        ids = "{" + ",".join(str(oid) for oid, _ in after) + "}"
        versions = "{" + ",".join(str(int(version)) for _, version in after) + "}"
        with checkout(self.datastore) as conn:
            result, encoding = lean.run(conn, [ids, versions], (0, 0))
        asked = {oid.bytes: oid for oid in found}
        get = result.get_value
        for i in range(result.ntuples):
            oid = asked[bytes(get(i, 0))]
            found[oid].append(
                StoredEvent(
                    originator_id=oid,
                    originator_version=_int(get(i, 1)),
                    topic=_text(get(i, 2), encoding),
                    state=bytes(get(i, 3)),
                )
            )
        return found

    def _select_events_statement(self, gt: bool, lte: bool, desc: bool, limit: bool) -> str:
        key = (gt, lte, desc, limit)
        statement = self._select_statements.get(key)
        if statement is None:
            order = "DESC" if desc else "ASC"
            statement = (
                SQL(
                    "SELECT originator_id, originator_version, topic, state FROM {events} "
                    "WHERE originator_id = %s{gt}{lte} ORDER BY originator_version {order}{limit}"
                )
                .format(
                    events=SQL(self._qualified),
                    gt=SQL(" AND originator_version > %s" if gt else ""),
                    lte=SQL(" AND originator_version <= %s" if lte else ""),
                    order=SQL(order),
                    limit=SQL(" LIMIT %s" if limit else ""),
                )
                .as_string()
            )
            self._select_statements[key] = statement
        return statement

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_notification_rows(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[NotificationRow]:
        """`select_notifications`' rows as plain tuples `(id, originator_id,
        originator_version, topic, state)`, for readers of the whole log (rebuilds,
        `replay --all`) that need no `Notification` of each (a frozen dataclass: ~1.4 us a
        row). Fetched in PostgreSQL's binary format: a uuid arrives as its 16 bytes, not
        as text that `UUID` parses in Python (~1.5 us a row of the reader's CPU)."""
        params: list[Any] = []
        if start is not None:
            params.append(start)
        if stop is not None:
            params.append(stop)
        if self.partition is not None:
            params.extend((self.partition[1], self.partition[0]))
        params.append(limit)
        statement = self._select_notifications_statement(
            start is not None and inclusive_of_start,
            start is not None and not inclusive_of_start,
            stop is not None,
            tuple(topics),
            self.partition is not None,
        )
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, params, prepare=True, binary=True)
            return curs.fetchall()

    def _select_notifications_statement(
        self, ge: bool, gt: bool, stop: bool, topics: tuple[str, ...], partition: bool
    ) -> str:
        """The statement of one shape of `select_notification_rows`, composed once (the
        library composes it anew for every page). A follower's topics are written into
        its statement as literals, not sent as a parameter: psycopg adapting a list of ~20
        topics cost ~57 us of CPU on each read, as much as the rest of an empty read, and a
        filtered follower reads on every wake-up (issue 24: with two worker processes, the
        one holding the saga's partitions and the effects reads ~8 times a checkout). The
        topic sets are the followers' own, a handful; past `TOPIC_SETS_KEPT` a statement
        is composed again for each read instead of kept."""
        key = (ge, gt, stop, topics, partition)
        statement = self._notification_statements.get(key)
        if statement is None:
            conditions = [self.visible_bound]
            if ge or gt:
                conditions.append(SQL("notification_id " + (">=" if ge else ">") + " %s"))
            if stop:
                conditions.append(SQL("notification_id <= %s"))
            if topics:
                # as text, its `%` doubled: the statement goes to `execute` with parameters
                literals = SQL(", ").join(Literal(topic) for topic in topics).as_string()
                conditions.append(SQL(f"topic = ANY(ARRAY[{literals.replace('%', '%%')}])"))
            if partition:
                conditions.append(SQL(PARTITION_OF_SQL + " = %s"))
            statement = (
                SQL(
                    "SELECT notification_id, originator_id, originator_version, topic, state "
                    "FROM {events} WHERE {conditions} ORDER BY notification_id LIMIT %s"
                )
                .format(events=SQL(self._qualified), conditions=SQL(" AND ").join(conditions))
                .as_string()
            )
            if not topics or len(self._notification_statements) < TOPIC_SETS_KEPT:
                self._notification_statements[key] = statement
        return statement

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        rows = self.select_notification_rows(
            start, limit, stop, topics, inclusive_of_start=inclusive_of_start
        )
        return [
            Notification(
                id=nid,
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=state,
            )
            for nid, originator_id, version, topic, state in rows
        ]

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return GaplessSubscription(recorder=self, gt=gt, topics=topics)


def notification_rows(recorder: Any) -> Callable[..., Sequence[NotificationRow]]:
    """The recorder's `select_notification_rows`; for another recorder (the library's),
    its `select_notifications` with each `Notification` made a row."""
    rows: Callable[..., Sequence[NotificationRow]] | None = getattr(
        recorder, "select_notification_rows", None
    )
    if rows is not None:
        return rows
    select = recorder.select_notifications

    def as_rows(*args: Any, **kwargs: Any) -> Sequence[NotificationRow]:
        return [
            (n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in select(*args, **kwargs)
        ]

    return as_rows


class EventStoreRecorder(ParallelAppends):
    """The application recorder of the log: parallel appends, visibility-ordered reads."""


class EventStoreProcessRecorder(ParallelAppends, PostgresProcessRecorder):
    """The saga's recorder: the same, with its tracking row in the same transaction."""


def eventsourcing_env(database_url: str, pool_size: int = 5) -> dict[str, str]:
    """Translate a DATABASE_URL into the `eventsourcing` library's POSTGRES_* settings."""
    params = conninfo_to_dict(database_url)
    parts = urlsplit(database_url)
    host = str(params.get("host") or parts.hostname or "localhost")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(
            params.get("dbname") or unquote(parts.path.lstrip("/")) or "postgres"
        ),
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": str(params.get("port") or parts.port or 5432),
        "POSTGRES_USER": str(params.get("user") or parts.username or "postgres"),
        "POSTGRES_PASSWORD": str(params.get("password") or parts.password or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "CREATE_TABLE": "y",
        "KEY_STORE_TOPIC": "infrastructure.keys.data_keys:PostgresKeyStore",
        "APPLICATION_RECORDER_TOPIC": "infrastructure.store.event_store:EventStoreRecorder",
        "PROCESS_RECORDER_TOPIC": "infrastructure.store.event_store:EventStoreProcessRecorder",
        **AGGREGATE_CACHE_OFF,
    }


_IMMUTABLE_FUNCTION = """
CREATE OR REPLACE FUNCTION ecovarejo_refuse_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are immutable: % on % is refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$
"""


def install_immutability_guard(database_url: str, table: str = EVENTS_TABLE) -> None:
    """Make PostgreSQL refuse UPDATE, DELETE and TRUNCATE on the events table. Idempotent."""
    rows = sql.Identifier(f"{table}_refuse_update_delete")
    trunc = sql.Identifier(f"{table}_refuse_truncate")
    target = sql.Identifier(table)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(7201)")  # concurrent starters don't race
        try:
            conn.execute(_IMMUTABLE_FUNCTION)
            conn.execute(
                sql.SQL(
                    "CREATE OR REPLACE TRIGGER {} BEFORE UPDATE OR DELETE ON {} "
                    "FOR EACH ROW EXECUTE FUNCTION ecovarejo_refuse_event_change()"
                ).format(rows, target)
            )
            conn.execute(
                sql.SQL(
                    "CREATE OR REPLACE TRIGGER {} BEFORE TRUNCATE ON {} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION ecovarejo_refuse_event_change()"
                ).format(trunc, target)
            )
        finally:
            conn.execute("SELECT pg_advisory_unlock(7201)")
