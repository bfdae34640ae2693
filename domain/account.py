"""An account: how a customer or a staff member signs in.

The account id derives from the customer id (the tokens' `sub`). Everything personal in its
events (the e-mail, the password hash, the TOTP secret, the client address of each sign-in)
is `PersonalData`, encrypted with the subject's own key: erasing the subject shreds them all.
Look-up by e-mail goes through a keyed blind index kept outside the events (it must be
deletable), never through a plaintext e-mail.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError
from domain.personal import PersonalData

ACCOUNT_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/account")
ROLES = ("customer", "admin", "auditor")
STAFF_ROLES = ("admin", "auditor")
STAFF_SCOPES = ("auditor:pii",)
MAX_PASSWORD_LENGTH = 256  # argon2 hashes anything; a megabyte "password" is an attack
MAX_HISTORY = 50  # sign-ins kept in the aggregate's state for the LGPD export


class Secret(PersonalData):
    """Personal data that no view shows, whatever the viewer's scope (a password hash, a
    TOTP secret): encrypted under the subject's key like the rest, shown as hidden."""

    def shown(self) -> dict[str, Any]:
        return {"erased": True} if self.value is None else {"hidden": True}


class AccountError(DomainError):
    """Base of the errors an Account raises."""


class InvalidPasswordError(InvalidInputError):
    """A password the policy refuses (too short, too long, control characters, common)."""


class InvalidRoleError(InvalidInputError):
    """A role or scope that is not one of ROLES / STAFF_SCOPES."""


class AccountInactiveError(AccountError):
    """The account was deactivated or erased."""


