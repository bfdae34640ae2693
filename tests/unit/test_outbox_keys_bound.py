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


def test_the_outbox_holds_no_more_than_its_bound_however_many_keys_it_takes(tmp_path):
    outbox = FileNotifier(tmp_path / "outbox.jsonl")
    keys = [f"order-{i}:order_confirmed" for i in range(3 * FileNotifier.RECENT_KEYS)]
    for key in keys:
        outbox._remember(key)
    assert list(outbox._seen()) == keys[-FileNotifier.RECENT_KEYS :]


def test_a_reopened_outbox_reads_its_latest_keys_from_the_end_of_a_long_file(tmp_path, monkeypatch):
    monkeypatch.setattr(FileNotifier, "RECENT_KEYS", 50)
    monkeypatch.setattr(FileNotifier, "TAIL_BYTES", 100)  # lines cut across reads
    path = tmp_path / "outbox.jsonl"
    keys = [f"order-{i}:{'x' * (i % 40)}" for i in range(1_000)]
    path.write_text("".join(json.dumps({"key": k, "detail": "é"}) + "\n" for k in keys))
    assert list(FileNotifier(path)._seen()) == keys[-50:]


def test_a_reopened_outbox_with_fewer_lines_than_its_bound_reads_them_all(tmp_path):
    path = tmp_path / "outbox.jsonl"
    path.write_text("".join(json.dumps({"key": f"k{i}"}) + "\n" for i in range(5)))
    assert list(FileNotifier(path)._seen()) == [f"k{i}" for i in range(5)]
