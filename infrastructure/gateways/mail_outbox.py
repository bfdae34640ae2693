"""Account mails (verification, reset, invitation): to SMTP when ECOVAREJO_SMTP_URL is set,
else into a local outbox that `ecovarejo mail outbox` shows, so the embedded default needs
no mail server.

The outbox holds one file per mail, mode 0600, in a 0700 folder of the data dir. A mail
names its recipient by customer id, never by address (the address is looked up, decrypted,
when shown: after an erasure there is none); its links are one-time tokens, and a mail is
deleted once older than the longest link lifetime (`ttl_s`), and at once on erasure.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from application.ports import Notification
from infrastructure.gateways.notifications import SmtpNotifier

OUTBOX_DIR = "mail-outbox"


class MailOutbox:
    def __init__(self, folder: Path, ttl_s: int = 72 * 3600):
        self.folder = folder
        self.ttl_s = ttl_s

    def _ready(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)

    def send(self, customer_id: str, kind: str, subject: str, body: str, key: str) -> None:
        self._ready()
        self.purge_expired()
        mail = {
            "key": key,
            "kind": kind,
            "customer_id": customer_id,
            "subject": subject,
            "body": body,
            "sent_at": time.time(),
        }
        path = self.folder / f"{time.time_ns()}-{key.replace(':', '-')}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(mail, out, ensure_ascii=False)

    def mails(self) -> list[dict[str, Any]]:
        self.purge_expired()
        found = []
        for path in sorted(self.folder.glob("*.json")) if self.folder.exists() else []:
            with contextlib.suppress(OSError, ValueError):
                found.append(json.loads(path.read_text(encoding="utf-8")))
        return found

    def purge_expired(self) -> int:
        return self._purge(lambda mail: time.time() - float(mail["sent_at"]) > self.ttl_s)

    def purge_subject(self, customer_id: str) -> int:
        return self._purge(lambda mail: mail.get("customer_id") == customer_id)

    def _purge(self, drop: Callable[[dict[str, Any]], bool]) -> int:
        removed = 0
        for path in self.folder.glob("*.json") if self.folder.exists() else []:
            try:
                if drop(json.loads(path.read_text(encoding="utf-8"))):
                    path.unlink()
                    removed += 1
            except (OSError, ValueError, KeyError):
                continue
        return removed


class SmtpMailer:
    """The same mails through the SMTP notifier (address decrypted at send time)."""

    def __init__(self, url: str, email_of: Callable[[str], str | None]):
        self.smtp = SmtpNotifier(url, email_of, sender="conta@ecovarejo.com.br")

    def send(self, customer_id: str, kind: str, subject: str, body: str, key: str) -> None:
        self.smtp.send(Notification(kind, "", customer_id, f"{subject}\n\n{body}", key))

    def purge_subject(self, customer_id: str) -> int:
        return 0
