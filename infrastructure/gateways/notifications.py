"""Notifier adapters: a JSON-lines file (embedded default), SMTP e-mail, signed webhooks.

Each send carries the notification's idempotency key to the receiver (Message-ID, header),
and a Redis marker skips keys already delivered, so a repeated effect is not re-sent.
"""

from __future__ import annotations

import contextlib
import json
import os
import smtplib
import threading
from collections.abc import Callable
from dataclasses import asdict
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis

from application.ports import Notification, Notifier
from domain.base import now
from infrastructure.gateways.webhook_signing import timestamped_signature


class FileNotifier:
    """The embedded default's outbox: one JSON line per notification. Like a real receiver
    it ignores a key it has already taken, so a repeat after a crash is not written twice."""

    # The latest keys remembered, in every process that sends (serve, each worker). The
    # repeat this catches is an effect's retry after the line was written but before
    # `OncePerKey`'s Redis marker was set: dramatiq retries within seconds (backoff at
    # most 10 s) or redelivers at the restart, a few notifications later, never
    # thousands. 50,000 cost ~6 MB a process (~120 B a key) and took `make soak` 35 minutes
    # to fill (two keys a checkout at 12 checkouts/s): its RSS rose ~5 MB over the run,
    # about half of the growth (bench/README.md, "Branch h24mem"). 4,096: ~0.5 MB, full
    # within the soak's warm-up.
    RECENT_KEYS = 4_096
    TAIL_BYTES = 64 * 1024  # read back from the end at a time, not the whole file

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._keys: dict[str, None] | None = None  # the latest keys, oldest first

    def _seen(self) -> dict[str, None]:
        if self._keys is None:
            self._keys = {}
            for line in self._last_lines(self.RECENT_KEYS):
                with contextlib.suppress(ValueError, KeyError):
                    self._keys[json.loads(line)["key"]] = None
        return self._keys

    def _last_lines(self, count: int) -> list[str]:
        """The file's last `count` lines, read from its end: the outbox only grows (it
        is never rotated here), and reading all of it at the first send would hold the
        whole file in memory at once."""
        if count <= 0 or not self.path.exists():
            return []
        with self.path.open("rb") as outbox:
            end = outbox.seek(0, os.SEEK_END)
            start, tail = end, b""
            while start > 0 and tail.count(b"\n") <= count:
                start = max(0, start - self.TAIL_BYTES)
                outbox.seek(start)
                tail = outbox.read(end - start)
        lines = tail.decode("utf-8", errors="replace").splitlines()
        if start > 0:
            lines = lines[1:]  # the first may be cut
        return lines[-count:]

    def _remember(self, key: str) -> None:
        keys = self._seen()
        keys[key] = None
        while len(keys) > self.RECENT_KEYS:  # bounded: every order ever would grow forever
            del keys[next(iter(keys))]

    def send(self, notification: Notification) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if notification.key in self._seen():
                return
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with open(fd, "a", encoding="utf-8") as out:
                line = {"sent_at": now().isoformat(), **asdict(notification)}
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                out.flush()
                os.fsync(out.fileno())
            self._remember(notification.key)


class SmtpNotifier:
    """`smtp://user:password@host:port` (STARTTLS when the server offers it). The address is
    looked up (decrypted) only now, at send time; no address (erased, or never given): no
    e-mail. Follows RFC 5321 (SMTP) and RFC 5322 (message format)."""

    def __init__(
        self,
        url: str,
        email_of: Callable[[str], str | None],
        sender: str = "pedidos@ecovarejo.com.br",
    ):
        self.url = urlsplit(url)
        self.email_of = email_of
        self.sender = sender

    def send(self, notification: Notification) -> None:
        to = self.email_of(notification.customer_id)
        if to is None:
            return
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Message-ID"] = f"<{notification.key}@ecovarejo.com.br>"
        if notification.order_id:
            message["Subject"] = f"Pedido {notification.order_id}: {notification.kind}"
            message.set_content(f"Seu pedido {notification.order_id}: {notification.detail}")
        else:  # marketing: the detail is the subject line, a blank line, the body
            subject, _, body = notification.detail.partition("\n\n")
            message["Subject"] = subject
            message.set_content(body)
        with smtplib.SMTP(self.url.hostname or "localhost", self.url.port or 25, timeout=10) as s:
            if s.has_extn("starttls"):
                s.starttls()
            if self.url.username:
                s.login(self.url.username, self.url.password or "")
            s.send_message(message)


class WebhookNotifier:
    """POSTs JSON signed as Stripe signs its webhooks: `X-EcoVarejo-Signature: t=<unix>,
    v1=<hex HMAC-SHA256 of "t.body">`, so a receiver can refuse a replayed delivery (README,
    "Payments": how to verify one)."""

    def __init__(self, url: str, secret: str):
        self.url = url
        self.secret = secret

    def send(self, notification: Notification) -> None:
        body = json.dumps(asdict(notification), sort_keys=True).encode()
        signature = timestamped_signature(self.secret, body, int(now().timestamp()))
        response = httpx.post(
            self.url,
            content=body,
            timeout=10,
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": notification.key,
                "X-EcoVarejo-Signature": signature,
            },
        )
        response.raise_for_status()


class OncePerKey:
    """Delivers each notification key once to every wrapped notifier."""

    def __init__(self, client: redis.Redis, notifiers: list[Notifier], ttl_s: int = 30 * 86400):
        self.client = client
        self.notifiers = notifiers
        self.ttl_s = ttl_s

    def send(self, notification: Notification) -> None:
        for index, notifier in enumerate(self.notifiers):
            marker = f"notified:{index}:{notification.key}"
            if self.client.exists(marker):
                continue
            notifier.send(notification)
            self.client.set(marker, "1", ex=self.ttl_s)
