"""A stopped subscription gives its connection back to the pool no longer listening: a
connection still LISTENing would queue every later NOTIFY in psycopg's backlog, which no
one reads (the memory growth issue 24's soak found)."""

from __future__ import annotations

import time

import psycopg
import pytest

from infrastructure.bootstrap import bootstrap
from infrastructure.store import event_store


@pytest.fixture
def container(settings):
    """The wiring without runners: only the test's own subscription listens."""
    built = bootstrap(settings)
    yield built
    built.close()


def test_a_stopped_subscription_leaves_no_listening_connection_behind(container, monkeypatch):
    handed_back: list[psycopg.Connection] = []
    stop_listening = event_store._stop_listening

    def recording(conn: psycopg.Connection) -> None:
        stop_listening(conn)
        handed_back.append(conn)

    monkeypatch.setattr(event_store, "_stop_listening", recording)
    recorder = container.services.store.recorder
    subscription = recorder.subscribe(gt=None)
    with subscription:
        time.sleep(0.3)  # LISTEN is in place
        subscription.stop()
    assert len(handed_back) == 1
    conn = handed_back[0]
    assert conn.execute("SELECT pg_listening_channels()").fetchall() == []
    with psycopg.connect(container.database_url, autocommit=True) as other:
        other.execute(f"NOTIFY {recorder.channel_name}")
    conn.execute("SELECT 1")  # a notification would arrive with this answer
    assert not conn._notifies_backlog


def test_stopping_listening_drops_what_the_connection_queued(container):
    channel = container.services.store.recorder.channel_name
    with psycopg.connect(container.database_url, autocommit=True) as conn:
        conn.execute(f"LISTEN {channel}")
        with psycopg.connect(container.database_url, autocommit=True) as other:
            for _ in range(3):
                other.execute(f"NOTIFY {channel}")
        conn.execute("SELECT 1")
        assert len(conn._notifies_backlog) == 3  # queued, read by no one
        event_store._stop_listening(conn)
        assert not conn._notifies_backlog
        assert conn.execute("SELECT pg_listening_channels()").fetchall() == []
