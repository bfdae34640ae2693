"""JSON log lines carry no terminal colour codes; notification outbox lines are timestamped."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime

from api.http.access_log import json_handler
from application.ports import Notification
from domain.base import EventMetadata, event_context
from infrastructure.gateways.notifications import FileNotifier


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_json_log_lines_have_no_ansi_colour_codes():
    stream = io.StringIO()
    logger = logging.getLogger("uvicorn.error.test")
    logger.addHandler(json_handler(stream))
    logger.propagate = False
    try:
        # as uvicorn logs "Started server process": a coloured copy in `color_message`
        logger.warning(
            "Started \x1b[36mserver\x1b[0m process",
            extra={"color_message": "Started \x1b[1mserver\x1b[0m", "where": "\x1b[32mhere\x1b[0m"},
        )
    finally:
        logger.handlers.clear()
    text = stream.getvalue()
    assert "\x1b" not in text
    assert "\\u001b" not in text
    entry = json.loads(text)
    assert entry["message"] == "Started server process"
    assert entry["where"] == "here"
    assert "color_message" not in entry


def test_outbox_lines_say_when_they_were_sent(tmp_path):
    outbox = FileNotifier(tmp_path / "notifications.jsonl")
    with event_context(EventMetadata("system:worker"), FixedClock()):
        outbox.send(Notification("order_confirmed", "o-1", "ana", "confirmed", "k-1"))
    line = json.loads((tmp_path / "notifications.jsonl").read_text())
    assert line["sent_at"] == "2026-11-22T10:00:00+00:00"
    assert (line["kind"], line["key"]) == ("order_confirmed", "k-1")
