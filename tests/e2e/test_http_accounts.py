"""Shoppers' accounts over HTTP: register, verify, sign in, refresh (a reused refresh
token revokes its family), sign out, reset and change the password, bad input."""

from __future__ import annotations

import pytest

from infrastructure.settings import Settings
from tests.accounts import (
    API,
    PASSWORD,
    SettableClock,
    api,
    bearer,
    cheap,
    last_link,
    register_and_verify,
    sign_in,
)

EMAIL = "ana.souza@example.com.br"


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return cheap(settings)


def test_register_verify_sign_in_refresh_reuse_and_logout_work_end_to_end(fast: Settings) -> None:
    with api(fast) as (client, _, system):
        register_and_verify(client, system, EMAIL)
        tokens = sign_in(client, EMAIL)
        assert tokens["token_type"] == "Bearer"
        assert tokens["expires_in"] == 900
        me = client.get(f"{API}/customers/me/consents", headers=bearer(tokens["access_token"]))
        assert me.status_code == 200, me.text

        first = {"refresh_token": tokens["refresh_token"]}
        rotated = client.post(f"{API}/auth/refresh", json=first)
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()
        assert new["refresh_token"] != tokens["refresh_token"]

        # The old refresh token again: a reuse, so the whole family goes, the new one too.
        reused = client.post(f"{API}/auth/refresh", json=first)
        assert reused.status_code == 401
        assert reused.headers["content-type"] == "application/problem+json"
        after = client.post(f"{API}/auth/refresh", json={"refresh_token": new["refresh_token"]})
        assert after.status_code == 401
        # ... and the access tokens of that family stop at once.
        gone = client.get(f"{API}/customers/me/consents", headers=bearer(new["access_token"]))
        assert gone.status_code == 401

        # A new sign-in, then sign out: its access token stops working before it expires.
        fresh = sign_in(client, EMAIL)
        headers = bearer(fresh["access_token"])
        assert client.post(f"{API}/auth/logout", headers=headers).status_code == 200
        assert client.get(f"{API}/customers/me/consents", headers=headers).status_code == 401
        refreshed = client.post(
            f"{API}/auth/refresh", json={"refresh_token": fresh["refresh_token"]}
        )
        assert refreshed.status_code == 401


def test_the_token_endpoint_takes_the_oauth2_password_form(fast: Settings) -> None:
    with api(fast) as (client, _, system):
        register_and_verify(client, system, EMAIL)
        form = {"grant_type": "password", "username": EMAIL, "password": PASSWORD}
        answer = client.post(f"{API}/auth/token", data=form)
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store"
        refresh = {"grant_type": "refresh_token", "refresh_token": answer.json()["refresh_token"]}
        assert client.post(f"{API}/auth/token", data=refresh).status_code == 200


def test_an_unverified_account_cannot_sign_in_until_the_link_is_used(fast: Settings) -> None:
    with api(fast) as (client, _, system):
        client.post(f"{API}/auth/register", json={"email": EMAIL, "password": PASSWORD})
        refused = client.post(f"{API}/auth/token", json={"email": EMAIL, "password": PASSWORD})
        assert refused.status_code == 403
        token = last_link(system, "verify_email")
        assert client.post(f"{API}/auth/verify-email", json={"token": token}).status_code == 200
        used = client.post(f"{API}/auth/verify-email", json={"token": token})
        assert used.status_code == 422  # used once
        sign_in(client, EMAIL)


def test_registering_a_taken_email_answers_the_same_and_mails_its_owner(fast: Settings) -> None:
    with api(fast) as (client, _, system):
        register_and_verify(client, system, EMAIL)
        again = client.post(
            f"{API}/auth/register", json={"email": EMAIL, "password": "outra-senha-bem-longa"}
        )
        assert again.status_code == 202
        assert [m["kind"] for m in system.outbox.mails()][-1] == "account_exists"
        sign_in(client, EMAIL)  # the first password still holds


