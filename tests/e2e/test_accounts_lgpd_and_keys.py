"""Accounts and LGPD (export, erasure ends the account), nothing of an account in plaintext
at rest, and our signing keys: JWKS, rotation, retired keys, HS256 outside production."""

from __future__ import annotations

import jwt
import psycopg
import pyotp
import pytest
import redis

from api.http.app import _verifier
from api.http.auth import AuthenticationError, issue_token
from infrastructure.settings import Settings
from tests.accounts import API, PASSWORD, api, bearer, cheap, register_and_verify, sign_in
from tests.conftest import JWT_SECRET, Servers
from tests.integration.test_envelope_encryption import files_containing, pg_dump

EMAIL = "fabiana.lima@example.com.br"
STAFF_EMAIL = "auditora@ecovarejo.com.br"
STAFF_PASSWORD = "mata-atlântica-sabiá-7"


@pytest.fixture
def fast(settings: Settings) -> Settings:
    return cheap(settings)


def test_the_export_holds_the_account_and_erasure_ends_it(fast: Settings) -> None:
    with api(fast) as (client, _, system):
        register_and_verify(client, system, EMAIL)
        tokens = sign_in(client, EMAIL)
        customer_id = system.accounts.index.find(EMAIL)
        headers = bearer(tokens["access_token"])
        exported = client.get(f"{API}/customers/{customer_id}/personal-data", headers=headers)
        assert exported.status_code == 200, exported.text
        account = exported.json()["account"]
        assert account["email"] == {"email": EMAIL}
        assert account["email_verified"] is True
        assert [h["what"] for h in account["sign_in_history"]] == ["signed_in"]
        assert account["sign_in_history"][0]["address"] == {"ip": "testclient"}
        assert "consents" in exported.json()

        erased = client.delete(f"{API}/customers/{customer_id}/personal-data", headers=headers)
        assert erased.status_code == 202, erased.text
        # No token of the subject works any more, and the e-mail leads nowhere.
        assert client.get(f"{API}/customers/me/consents", headers=headers).status_code == 401
        refresh = {"refresh_token": tokens["refresh_token"]}
        assert client.post(f"{API}/auth/refresh", json=refresh).status_code == 401
        again = client.post(f"{API}/auth/token", json={"email": EMAIL, "password": PASSWORD})
        assert again.status_code == 401
        assert system.accounts.index.find(EMAIL) is None
        left = system.accounts.account(customer_id)
        assert left is not None
        assert left.erased
        assert left.email.value is None  # the key is shredded: the address reads as erased
        assert left.password_hash is None
        assert system.outbox.mails() == []  # its mails are gone from the outbox too
        # The address can register again, as a new account.
        assert (
            client.post(
                f"{API}/auth/register", json={"email": EMAIL, "password": PASSWORD}
            ).status_code
            == 202
        )
        assert system.accounts.index.find(EMAIL) not in (None, customer_id)


