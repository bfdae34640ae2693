"""Wake-ups shared by a host's processes (infrastructure/store/wake_slot.py): a NOTIFY that
started after an append committed covers it, whoever sent it; one that did not is still
sent, at most one per interval for the host; a listener is woken after every append."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment

from infrastructure.store.event_store import EventStoreRecorder, Waker, eventsourcing_env
from infrastructure.store.wake_slot import _OPENED, HostWakeSlot


@pytest.fixture
def slot() -> Iterator[HostWakeSlot]:
    opened = HostWakeSlot.open(f"test-{uuid.uuid4()}", 0.05)
    assert opened is not None
    yield opened
    opened.close()
    assert not opened.path.exists()  # the last one out removes the file


def test_a_wake_up_claimed_after_an_append_covers_it(slot: HostWakeSlot) -> None:
    committed = time.monotonic()
    assert slot.claim(committed) == 0.0  # nothing sent yet: this one sends
    assert slot.claim(committed) is None  # that wake-up started after the append


def test_an_append_after_the_last_wake_up_waits_its_turn_then_sends(slot: HostWakeSlot) -> None:
    assert slot.claim(time.monotonic()) == 0.0
    later = time.monotonic() + 1e-6
    wait = slot.claim(later)
    assert wait is not None
    assert 0 < wait <= slot.interval_s
    time.sleep(wait)
    assert slot.claim(later) == 0.0


def test_a_time_from_another_boot_is_ignored(slot: HostWakeSlot) -> None:
    struct.pack_into("d", slot._map, 0, time.monotonic() + 3600)  # a clock that restarted
    assert slot.claim(time.monotonic()) == 0.0


def test_processes_share_one_file_per_channel() -> None:
    first = HostWakeSlot.open("server-a#channel", 0.01)
    second = HostWakeSlot.open("server-a#channel", 0.01)
    other = HostWakeSlot.open("server-b#channel", 0.01)
    assert first is not None
    assert second is not None
    assert other is not None
    try:
        assert first.path == second.path != other.path
        assert first.path.stat().st_mode & 0o777 == 0o600
    finally:
        for opened in (first, second, other):
            opened.close()
            opened.path.unlink(missing_ok=True)


@pytest.fixture
def recorders(database_url: str) -> Iterator[list[EventStoreRecorder]]:
    """Two recorders of the log on one database, as two writer processes would have."""
    env = eventsourcing_env(database_url)
    factories: list[Any] = []
    made = []
    for _ in range(2):
        factory: Any = InfrastructureFactory.construct(
            Environment("SharedWakeUps", {**env, "POSTGRES_POOL_SIZE": "2"})
        )
        factories.append(factory)
        made.append(factory.application_recorder())
    yield made
    for factory in factories:
        factory.close()


def _append(recorder: EventStoreRecorder) -> None:
    recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "t", b"{}")])


def _notified(conn: psycopg.Connection[Any], within_s: float) -> int:
    return sum(1 for _ in conn.notifies(timeout=within_s, stop_after=1))


def test_every_append_wakes_a_listener_and_the_host_sends_fewer_wake_ups(
    recorders: list[EventStoreRecorder], database_url: str
) -> None:
    first, second = recorders
    assert first.channel_name == second.channel_name
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f'LISTEN "{first.channel_name}"')
        for recorder in (first, second, second, first):
            _append(recorder)
            assert _notified(listener, within_s=2.0) == 1, "an append was not followed by a wake-up"
        # Bursts from both "processes": the host sends at most one per interval, and a
        # wake-up that started after the last append is sent.
        sent_before = first.waker.sent + second.waker.sent
        started = time.monotonic()
        for _ in range(50):
            _append(first)
            _append(second)
        last_commit = time.monotonic()
        elapsed = last_commit - started
        time.sleep(0.5)
        slot = first.waker._slot
        assert slot is not None
        (last_wake_up,) = struct.unpack_from("d", slot._map)
        assert last_wake_up >= last_commit
        assert _notified(listener, within_s=1.0) >= 1
        sent = first.waker.sent + second.waker.sent - sent_before
        assert sent <= elapsed / Waker.MIN_INTERVAL_S + 4


def test_without_sharing_each_waker_sends_for_itself(
    recorders: list[EventStoreRecorder], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Waker, "SHARE_ACROSS_PROCESSES", False)
    first, _ = recorders
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f'LISTEN "{first.channel_name}"')
        _append(first)
        assert _notified(listener, within_s=2.0) == 1


HOLDER = """
import sys
from infrastructure.store.wake_slot import HostWakeSlot
slot = HostWakeSlot.open(sys.argv[1], 0.05)
print("open", flush=True)
sys.stdin.readline()
"""


def test_the_slot_file_is_removed_by_the_last_process_that_used_it() -> None:
    key = f"test-{uuid.uuid4()}"
    mine = HostWakeSlot.open(key, 0.05)
    assert mine is not None
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, key], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert holder.stdin is not None
        assert holder.stdout.readline().strip() == b"open"
        mine.close()
        assert mine.path.exists()  # the other process still uses it
        assert mine.claim(time.monotonic()) == 0.0  # closed here: each wakes for itself
        holder.stdin.write(b"done\n")
        holder.stdin.flush()
        assert holder.wait(10) == 0
        assert not mine.path.exists()  # it left last, at its exit
    finally:
        holder.kill()
        mine.path.unlink(missing_ok=True)


def test_opening_a_slot_removes_files_left_by_processes_that_never_closed_theirs() -> None:
    left = HostWakeSlot.open(f"test-{uuid.uuid4()}", 0.05)
    assert left is not None
    held = HostWakeSlot.open(f"test-{uuid.uuid4()}", 0.05)
    assert held is not None
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, f"test-{uuid.uuid4()}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"open"
        # `left`'s process "died": its lock gone, its file still there
        _OPENED.discard(left)
        left._map.close()  # type: ignore[union-attr]
        os.close(left._fd)
        assert left.path.exists()
        opened = HostWakeSlot.open(f"test-{uuid.uuid4()}", 0.05)
        assert opened is not None
        assert not left.path.exists()  # nobody held it: removed
        assert held.path.exists()  # this process holds it
        others = [
            p for p in opened.path.parent.iterdir() if p.name.startswith(opened.path.name[:-24])
        ]
        assert len(others) >= 3  # the other process's too, and the new one
        opened.close()
    finally:
        holder.kill()
        holder.wait(10)
        held.close()
