"""Accounts: register, verify the e-mail, set and reset passwords, invite staff, erase.

Each command is get -> change -> save on the `Account` aggregate, in an event context
carrying the caller (actor) and this service's clock (replaceable in tests). Signing in and
the token flows are in application/signin.py, built on this.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from uuid import uuid4

import pyotp

from application.account_ports import EmailIndex, InvalidLinkError, Links, Mailer, TokenStore
from application.event_store import EventStore
from application.passwords import Passwords, check_password
from domain.account import Account, check_role
from domain.base import (
    Clock,
    DomainError,
    NotFoundError,
    SystemClock,
    current_metadata,
    event_context,
)
from domain.customer import InvalidProfileError, check_email
from domain.personal import PersonalData

RECOVERY_CODES = 10
LINK_TTL_S = {"verify": 24 * 3600, "reset": 3600, "invite": 72 * 3600}


@dataclass(frozen=True)
class AccountPolicy:
    access_ttl_s: int = 900
    refresh_ttl_s: int = 30 * 86400
    password_min_length: int = 10
    lock_after: int = 10
    lock_s: int = 900
    issuer: str = "ecovarejo"
    audience: str | None = None
    public_url: str = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    otpauth_uri: str
    recovery_codes: list[str]


class InviteRefusedError(DomainError):
    """An invitation that cannot be made (not a staff role, or the e-mail is taken)."""


def recovery_hash(code: str) -> str:
    return hashlib.sha256(code.strip().lower().encode()).hexdigest()


class Accounts:
    def __init__(
        self,
        app: EventStore,
        *,
        index: EmailIndex,
        tokens: TokenStore,
        links: Links,
        mailer: Mailer,
        passwords: Passwords,
        policy: AccountPolicy,
        clock: Clock | None = None,
    ):
        self.app = app
        self.index = index
        self.tokens = tokens
        self.links = links
        self.mailer = mailer
        self.passwords = passwords
        self.policy = policy
        self.clock: Clock = clock or SystemClock()

    # Plumbing ------------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock.now().timestamp()

    @contextmanager
    def acting(self, actor: str | None = None) -> Iterator[None]:
        meta = current_metadata()
        with event_context(replace(meta, actor=actor or meta.actor), self.clock):
            yield

    def account(self, customer_id: str) -> Account | None:
        return self.app.load(Account, Account.create_id(customer_id))

    def by_email(self, email: str) -> Account | None:
        customer_id = self.index.find(email)
        account = self.account(customer_id) if customer_id else None
        if customer_id and account is not None and account.email.value is None:
            # The subject's key is gone (a backup from before the erasure was restored and
            # the erasure ledger applied again): the index entry goes too.
            self.index.release(customer_id)
            return None
        return account

    def email_of(self, customer_id: str) -> str | None:
        account = self.account(customer_id)
        value = account.email.value if account is not None and account.active else None
        return value.get("email") if value else None

    def password_hash(self, account: Account) -> str | None:
        held = account.password_hash
        return held.value.get("hash") if held is not None and held.value else None

    def _link(self, purpose: str, account: Account) -> str:
        expires = self.now() + LINK_TTL_S[purpose]
        return self.links.make(purpose, account.customer_id, account.password_version, expires)

    def _mail(self, account: Account, kind: str, subject: str, body: str) -> None:
        self.mailer.send(account.customer_id, kind, subject, body, f"{kind}:{uuid4().hex}")

    def _from_link(self, token: str, purpose: str) -> Account:
        sub, version = self.links.read(token, purpose, self.now())
        account = self.account(sub)
        if account is None or not account.active or account.password_version != version:
            raise InvalidLinkError("this link was used already or is no longer valid")
        return account

    # Shoppers ------------------------------------------------------------------------------
    def register(self, email: str, password: str) -> None:
        """Answers the same whether or not the e-mail has an account: the owner of an
        address already registered gets a mail saying so instead."""
        email = check_email(email)
        check_password(password, self.policy.password_min_length)
        # argon2 on every path: the time would otherwise tell whether the address is known
        password_hash = self.passwords.hash(password)
        existing = self.by_email(email)
        if existing is not None:
            if existing.active:
                self._mail(
                    existing,
                    "account_exists",
                    "Você já tem uma conta",
                    (
                        "Alguém tentou criar uma conta com este e-mail. Se foi você, entre ou "
                        f"redefina a senha em {self.policy.public_url}."
                    ),
                )
            return
        customer_id = str(uuid4())
        if not self.index.claim(email, customer_id):
            return  # registered concurrently by someone else: the same answer
        with self.acting(f"customer:{customer_id}"):
            account = Account(
                customer_id=customer_id,
                email=PersonalData(customer_id, {"email": email}),
                role="customer",
                scopes=[],
            )
            account.set_password(password_hash, "set")
        self._save_claimed(account)
        self.send_verification(account)

    def _save_claimed(self, account: Account) -> None:
        """Save a new account whose e-mail was just claimed; a failed save gives the claim
        back, or the address would point at no account for ever."""
        try:
            self.app.save(account)
        except BaseException:
            self.index.release(account.customer_id)
            raise

    def send_verification(self, account: Account) -> None:
        link = self._link("verify", account)
        self._mail(
            account,
            "verify_email",
            "Confirme seu e-mail",
            (
                f"Para confirmar seu e-mail, envie este código: {link}\n"
                f"ou abra {self.policy.public_url}/verify-email?token={link}"
            ),
        )

    def verify_email(self, token: str) -> str:
        sub, _ = self.links.read(token, "verify", self.now())
        account = self.account(sub)
        if account is None or not account.active or account.verified:
            raise InvalidLinkError("this link was used already or is no longer valid")
        with self.acting(f"{account.role}:{sub}"):
            account.verify_email()
        self.app.save(account)
        return sub

    def request_reset(self, email: str, address: str) -> None:
        """Always the same answer; a mail only to an existing, active account."""
        try:
            email = check_email(email)
        except InvalidProfileError:
            return
        account = self.by_email(email)
        if account is None or not account.active:
            return
        with self.acting("anonymous"):
            account.reset_requested(address)
        self.app.save(account)
        link = self._link("reset", account)
        self._mail(
            account,
            "password_reset",
            "Redefinição de senha",
            (
                f"Para escolher uma nova senha, use este código em até 1 hora: {link}\n"
                f"ou abra {self.policy.public_url}/reset-password?token={link}\n"
                "Se não foi você, ignore esta mensagem."
            ),
        )

    def confirm_reset(self, token: str, new_password: str) -> TotpEnrolment | None:
        """Set the password from a reset or invitation link (used once: the password
        version moves on). Staff without a second factor enrol TOTP now: its secret and
        recovery codes are in the answer, shown once."""
        check_password(new_password, self.policy.password_min_length)
        try:
            account = self._from_link(token, "reset")
            reason = "reset"
        except InvalidLinkError:
            account = self._from_link(token, "invite")
            reason = "set"
        password_hash = self.passwords.hash(new_password)
        enrolment = None
        with self.acting(f"{account.role}:{account.customer_id}"):
            account.set_password(password_hash, reason)
            if not account.verified:
                account.verify_email()  # the link reached the mailbox
            account.unlock("password reset")
            families = account.revoke_all("password-reset")
            if account.staff and account.totp_secret is None:
                enrolment = self._enrol(account)
        self.app.save(account)
        self._revoke(account.customer_id, families, subject=False)
        return enrolment

    def change_password(self, customer_id: str, current: str, new: str) -> None:
        from application.signin import InvalidCredentialsError

        account = self.account(customer_id)
        if account is None:  # a token of the external IdP, or a development token
            raise NotFoundError("this token's subject has no account with a password here")
        if not account.active:
            raise InvalidCredentialsError("the current password is not right")
        if not self.passwords.verify(self.password_hash(account), current):
            raise InvalidCredentialsError("the current password is not right")
        check_password(new, self.policy.password_min_length)
        password_hash = self.passwords.hash(new)
        with self.acting(f"{account.role}:{customer_id}"):
            account.set_password(password_hash, "changed")
            families = account.revoke_all("password-changed")
        self.app.save(account)
        self._revoke(customer_id, families, subject=False)

    def _revoke(self, customer_id: str, families: list[str], *, subject: bool = True) -> None:
        """Refresh families and their access tokens at once; with `subject` (the account
        can no longer sign in: deactivated, erased), every access token issued until now,
        whatever a sign-in racing with this did."""
        for family in families:
            self.tokens.revoke_family(family, self.policy.refresh_ttl_s)
        if subject:
            self.tokens.revoke_subject(customer_id, self.now(), self.policy.access_ttl_s + 60)

    # Staff ---------------------------------------------------------------------------------
    def invite(self, email: str, role: str, scopes: list[str], by: str) -> str:
        """A staff account and its one-time set-password link (mailed, and returned for
        the CLI to print)."""
        email = check_email(email)
        check_role(role, scopes)
        if role == "customer":
            raise InviteRefusedError("invitations are for staff: admin or auditor")
        account = self.by_email(email)
        if account is None:
            customer_id = f"staff-{uuid4()}"
            if not self.index.claim(email, customer_id):
                raise InviteRefusedError("this e-mail has an account already")
            with self.acting(by):
                account = Account(
                    customer_id=customer_id,
                    email=PersonalData(customer_id, {"email": email}),
                    role=role,
                    scopes=scopes,
                )
            self._save_claimed(account)
        elif not account.staff or account.password_hash is not None:
            raise InviteRefusedError("this e-mail has an account already")
        else:  # invited before and not yet accepted: a new link, with this role
            with self.acting(by):
                if account.change_role(role, scopes):
                    self.app.save(account)
        link = self._link("invite", account)
        url = f"{self.policy.public_url}/console/set-password?token={link}"
        self._mail(
            account,
            "staff_invitation",
            "Convite para o console EcoVarejo",
            (f"Você foi convidado como {role}. Escolha sua senha em até 72 horas: {url}"),
        )
        return url

    def _enrol(self, account: Account) -> TotpEnrolment:
        secret = pyotp.random_base32()
        codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
        account.enrol_totp(secret, [recovery_hash(c) for c in codes])
        label = (account.email.value or {}).get("email", account.customer_id)
        uri = pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name="EcoVarejo")
        return TotpEnrolment(secret, uri, codes)

    def change_role(self, customer_id: str, role: str, scopes: list[str], by: str) -> bool:
        account = self._existing(customer_id)
        with self.acting(by):
            changed = account.change_role(role, scopes)
            families = account.revoke_all("role-changed") if changed else []
        if changed:  # tokens carry the role: the old ones end
            self.app.save(account)
            self._revoke(customer_id, families, subject=False)
        return changed

    def deactivate(self, customer_id: str, by: str, reason: str = "") -> bool:
        account = self._existing(customer_id)
        if not account.active:
            return False
        with self.acting(by):
            families = account.deactivate(reason or "deactivated by an admin")
        self.app.save(account)
        self._revoke(customer_id, families)
        return True

    def _existing(self, customer_id: str) -> Account:
        account = self.account(customer_id)
        if account is None:
            raise NotFoundError(f"no account {customer_id}")
        return account

    # LGPD ----------------------------------------------------------------------------------
    def erase(self, customer_id: str, requested_by: str) -> bool:
        """End the account (after the subject's key was destroyed): every family and
        access token revoked, the blind index entry deleted."""
        self.index.release(customer_id)
        self.mailer.purge_subject(customer_id)
        account = self.account(customer_id)
        if account is None:
            return False
        with self.acting(requested_by):
            families = account.erase(requested_by)
        self.app.save(account)
        self._revoke(customer_id, families)
        return True

    def export(self, customer_id: str) -> dict[str, Any] | None:
        account = self.account(customer_id)
        if account is None:
            return None
        return {
            "email": account.email.shown(),
            "role": account.role,
            "email_verified": account.verified,
            "active": account.active,
            "second_factor": account.totp_secret is not None,
            "sign_in_history": [
                {"what": h["what"], "at": h["at"].isoformat(), "address": h["address"].shown()}
                for h in account.history
            ],
        }
