"""Helpers of the account tests: a cheap argon2 cost, the app without background
processing, a settable clock, and reading links out of the local mail outbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from api.http.app import create_app
from infrastructure.accounts_wiring import AccountSystem, account_system
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.settings import Settings

API = "/api/v1"
PASSWORD = "verde-bambu-2026-sol"
CHEAP_ARGON2 = {
    "argon2_time_cost": 1,
    "argon2_memory_kib": 8192,
    "argon2_parallelism": 1,
    "signin_failure_floor_ms": 0,  # the timing test keeps the default
}
_LINK = re.compile(r"(?:código[^:]*|token=|senha[^:]*): ?(\S+)")


class SettableClock:
    def __init__(self) -> None:
        self.at = datetime.now(tz=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def cheap(settings: Settings, **more: object) -> Settings:
    return settings.model_copy(update={**CHEAP_ARGON2, **more})


@contextmanager
def api(settings: Settings) -> Iterator[tuple[TestClient, Container, AccountSystem]]:
    container = bootstrap(settings)
    try:
        with TestClient(create_app(container), raise_server_exceptions=False) as client:
            yield client, container, account_system(container)
    finally:
        container.close()


def last_link(system: AccountSystem, kind: str) -> str:
    """The token of the newest mail of `kind` in the outbox."""
    mails = [m for m in system.outbox.mails() if m["kind"] == kind]
    assert mails, f"no {kind} mail in the outbox"
    body = mails[-1]["body"]
    token = re.search(r"token=([A-Za-z0-9_\-.]+)", body)
    assert token, body
    return token.group(1)


def register_and_verify(client: TestClient, system: AccountSystem, email: str) -> None:
    answer = client.post(f"{API}/auth/register", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 202, answer.text
    token = last_link(system, "verify_email")
    verified = client.post(f"{API}/auth/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text


def sign_in(client: TestClient, email: str, password: str = PASSWORD, **more: str) -> dict:
    answer = client.post(f"{API}/auth/token", json={"email": email, "password": password, **more})
    assert answer.status_code == 200, answer.text
    return answer.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
