"""Our own webhooks (ECOVAREJO_WEBHOOK_URL), received by a local server and verified the way
the README tells a receiver to: a timestamp signed with the body; a replay is refused."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from application.ports import Notification
from infrastructure.gateways.notifications import WebhookNotifier
from tests.fakes.base import FakeProvider, Request

SECRET = "whsec_ours"


def readme_verify(secret: str, header: str, body: bytes, tolerance_s: int = 300) -> bool:
    """The receiver's code, as the README shows it."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    t, v1 = fields.get("t", ""), fields.get("v1", "")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    fresh = t.isdigit() and abs(time.time() - int(t)) <= tolerance_s
    return fresh and hmac.compare_digest(expected, v1)


class Receiver(FakeProvider):
    def __init__(self) -> None:
        super().__init__()
        self.route("POST", "/hooks", lambda r: (200, {"ok": True}))

    def last(self) -> Request:
        return self.requests[-1]


def notification() -> Notification:
    return Notification("order_confirmed", "o-1", "c-1", "confirmed", key="o-1:order_confirmed")


def test_our_webhook_carries_a_timestamped_signature_a_receiver_can_verify():
    receiver = Receiver().start()
    try:
        WebhookNotifier(f"{receiver.url}/hooks", SECRET).send(notification())
        request = receiver.last()
        header = request.headers["x-ecovarejo-signature"]
        assert header.startswith("t=")
        assert readme_verify(SECRET, header, request.raw)
        assert not readme_verify("another secret", header, request.raw)
        assert not readme_verify(SECRET, header, request.raw.replace(b"o-1", b"o-2"))
    finally:
        receiver.stop()


def test_a_replayed_delivery_is_refused_once_its_timestamp_is_old():
    receiver = Receiver().start()
    try:
        WebhookNotifier(f"{receiver.url}/hooks", SECRET).send(notification())
        request = receiver.last()
        header: Any = request.headers["x-ecovarejo-signature"]
        assert not readme_verify(SECRET, header, request.raw, tolerance_s=-1)
        t = int(header.split(",")[0][2:])
        old = f"t={t - 600}," + header.split(",")[1]
        assert not readme_verify(SECRET, old, request.raw)
    finally:
        receiver.stop()
