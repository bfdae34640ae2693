"""The Account aggregate, the password policy and one-time links, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from application.account_ports import InvalidLinkError, Links
from application.passwords import Argon2Parameters, Passwords, check_password, common_passwords
from domain.account import Account, InvalidPasswordError, InvalidRoleError, Secret
from domain.personal import PersonalData

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def account(role: str = "customer") -> Account:
    return Account(
        customer_id="c-1",
        email=PersonalData("c-1", {"email": "ana@example.com"}),
        role=role,
        scopes=[],
    )


def test_failures_in_a_row_lock_the_account_until_the_lock_expires() -> None:
    a = account()
    locks = [
        a.sign_in_failed("10.0.0.1", "password", 3, timedelta(minutes=15), AT) for _ in range(3)
    ]
    assert locks == [False, False, True]
    assert a.is_locked(AT + timedelta(minutes=14))
    assert not a.is_locked(AT + timedelta(minutes=15))
    a.signed_in("10.0.0.1", "fam-1")
    assert a.locked_until is None
    assert a.failures == 0
    assert [type(e).__name__ for e in a.collect_events()][-3:] == ["Locked", "Unlocked", "SignedIn"]


def test_a_sign_in_resets_the_failures_and_opens_a_family_that_revocation_closes() -> None:
    a = account()
    a.sign_in_failed("1.1.1.1", "password", 10, timedelta(minutes=15), AT)
    a.signed_in("1.1.1.1", "fam-1")
    a.signed_in("1.1.1.1", "fam-2")
    assert a.families == {"fam-1", "fam-2"}
    assert a.revoke_family("fam-1", "logout", "1.1.1.1")
    assert not a.revoke_family("fam-1", "logout")  # once
    assert a.deactivate("fraude") == ["fam-2"]
    assert not a.active
    assert a.deactivate("again") == []


def test_passwords_and_totp_secrets_are_secrets_and_each_password_set_moves_the_version() -> None:
    a = account("admin")
    a.set_password("$argon2id$...", "set")
    a.set_password("$argon2id$...2", "rehashed")
    assert a.password_version == 1  # a re-hash is the same password: links stay valid
    a.enrol_totp("JBSWY3DPEHPK3PXP", ["h1", "h2"])
    assert isinstance(a.password_hash, Secret)
    assert isinstance(a.totp_secret, Secret)
    assert a.totp_secret.shown() == {"hidden": True}
    a.use_recovery_code(0)
    assert a.recovery_codes == [None, "h2"]


def test_erasure_revokes_every_family_and_forgets_the_secrets() -> None:
    a = account()
    a.set_password("$argon2id$...", "set")
    a.signed_in("1.1.1.1", "fam-1")
    assert a.erase("customer:c-1") == ["fam-1"]
    assert a.erased
    assert a.password_hash is None
    assert a.history == []
    assert a.erase("customer:c-1") == []


def test_roles_and_scopes_are_checked() -> None:
    a = account("auditor")
    assert a.change_role("auditor", ["auditor:pii"])
    with pytest.raises(InvalidRoleError):
        a.change_role("admin", ["auditor:pii"])
    with pytest.raises(InvalidRoleError):
        a.change_role("root", [])


@pytest.mark.parametrize(
    "password",
    [
        "curta",
        "x" * 257,
        "senha\x00muito-longa",
        "senha\u202emuito-longa",
        "password123",
        "Qwertyuiop",
    ],
)
def test_the_policy_refuses_short_long_control_and_common_passwords(password: str) -> None:
    with pytest.raises(InvalidPasswordError):
        check_password(password, 10)


def test_the_shipped_list_has_a_few_thousand_common_passwords() -> None:
    listed = common_passwords()
    assert 5000 < len(listed) < 20000
    assert "password123" in listed
    assert check_password("verde-bambu-2026-sol", 10) == "verde-bambu-2026-sol"


def test_argon2_verifies_and_notices_changed_parameters() -> None:
    cheap = Passwords(Argon2Parameters(1, 8192, 1))
    hashed = cheap.hash("verde-bambu-2026-sol")
    assert hashed.startswith("$argon2id$")
    assert cheap.verify(hashed, "verde-bambu-2026-sol")
    assert not cheap.verify(hashed, "outra-coisa-qualquer")
    assert not cheap.verify(None, "verde-bambu-2026-sol")  # the dummy hash, never a match
    assert Passwords(Argon2Parameters(2, 8192, 1)).needs_rehash(hashed)


def test_links_are_bound_to_their_purpose_and_expire() -> None:
    links = Links(b"k" * 32)
    token = links.make("reset", "c-1", 3, expires_at=1000)
    assert links.read(token, "reset", now=999) == ("c-1", 3)
    with pytest.raises(InvalidLinkError, match="expired"):
        links.read(token, "reset", now=1001)
    with pytest.raises(InvalidLinkError):
        links.read(token, "verify", now=999)
    with pytest.raises(InvalidLinkError):
        Links(b"x" * 32).read(token, "reset", now=999)
    head, _, tail = token.partition(".")
    with pytest.raises(InvalidLinkError):
        links.read(head + "." + tail[:-2] + "AA", "reset", now=999)