def test_password_reset_sets_a_new_password_once_and_signs_out_everywhere(fast: Settings) -> None:
    with api(fast) as (client, _, system):
        register_and_verify(client, system, EMAIL)
        before = sign_in(client, EMAIL)
        unknown = client.post(f"{API}/auth/password-reset", json={"email": "ninguem@example.com"})
        asked = client.post(f"{API}/auth/password-reset", json={"email": EMAIL})
        assert unknown.status_code == asked.status_code == 202
        assert unknown.json() == asked.json()
        token = last_link(system, "password_reset")
        new_password = "nova-senha-do-jardim-42"
        body = {"token": token, "password": new_password}
        done = client.post(f"{API}/auth/password-reset/confirm", json=body)
        assert done.status_code == 200, done.text
        assert client.post(f"{API}/auth/password-reset/confirm", json=body).status_code == 422
        stale = client.get(f"{API}/customers/me/consents", headers=bearer(before["access_token"]))
        assert stale.status_code == 401
        old = client.post(f"{API}/auth/token", json={"email": EMAIL, "password": PASSWORD})
        assert old.status_code == 401
        sign_in(client, EMAIL, new_password)


def test_changing_the_password_needs_the_current_one(fast: Settings) -> None:
    with api(fast) as (client, _, system):
        register_and_verify(client, system, EMAIL)
        headers = bearer(sign_in(client, EMAIL)["access_token"])
        wrong = {"current_password": "not-the-password", "new_password": "outra-senha-longa-77"}
        assert client.post(f"{API}/auth/password", json=wrong, headers=headers).status_code == 401
        right = {"current_password": PASSWORD, "new_password": "outra-senha-longa-77"}
        changed = client.post(f"{API}/auth/password", json=right, headers=headers)
        assert changed.status_code == 200, changed.text
        sign_in(client, EMAIL, "outra-senha-longa-77")


def test_wrong_current_passwords_are_throttled_and_the_right_one_then_waits_too(
    fast: Settings,
) -> None:
    with api(fast) as (client, _, system):
        clock = SettableClock()  # the throttle's time: no real waits, no race with it
        system.accounts.clock = clock
        register_and_verify(client, system, EMAIL)
        headers = bearer(sign_in(client, EMAIL)["access_token"])
        wrong = {"current_password": "not-the-password", "new_password": "outra-senha-longa-77"}
        answers = [
            client.post(f"{API}/auth/password", json=wrong, headers=headers) for _ in range(4)
        ]
        assert [a.status_code for a in answers] == [401, 401, 401, 429]
        assert answers[-1].headers["Retry-After"] == "1"
        # Throttled means not even looked at: the right password waits as well ...
        right = {"current_password": PASSWORD, "new_password": "outra-senha-longa-77"}
        held = client.post(f"{API}/auth/password", json=right, headers=headers)
        assert held.status_code == 429
        # ... and is taken once the delay has passed.
        clock.advance(1)
        changed = client.post(f"{API}/auth/password", json=right, headers=headers)
        assert changed.status_code == 200, changed.text
        sign_in(client, EMAIL, "outra-senha-longa-77")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "malformed e-mail"),
        ({"email": EMAIL, "password": "curta"}, "too short"),
        ({"email": EMAIL, "password": "x" * 257}, "too long"),
        ({"email": EMAIL, "password": "password123"}, "a common password"),
        ({"email": EMAIL, "password": "senha\u0007muito-longa"}, "a control character"),
    ],
)
def test_bad_registrations_are_422_and_store_nothing(fast: Settings, body: dict, why: str) -> None:
    with api(fast) as (client, container, system):
        answer = client.post(f"{API}/auth/register", json=body)
        assert answer.status_code == 422, why
        assert answer.headers["content-type"] == "application/problem+json"
        assert system.accounts.index.find(EMAIL) is None
        assert container.head_position() == 0
        assert system.outbox.mails() == []