def test_nothing_of_an_account_is_plaintext_in_the_database_redis_or_the_data_dir(
    fast: Settings, servers: Servers, tmp_path
) -> None:
    with api(fast) as (client, container, system):
        register_and_verify(client, system, EMAIL)
        sign_in(client, EMAIL)
        link = system.accounts.invite(STAFF_EMAIL, "auditor", ["auditor:pii"], "system:test")
        body = {"token": link.split("token=")[1], "password": STAFF_PASSWORD}
        enrolment = client.post(f"{API}/auth/password-reset/confirm", json=body).json()["totp"]
        code = pyotp.TOTP(enrolment["secret"]).now()
        staff = {"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "code": code}
        assert client.post(f"{API}/auth/token", json=staff).status_code == 200
        client.post(f"{API}/auth/token", json={"email": EMAIL, "password": "errada-errada-1"})

        dump = pg_dump(container.database_url, tmp_path / "dump.sql")
        store = redis.Redis.from_url(container.redis_url)
        store.save()
        with psycopg.connect(servers.database_url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
            row = conn.execute("SHOW data_directory").fetchone()
        assert row is not None
        roots = [row[0], str(store.config_get("dir")["dir"]), str(container.settings.data_dir)]
        assert b"ecovarejo_account_emails" in dump  # positive control: the index is dumped
        secrets = [EMAIL, PASSWORD, STAFF_EMAIL, STAFF_PASSWORD, enrolment["secret"]]
        secrets += enrolment["recovery_codes"]
        for value in secrets:
            needle = value.encode()
            assert needle not in dump, value
            for root in roots:
                from pathlib import Path

                assert files_containing(Path(root), needle) == [], (value, root)
            for key in store.scan_iter():
                assert needle not in key
                if store.type(key) == b"string":
                    assert needle not in (store.get(key) or b""), (value, key)


def test_jwks_publishes_our_keys_and_rotation_keeps_the_old_one_until_its_tokens_expire(
    fast: Settings,
) -> None:
    with api(fast) as (client, container, system):
        register_and_verify(client, system, EMAIL)
        old = sign_in(client, EMAIL)["access_token"]
        old_kid = jwt.get_unverified_header(old)["kid"]
        document = client.get("/.well-known/jwks.json").json()
        assert [k["kid"] for k in document["keys"]] == [old_kid]
        assert document["keys"][0]["kty"] == "OKP"
        assert document["keys"][0]["crv"] == "Ed25519"

        outcome = system.signing_keys.rotate(system.accounts.policy.access_ttl_s)
        new = sign_in(client, EMAIL)["access_token"]
        assert jwt.get_unverified_header(new)["kid"] == outcome["current"] != old_kid
        kids = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
        assert kids == {old_kid, outcome["current"]}
        for token in (old, new):  # the old key is still honoured
            assert (
                client.get(f"{API}/customers/me/consents", headers=bearer(token)).status_code == 200
            )
        # Its last token has expired: the key goes (here, moved to the past by hand).
        with psycopg.connect(container.database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE ecovarejo_signing_keys SET verify_until = now() - interval '1 second' "
                "WHERE kid = %s",
                (old_kid,),
            )
        system.signing_keys.refresh()
        assert client.get(f"{API}/customers/me/consents", headers=bearer(old)).status_code == 401
        assert client.get(f"{API}/customers/me/consents", headers=bearer(new)).status_code == 200
        third = system.signing_keys.rotate(system.accounts.policy.access_ttl_s)
        assert third["removed"] == [old_kid]
        assert system.signing_keys.keys.existing_key(f"signing-key:{old_kid}") is None


def test_a_token_signed_with_an_unknown_ed25519_key_is_refused(fast: Settings) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    with api(fast) as (client, _, system):
        register_and_verify(client, system, EMAIL)
        genuine = jwt.decode(
            sign_in(client, EMAIL)["access_token"], options={"verify_signature": False}
        )
        kid = system.signing_keys.current()[0]
        forged = jwt.encode(genuine, Ed25519PrivateKey.generate(), "EdDSA", headers={"kid": kid})
        assert client.get(f"{API}/customers/me/consents", headers=bearer(forged)).status_code == 401
        stranger = jwt.encode(genuine, Ed25519PrivateKey.generate(), "EdDSA", headers={"kid": "x"})
        assert (
            client.get(f"{API}/customers/me/consents", headers=bearer(stranger)).status_code == 401
        )


def test_hs256_tokens_are_refused_in_production(fast: Settings) -> None:
    development = _verifier(fast)
    token = issue_token(JWT_SECRET, "cliente-1", "customer", 600)
    assert development.verify(token).sub == "cliente-1"
    production = _verifier(fast.model_copy(update={"production": True}))
    with pytest.raises(AuthenticationError, match="HS256"):
        production.verify(token)


def test_no_view_shows_a_password_hash_or_a_totp_secret_even_to_a_pii_auditor(
    fast: Settings,
) -> None:
    with api(fast) as (client, _, system):
        link = system.accounts.invite(STAFF_EMAIL, "admin", [], "system:test")
        body = {"token": link.split("token=")[1], "password": STAFF_PASSWORD}
        secret = client.post(f"{API}/auth/password-reset/confirm", json=body).json()["totp"]
        account = system.accounts.account(system.accounts.index.find(STAFF_EMAIL))
        assert account is not None
        auditor = issue_token(JWT_SECRET, "auditor-1", "auditor", 600, ("auditor:pii",))
        events = client.get(f"{API}/audit/aggregates/{account.id}/events", headers=bearer(auditor))
        assert events.status_code == 200, events.text
        text = events.text
        assert STAFF_EMAIL in text  # positive control: personal data shown with the scope
        assert "$argon2id$" not in text
        assert secret["secret"] not in text
        assert '"hidden": true' in text.replace('":true', '": true')


def test_an_index_entry_whose_subject_key_is_gone_is_dropped_on_the_next_look_up(
    fast: Settings,
) -> None:
    """As after restoring a backup from before an erasure (the ledger destroys the key
    again, but the backup brought the index row back)."""
    with api(fast) as (client, _, system):
        register_and_verify(client, system, EMAIL)
        customer_id = system.accounts.index.find(EMAIL)
        assert customer_id is not None
        system.accounts.app.keys.destroy(customer_id)  # type: ignore[attr-defined]
        refused = client.post(f"{API}/auth/token", json={"email": EMAIL, "password": PASSWORD})
        assert refused.status_code == 401
        assert system.accounts.index.find(EMAIL) is None
        register_and_verify(client, system, EMAIL)
        assert system.accounts.index.find(EMAIL) not in (None, customer_id)
