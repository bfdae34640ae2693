"""Staff accounts: invitation -> password -> TOTP enrolment -> sign-in with a code (a
replayed code refused, recovery codes once each), roles by events, deactivation; and the
throttle and lock of repeated failures, with the same answer for every kind of failure."""

from __future__ import annotations

import statistics
import time

import pyotp
import pytest

from domain.account import Account
from infrastructure.settings import Settings
from tests.accounts import API, PASSWORD, SettableClock, api, bearer, cheap, register_and_verify

STAFF_EMAIL = "gerente@ecovarejo.com.br"
STAFF_PASSWORD = "cerrado-ipê-amarelo-9"


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return cheap(settings)


def invite_and_enrol(client, system, role: str = "admin", scopes=()) -> dict:
    link = system.accounts.invite(STAFF_EMAIL, role, list(scopes), "system:test")
    token = link.split("token=")[1]
    body = {"token": token, "password": STAFF_PASSWORD}
    answer = client.post(f"{API}/auth/password-reset/confirm", json=body)
    assert answer.status_code == 200, answer.text
    enrolment = answer.json()["totp"]
    assert len(enrolment["recovery_codes"]) == 10
    assert enrolment["otpauth_uri"].startswith("otpauth://totp/")
    return enrolment


def staff_sign_in(client, code: str):
    body = {"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "code": code}
    return client.post(f"{API}/auth/token", json=body)


def test_invited_staff_enrol_totp_and_sign_in_with_a_code_used_once(fast: Settings) -> None:
    with api(fast) as (client, _, system):
        enrolment = invite_and_enrol(client, system)
        totp = pyotp.TOTP(enrolment["secret"])
        assert staff_sign_in(client, "").status_code == 401  # the password alone is not enough
        assert (
            staff_sign_in(client, "000000" if totp.now() != "000000" else "111111").status_code
            == 401
        )
        code = totp.now()
        signed = staff_sign_in(client, code)
        assert signed.status_code == 200, signed.text
        headers = bearer(signed.json()["access_token"])
        assert client.get(f"{API}/lgpd/requests", headers=headers).status_code == 200
        replay = staff_sign_in(client, code)
        assert replay.status_code == 401  # the same code again, within its window
        recovery = enrolment["recovery_codes"][0]
        assert staff_sign_in(client, recovery).status_code == 200
        assert staff_sign_in(client, recovery).status_code == 401  # once only


def test_an_invitation_link_works_once(fast: Settings) -> None:
    with api(fast) as (client, _, system):
        link = system.accounts.invite(STAFF_EMAIL, "auditor", ["auditor:pii"], "system:test")
        body = {"token": link.split("token=")[1], "password": STAFF_PASSWORD}
        assert client.post(f"{API}/auth/password-reset/confirm", json=body).status_code == 200
        assert client.post(f"{API}/auth/password-reset/confirm", json=body).status_code == 422


def test_role_changes_are_events_and_end_the_sessions(fast: Settings) -> None:
    with api(fast) as (client, _, system):
        enrolment = invite_and_enrol(client, system, "auditor")
        signed = staff_sign_in(client, pyotp.TOTP(enrolment["secret"]).now()).json()
        customer_id = system.accounts.index.find(STAFF_EMAIL)
        assert system.accounts.change_role(customer_id, "admin", [], "admin:boss")
        account = system.accounts.account(customer_id)
        assert account is not None
        assert account.role == "admin"
        stale = client.get(f"{API}/lgpd/requests", headers=bearer(signed["access_token"]))
        assert stale.status_code == 401


def test_an_admin_deactivates_an_account_and_its_tokens_stop_at_once(fast: Settings) -> None:
    with api(fast) as (client, _, system):
        enrolment = invite_and_enrol(client, system)
        admin = staff_sign_in(client, pyotp.TOTP(enrolment["secret"]).now()).json()
        register_and_verify(client, system, "bia@example.com")
        shopper = client.post(
            f"{API}/auth/token", json={"email": "bia@example.com", "password": PASSWORD}
        ).json()
        bia = system.accounts.index.find("bia@example.com")
        forbidden = client.post(
            f"{API}/auth/accounts/{bia}/deactivate",
            json={},
            headers=bearer(shopper["access_token"]),
        )
        assert forbidden.status_code == 403
        done = client.post(
            f"{API}/auth/accounts/{bia}/deactivate",
            json={"reason": "fraude"},
            headers=bearer(admin["access_token"]),
        )
        assert done.status_code == 200, done.text
        assert done.json() == {"customer_id": bia, "deactivated": True}
        headers = bearer(shopper["access_token"])
        assert client.get(f"{API}/customers/me/consents", headers=headers).status_code == 401
        refresh = {"refresh_token": shopper["refresh_token"]}
        assert client.post(f"{API}/auth/refresh", json=refresh).status_code == 401
        again = client.post(
            f"{API}/auth/token", json={"email": "bia@example.com", "password": PASSWORD}
        )
        assert again.status_code == 401


def test_repeated_failures_are_throttled_then_lock_the_account_until_the_lock_expires(
    fast: Settings,
) -> None:
    settings = fast.model_copy(update={"signin_lock_after": 5, "signin_lock_s": 900})
    with api(settings) as (client, _, system):
        clock = SettableClock()
        system.accounts.clock = clock
        register_and_verify(client, system, "caio@example.com")
        wrong = {"email": "caio@example.com", "password": "não-é-a-senha-certa"}
        statuses, delays = [], []
        for _ in range(5):
            answer = client.post(f"{API}/auth/token", json=wrong)
            while answer.status_code == 429:  # a growing delay: wait it out on the clock
                delays.append(int(answer.headers["retry-after"]))
                clock.advance(delays[-1])
                answer = client.post(f"{API}/auth/token", json=wrong)
            statuses.append(answer.status_code)
        assert statuses == [401] * 5
        assert delays == [1, 2]  # from the third failure in a row: 1 s, 2 s, 4 s ...
        delayed = client.post(f"{API}/auth/token", json=wrong)
        assert delayed.status_code == 429
        assert delayed.headers["retry-after"] == "4"
        right = {"email": "caio@example.com", "password": PASSWORD}
        clock.advance(61)
        locked = client.post(f"{API}/auth/token", json=right)
        assert locked.status_code == 401  # the right password, but locked
        account = system.accounts.account(system.accounts.index.find("caio@example.com"))
        assert account is not None
        assert account.locked_until is not None
        clock.advance(900)
        unlocked = client.post(f"{API}/auth/token", json=right)
        assert unlocked.status_code == 200, unlocked.text
        events = [
            type(e).__name__
            for e in system.accounts.app.repository.event_store.get(
                Account.create_id(account.customer_id)
            )
        ]
        assert events.count("SignInFailed") >= 5
        assert "Locked" in events
        assert "Unlocked" in events
        failed = next(
            e
            for e in system.accounts.app.repository.event_store.get(account.id)
            if type(e).__name__ == "SignInFailed"
        )
        assert failed.actor == f"customer:{account.customer_id}"
        assert failed.address.value == {"ip": "testclient"}


def test_unknown_email_wrong_password_and_locked_account_answer_alike_in_similar_time(
    settings: Settings,
) -> None:
    """Real argon2 cost (the default parameters): the timing gap between the three kinds of
    failure stays small beside the cost of a guess."""
    real = settings.model_copy(
        update={"signin_lock_after": 3, "signin_lock_s": 86400, "ratelimit_enabled": False}
    )
    with api(real) as (client, _, system):
        clock = SettableClock()
        system.accounts.clock = clock
        for email in ("dora@example.com", "edu@example.com"):
            register_and_verify(client, system, email)
        bad = "senha-errada-de-proposito"
        for _ in range(3):  # lock edu's account
            clock.advance(120)
            client.post(f"{API}/auth/token", json={"email": "edu@example.com", "password": bad})

        def timed(email: str, password: str) -> tuple[float, dict]:
            clock.advance(120)  # past any delay of the throttle
            start = time.perf_counter()
            answer = client.post(f"{API}/auth/token", json={"email": email, "password": password})
            elapsed = time.perf_counter() - start
            assert answer.status_code == 401, answer.text
            body = answer.json()
            return elapsed, {k: body[k] for k in ("type", "status", "detail", "code")}

        cases = {
            "unknown": ("ninguem@example.com", bad),
            "wrong": ("dora@example.com", bad),
            "locked": ("edu@example.com", PASSWORD),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        bodies = set()
        for _ in range(7):
            for name, (email, password) in cases.items():
                elapsed, body = timed(email, password)
                times[name].append(elapsed)
                bodies.add(tuple(sorted(body.items())))
        assert len(bodies) == 1  # the same answer, word for word
        medians = {name: statistics.median(values) for name, values in times.items()}
        slowest, fastest = max(medians.values()), min(medians.values())
        # The argon2 verification dominates all three; what differs (an event written for
        # a known account) is a few milliseconds on a shared, noisy machine.
        assert slowest - fastest < max(0.35 * fastest, 0.03), medians
