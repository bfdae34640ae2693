"""A local HTTP server that plays a payment provider, for adapter tests.

Each provider module declares its routes; this base gives them what every documented API
has and every test needs: idempotency keys (the same key and body answer the first
response again and move money once; the same key with another body is refused), test
cards by number (Stripe's published test numbers), a ledger of what moved money, the
requests as received (to check that no card number travels outside tokenization), and
fault injection: the next calls may answer 5xx, hang past the client's timeout, or answer
something that is not the documented JSON.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

TEST_CARDS = {
    "4000000000000002": "declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000119": "processing_error",
}

Handler = Callable[["Request"], tuple[int, dict[str, Any]]]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    params: dict[str, Any] = field(default_factory=dict)
    match: re.Match[str] | None = None


class FakeProvider:
    """Subclasses fill `routes` with (method, path regex, handler) and set `key_header`."""

    key_header = "idempotency-key"
    form_encoded = False

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[Request] = []
        self.ledger: list[dict[str, Any]] = []
        # "500" | "timeout" | "malformed" | "pass" (answered as usual), consumed in order
        self.faults: list[str] = []
        self.hang_s = 2.0
        self._idempotent: dict[str, tuple[bytes, int, dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeProvider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), handler))

    def moved(self, op: str) -> list[dict[str, Any]]:
        return [row for row in self.ledger if row["op"] == op]

    # ----------------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> tuple[int, bytes]:
        if self.faults:
            fault = self.faults.pop(0)
            if fault == "timeout":
                time.sleep(self.hang_s)
            elif fault == "malformed":
                return 200, b"<html>upstream proxy error</html>"
            elif fault != "pass":
                return int(fault), b'{"error": "internal"}'
        for method, pattern, handler in self.routes:
            match = pattern.match(request.path)
            if method == request.method and match:
                request.match = match
                return self._idempotently(request, handler)
        return 404, b'{"message": "not found"}'

    def _idempotently(self, request: Request, handler: Handler) -> tuple[int, bytes]:
        key = request.headers.get(self.key_header)
        with self._lock:
            if key and request.method in ("POST", "PUT"):
                seen = self._idempotent.get(key)
                if seen is not None:
                    if seen[0] != request.raw:
                        return 400, json.dumps(self.idempotency_mismatch()).encode()
                    return seen[1], json.dumps(seen[2]).encode()
            status, answer = handler(request)
            if key and request.method in ("POST", "PUT") and status < 500:
                self._idempotent[key] = (request.raw, status, answer)
        return status, json.dumps(answer).encode()

    def idempotency_mismatch(self) -> dict[str, Any]:
        return {"error": {"type": "idempotency_error"}}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                request = Request(
                    self.command,
                    parts.path,
                    dict(parse_qsl(parts.query)),
                    {k.lower(): v for k, v in self.headers.items()},
                    raw,
                )
                if raw:
                    if provider.form_encoded:
                        request.params = dict(parse_qsl(raw.decode()))
                    else:
                        request.params = json.loads(raw)
                provider.requests.append(request)
                status, body = provider._dispatch(request)
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return _Handler