@pytest.mark.parametrize(
    "token",
    ["forged.token-value", "eyJwIjoidmVyaWZ5In0.AAAA", "a" * 40, "x.y" * 10],
)
def test_forged_verification_and_reset_tokens_are_422(fast: Settings, token: str) -> None:
    with api(fast) as (client, _, _system):
        verify = client.post(f"{API}/auth/verify-email", json={"token": token})
        reset = client.post(
            f"{API}/auth/password-reset/confirm", json={"token": token, "password": PASSWORD}
        )
        assert verify.status_code == reset.status_code == 422


def test_unknown_refresh_tokens_and_malformed_token_requests_are_4xx(fast: Settings) -> None:
    with api(fast) as (client, _, _system):
        unknown = client.post(f"{API}/auth/refresh", json={"refresh_token": "z" * 43})
        assert unknown.status_code == 401
        for bad in (
            {"content": b"grant_type=password&grant_type=password", "ct": "form"},
            {"content": b'{"email": "a@b.co", "email": "c@d.co", "password": "x"}', "ct": "json"},
            {"content": b"\xff\xfe", "ct": "json"},
            {"content": b"grant_type=client_credentials", "ct": "form"},
            {"content": b"<xml/>", "ct": "xml"},
        ):
            kind = {
                "form": "application/x-www-form-urlencoded",
                "json": "application/json",
                "xml": "application/xml",
            }[bad["ct"]]
            answer = client.post(
                f"{API}/auth/token", content=bad["content"], headers={"content-type": kind}
            )
            assert answer.status_code == 422, (bad, answer.text)


def test_with_smtp_configured_account_mails_go_out_by_smtp_and_not_to_the_outbox(
    fast: Settings,
) -> None:
    from tests.smtp_server import SmtpReceiver

    with (
        SmtpReceiver() as smtp,
        api(fast.model_copy(update={"smtp_url": smtp.url})) as (
            client,
            _,
            system,
        ),
    ):
        answer = client.post(f"{API}/auth/register", json={"email": EMAIL, "password": PASSWORD})
        assert answer.status_code == 202
        assert system.outbox.mails() == []
        [sent] = smtp.messages
        assert sent.recipients == [EMAIL]
        assert sent.message["Subject"] == "Confirme seu e-mail"
        body = sent.message.get_payload(decode=True).decode()
        token = body.split("token=")[1].split()[0]
        assert client.post(f"{API}/auth/verify-email", json={"token": token}).status_code == 200


def test_token_answers_are_never_kept_for_idempotent_replay(fast: Settings) -> None:
    import redis

    with api(fast) as (client, container, system):
        register_and_verify(client, system, EMAIL)
        first = sign_in(client, EMAIL)
        headers = {**bearer(first["access_token"]), "Idempotency-Key": "sign-in-1"}
        body = {"email": EMAIL, "password": PASSWORD}
        one = client.post(f"{API}/auth/token", json=body, headers=headers).json()
        two = client.post(f"{API}/auth/token", json=body, headers=headers).json()
        assert one["refresh_token"] != two["refresh_token"]  # each a real sign-in
        store = redis.Redis.from_url(container.redis_url)
        for key in store.scan_iter():
            if store.type(key) == b"string":
                value = store.get(key) or b""
                assert one["refresh_token"].encode() not in value
                assert one["access_token"].encode() not in value


def test_sign_out_and_reuse_are_events_with_the_actor_and_the_client_address(
    fast: Settings,
) -> None:
    with api(fast) as (client, _, system):
        register_and_verify(client, system, EMAIL)
        first = sign_in(client, EMAIL)
        client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
        client.post(f"{API}/auth/refresh", json={"refresh_token": first["refresh_token"]})
        second = sign_in(client, EMAIL)
        client.post(f"{API}/auth/logout", headers=bearer(second["access_token"]))
        customer_id = system.accounts.index.find(EMAIL)
        account = system.accounts.account(customer_id)
        assert account is not None
        events = list(system.accounts.app.repository.event_store.get(account.id))
        revoked = [e for e in events if type(e).__name__ == "TokenFamilyRevoked"]
        assert [e.reason for e in revoked] == ["reuse", "logout"]
        for event in revoked:
            assert event.actor == f"customer:{customer_id}"
            assert event.address.value == {"ip": "testclient"}
        assert account.families == set()
