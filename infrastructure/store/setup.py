"""Setting the store up: tables, triggers, the hash chain; the master key checked; erasures
the ledger holds applied again. `ecovarejo migrate` runs it on its own; `bootstrap` runs it
at every start of a process that writes (serve, worker, the writing CLI commands), as it
always did, one process at a time. Idempotent: a second run finds everything in place."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.utils import Environment

from application.checkout.effects import EffectDispatcher
from application.checkout.policy import CheckoutSaga
from application.keys import KeyWrapper
from infrastructure.gateways.integration_publisher import publisher_tracking
from infrastructure.keys.erasure_ledger import ErasureLedger, reapply_erasures
from infrastructure.keys.master_key import MasterKeyError, check_master_key
from infrastructure.runtime.deadlines import create_table as create_deadlines_table
from infrastructure.settings import Settings
from infrastructure.store.event_log import install_chain
from infrastructure.store.event_store import install_immutability_guard

log = logging.getLogger(__name__)
SETUP_LOCK = 7200  # the advisory lock one setting-up process holds


class SetupRefusedError(Exception):
    """The store cannot be used with this configuration (e.g. another master key)."""


@contextmanager
def setup_lock(database_url: str) -> Iterator[None]:
    """Processes starting together (API replicas, a worker, the CLI) would race on CREATE
    statements ("tuple concurrently updated"): one sets up at a time. Held until the block
    ends: what the block constructs (the event store creates its tables on first use) is
    under it too."""
    with psycopg.connect(database_url, autocommit=True) as lock:
        lock.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
        yield  # released with the connection


def create_tables(env: dict[str, str]) -> None:
    """The events table and the saga's tracking table, and the effect dispatcher's (with
    its deadlines' table beside it)."""
    CheckoutSaga(env=env).close()
    effects = InfrastructureFactory.construct(Environment(EffectDispatcher.name, env))
    tracking = effects.tracking_recorder()
    if isinstance(tracking, PostgresTrackingRecorder):
        create_deadlines_table(tracking)
    publisher_tracking(
        env
    )  # the integration-event publisher's (infrastructure/runtime/followers.py)


def set_up(
    settings: Settings, env: dict[str, str], database_url: str, master_key: KeyWrapper
) -> int:
    """Create what is missing (tables, triggers, the chain); check the master key; destroy
    again the data keys the erasure ledger names (their number). Under `setup_lock`."""
    create_tables(env)
    try:
        check_master_key(database_url, master_key)
    except MasterKeyError as e:
        raise SetupRefusedError(str(e)) from None
    # A dump loaded by hand may bring back keys that erasures destroyed: not for long.
    again = reapply_erasures(database_url, ErasureLedger(settings.erasure_ledger_path))
    if again:
        log.warning("destroyed again %d data keys the erasure ledger names", again)
    install_immutability_guard(database_url)
    install_chain(database_url)
    return again


def log_exists(database_url: str) -> bool:
    """Whether the store was set up (a read-only process needs it)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass('ecovarejo_events')").fetchone()
    return row is not None and row[0] is not None