def check_password_text(password: str, min_length: int) -> str:
    """Length and characters; the common-password list is checked by the application."""
    if len(password) < min_length:
        raise InvalidPasswordError(f"a password has at least {min_length} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidPasswordError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    if any(unicodedata.category(c) in ("Cc", "Cs", "Cf") for c in password):
        raise InvalidPasswordError("a password cannot contain control characters")
    return password


def check_role(role: str, scopes: list[str]) -> None:
    if role not in ROLES:
        raise InvalidRoleError(f"role must be one of {', '.join(ROLES)}")
    unknown = [s for s in scopes if s not in STAFF_SCOPES]
    if unknown or (scopes and role != "auditor"):
        raise InvalidRoleError(f"scopes must be among {', '.join(STAFF_SCOPES)}, for auditors")


class Account(EcoAggregate):
    class Registered(EcoAggregate.Created):
        customer_id: str
        email: PersonalData
        role: str
        scopes: list[str]

    class EmailVerified(EcoAggregate.Event):
        def apply(self, aggregate: Any) -> None:
            aggregate.verified = True

    class PasswordSet(EcoAggregate.Event):
        """`reason`: set (first, or by an invitation), changed, reset, rehashed."""

        password_hash: Secret
        reason: str

    class SignedIn(EcoAggregate.Event):
        address: PersonalData
        family: str
        totp_step: int

        def apply(self, aggregate: Any) -> None:
            aggregate.failures = 0
            aggregate.families.add(self.family)
            aggregate.last_totp_step = max(aggregate.last_totp_step, self.totp_step)
            aggregate.remember("signed_in", self)

    class SignInFailed(EcoAggregate.Event):
        address: PersonalData
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.failures += 1
            aggregate.remember("sign_in_failed", self)

    class Locked(EcoAggregate.Event):
        until: datetime
        address: PersonalData

    class Unlocked(EcoAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.locked_until, aggregate.failures = None, 0

    class PasswordResetRequested(EcoAggregate.Event):
        address: PersonalData

    class TokenFamilyRevoked(EcoAggregate.Event):
        family: str
        reason: str  # logout, reuse, deactivated, erased, password-reset/-changed, role-changed
        address: PersonalData | None  # the client's, when a client caused it

    class TotpEnrolled(EcoAggregate.Event):
        secret: Secret
        recovery_codes: list[str]  # SHA-256 of each code: high-entropy, so a fast hash suffices

        def apply(self, aggregate: Any) -> None:
            aggregate.totp_secret = self.secret
            aggregate.recovery_codes = list(self.recovery_codes)

    class RecoveryCodeUsed(EcoAggregate.Event):
        index: int

        def apply(self, aggregate: Any) -> None:
            aggregate.recovery_codes[self.index] = None

    class RoleChanged(EcoAggregate.Event):
        role: str
        scopes: list[str]

        def apply(self, aggregate: Any) -> None:
            aggregate.role, aggregate.scopes = self.role, list(self.scopes)

    class Deactivated(EcoAggregate.Event):
        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.deactivated = True

    class Erased(EcoAggregate.Event):
        requested_by: str

        def apply(self, aggregate: Any) -> None:
            aggregate.erased = True
            aggregate.totp_secret = aggregate.password_hash = None
            aggregate.history = []

    @staticmethod
    def create_id(customer_id: str) -> UUID:
        return uuid5(ACCOUNT_NAMESPACE, customer_id)

    @event(Registered)
    def __init__(self, customer_id: str, email: PersonalData, role: str, scopes: list[str]):
        self.customer_id = customer_id
        self.email = email
        self.role = role
        self.scopes = list(scopes)
        self.verified = False
        self.password_hash: Secret | None = None
        self.password_version = 0  # one-time reset/invite links name the version they change
        self.failures = 0  # consecutive
        self.locked_until: datetime | None = None
        self.totp_secret: Secret | None = None
        self.last_totp_step = 0
        self.recovery_codes: list[str | None] = []
        self.families: set[str] = set()
        self.history: list[dict[str, Any]] = []
        self.deactivated = False
        self.erased = False

    # Guards --------------------------------------------------------------------------------
    @property
    def staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def active(self) -> bool:
        return not (self.deactivated or self.erased)

    def check_active(self) -> None:
        if not self.active:
            raise AccountInactiveError("this account is no longer active")

    def is_locked(self, at: datetime) -> bool:
        return self.locked_until is not None and at < self.locked_until

    # Commands ------------------------------------------------------------------------------
    def verify_email(self) -> bool:
        self.check_active()
        if self.verified:
            return False
        self.trigger_event(self.EmailVerified)
        return True

    def set_password(self, password_hash: str, reason: str) -> None:
        self.check_active()
        self._password_set(
            password_hash=Secret(self.customer_id, {"hash": password_hash}), reason=reason
        )

    def signed_in(self, address: str, family: str, totp_step: int = 0) -> None:
        if self.locked_until is not None:
            self.trigger_event(self.Unlocked, reason="lock expired")
        self.trigger_event(
            self.SignedIn, address=self._address(address), family=family, totp_step=totp_step
        )

    def sign_in_failed(
        self, address: str, reason: str, lock_after: int, lock_for: timedelta, at: datetime
    ) -> bool:
        """Record a failure; lock when there were `lock_after` in a row. True if locked now."""
        if not self.active:
            return False
        if self.locked_until is not None and at >= self.locked_until:
            self.trigger_event(self.Unlocked, reason="lock expired")
        self.trigger_event(self.SignInFailed, address=self._address(address), reason=reason)
        if self.failures >= lock_after and not self.is_locked(at):
            self._locked(until=at + lock_for, address=self._address(address))
            return True
        return False

    def unlock(self, reason: str) -> bool:
        if self.locked_until is None:
            return False
        self.trigger_event(self.Unlocked, reason=reason)
        return True

    def reset_requested(self, address: str) -> None:
        self.trigger_event(self.PasswordResetRequested, address=self._address(address))

    def revoke_family(self, family: str, reason: str, address: str = "") -> bool:
        if family not in self.families:
            return False
        where = self._address(address) if address else None
        self._family_revoked(family=family, reason=reason, address=where)
        return True

    def revoke_all(self, reason: str) -> list[str]:
        """Every family, by the actor alone (no client address: an erasure must not
        write personal data under a key it has just destroyed)."""
        families = sorted(self.families)
        for family in families:
            self._family_revoked(family=family, reason=reason, address=None)
        return families

    def enrol_totp(self, secret: str, recovery_hashes: list[str]) -> None:
        self.check_active()
        self.trigger_event(
            self.TotpEnrolled,
            secret=Secret(self.customer_id, {"secret": secret}),
            recovery_codes=recovery_hashes,
        )

    def use_recovery_code(self, index: int) -> None:
        self.trigger_event(self.RecoveryCodeUsed, index=index)

    def change_role(self, role: str, scopes: list[str]) -> bool:
        self.check_active()
        check_role(role, scopes)
        if role == self.role and sorted(scopes) == sorted(self.scopes):
            return False
        self.trigger_event(self.RoleChanged, role=role, scopes=scopes)
        return True

    def deactivate(self, reason: str) -> list[str]:
        """Deactivate and revoke every refresh family; the families revoked."""
        if not self.active:
            return []
        families = self.revoke_all("deactivated")
        self.trigger_event(self.Deactivated, reason=reason)
        return families

    def erase(self, requested_by: str) -> list[str]:
        if self.erased:
            return []
        families = self.revoke_all("erased")
        self.trigger_event(self.Erased, requested_by=requested_by)
        return families

    def _address(self, address: str) -> PersonalData:
        return PersonalData(self.customer_id, {"ip": address or "unknown"})

    # Applying events -----------------------------------------------------------------------
    @event(PasswordSet)
    def _password_set(self, password_hash: Secret, reason: str) -> None:
        self.password_hash = password_hash
        if reason != "rehashed":
            self.password_version += 1

    @event(Locked)
    def _locked(self, until: datetime, address: PersonalData) -> None:
        self.locked_until = until

    @event(TokenFamilyRevoked)
    def _family_revoked(self, family: str, reason: str, address: PersonalData | None) -> None:
        self.families.discard(family)

    def remember(self, what: str, happened: Any) -> None:
        """The latest sign-ins and failures, for the data subject's export."""
        entry = {"what": what, "at": happened.timestamp, "address": happened.address}
        self.history = [*self.history, entry][-MAX_HISTORY:]
