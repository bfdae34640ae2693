"""The embedded outbox remembers the latest notification keys, not every one ever sent."""

from __future__ import annotations

import json

from application.ports import Notification
from infrastructure.gateways.notifications import FileNotifier


def notification(key: str) -> Notification:
    return Notification("order_confirmed", "o1", "c1", "", key)


def test_the_outbox_ignores_a_recent_repeat_and_forgets_old_keys(tmp_path, monkeypatch):
    monkeypatch.setattr(FileNotifier, "RECENT_KEYS", 3)
    outbox = FileNotifier(tmp_path / "outbox.jsonl")
    for key in ("k1", "k2", "k3", "k3", "k4"):
        outbox.send(notification(key))
    lines = [json.loads(x)["key"] for x in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert lines == ["k1", "k2", "k3", "k4"]  # the repeat of k3 was not written
    assert list(outbox._seen()) == ["k2", "k3", "k4"]  # bounded, oldest gone
    reopened = FileNotifier(tmp_path / "outbox.jsonl")
    assert list(reopened._seen()) == ["k2", "k3", "k4"]  # read back: the latest only
