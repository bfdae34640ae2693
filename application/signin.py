"""Signing in, refreshing and signing out.

- The same answer (`InvalidCredentialsError`, 401) and about the same time for an unknown
  e-mail, a wrong password, a locked, deactivated or erased account: argon2 runs once in
  every case (on a dummy hash when there is no account).
- Failures are throttled per e-mail (by its blind index, so unknown e-mails too) and per
  client address, with growing delays (`ThrottledError`, 429); `lock_after` failures in a
  row lock the account for `lock_s` (events `SignInFailed`, `Locked`, `Unlocked`).
- Refresh tokens rotate on every use; a token used twice revokes its whole family
  (RFC 9700 §4.14.2), as does signing out.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pyotp

from application.account_ports import Signer, Throttle, TokenPair
from application.accounts import Accounts, recovery_hash
from domain.account import Account
from domain.base import DomainError


class InvalidCredentialsError(DomainError):
    """Wrong e-mail, password or code, or an account that cannot sign in: one answer."""


class SecondFactorRequiredError(InvalidCredentialsError):
    """A staff account's password was right: a TOTP (or recovery) code is needed too."""


class EmailNotVerifiedError(DomainError):
    """The password was right, but the e-mail is not confirmed yet."""


class InvalidRefreshTokenError(DomainError):
    """Unknown, expired, revoked or reused refresh token (401)."""


class ThrottledError(DomainError):
    def __init__(self, retry_after_s: float):
        super().__init__("too many failed sign-ins; wait before trying again")
        self.retry_after_s = max(1, int(retry_after_s + 0.999))


@dataclass(frozen=True)
class SignIn:
    email: str
    password: str
    address: str
    code: str = ""  # TOTP or a recovery code, for staff


class SignInService:
    def __init__(
        self, accounts: Accounts, signer: Signer, throttle: Throttle, failure_floor_s: float = 0.4
    ):
        self.accounts = accounts
        self.signer = signer
        self.throttle = throttle
        self.failure_floor_s = failure_floor_s

    def _keys(self, attempt: SignIn) -> list[str]:
        blind = self.accounts.index.blind
        return [f"email:{blind(attempt.email.strip().lower())}", f"ip:{blind(attempt.address)}"]

    def sign_in(self, attempt: SignIn) -> TokenPair:
        """Tokens, or `InvalidCredentialsError` no sooner than `failure_floor_s` after the
        attempt began: what a known account costs beyond argon2 (reading it, recording the
        failure) would otherwise tell it apart from an unknown e-mail."""
        started = time.monotonic()
        try:
            return self._sign_in(attempt)
        except InvalidCredentialsError:
            time.sleep(max(0.0, started + self.failure_floor_s - time.monotonic()))
            raise

    def _sign_in(self, attempt: SignIn) -> TokenPair:
        keys, now = self._keys(attempt), self.accounts.now()
        wait = self.throttle.wait_s(keys, now)
        if wait > 0:
            raise ThrottledError(wait)
        account = self._lookup(attempt.email)
        hashed = self.accounts.password_hash(account) if account is not None else None
        password_ok = self.accounts.passwords.verify(hashed, attempt.password)
        can = (
            account is not None
            and account.active
            and not account.is_locked(self.accounts.clock.now())
        )
        if not (password_ok and can and account is not None):
            self._failed(account, attempt, keys, "password" if account else "unknown")
            raise InvalidCredentialsError("the e-mail or the password is not right")
        step = self._second_factor(account, attempt, keys)
        if not account.verified:
            raise EmailNotVerifiedError("confirm your e-mail first (see the mail we sent)")
        self.throttle.succeeded(keys[:1])
        family = uuid4().hex
        with self.accounts.acting(f"{account.role}:{account.customer_id}"):
            if hashed is not None and self.accounts.passwords.needs_rehash(hashed):
                account.set_password(self.accounts.passwords.hash(attempt.password), "rehashed")
            account.signed_in(attempt.address, family, step)
        self.accounts.app.save(account)
        return self._issue(account, family)

    def change_password(self, customer_id: str, current: str, new: str) -> None:
        """`Accounts.change_password`, throttled per account like a sign-in: an access
        token (stolen, or a session left open) must not let anyone try current passwords
        at the API's rate limit."""
        keys = [f"password:{self.accounts.index.blind(customer_id)}"]
        wait = self.throttle.wait_s(keys, self.accounts.now())
        if wait > 0:
            raise ThrottledError(wait)
        try:
            self.accounts.change_password(customer_id, current, new)
        except InvalidCredentialsError:
            self.throttle.failed(keys, self.accounts.now())
            raise
        self.throttle.succeeded(keys)

    def _lookup(self, email: str) -> Account | None:
        try:
            return self.accounts.by_email(email)
        except DomainError:
            return None

    def _failed(self, account: Account | None, attempt: SignIn, keys: list[str], why: str) -> None:
        self.throttle.failed(keys, self.accounts.now())
        if account is None or not account.active:
            return
        policy = self.accounts.policy
        from datetime import timedelta

        with self.accounts.acting(f"{account.role}:{account.customer_id}"):
            account.sign_in_failed(
                attempt.address,
                why,
                policy.lock_after,
                timedelta(seconds=policy.lock_s),
                self.accounts.clock.now(),
            )
        self.accounts.app.save(account)

    def _second_factor(self, account: Account, attempt: SignIn, keys: list[str]) -> int:
        """The TOTP step used (0 for customers and recovery codes). A code of a step
        already used (a replay) is refused like a wrong one."""
        if not account.staff:
            return 0
        secret = (account.totp_secret.value or {}).get("secret") if account.totp_secret else None
        code = "".join(attempt.code.split())
        if not secret or not code:
            raise SecondFactorRequiredError("a code from your authenticator app is required")
        if code.isdigit() and len(code) == 6:
            step = self._totp_step(secret, code)
            if step > account.last_totp_step:
                return step
        elif recovery_hash(code) in account.recovery_codes:
            with self.accounts.acting(f"{account.role}:{account.customer_id}"):
                account.use_recovery_code(account.recovery_codes.index(recovery_hash(code)))
            return 0
        self._failed(account, attempt, keys, "second-factor")
        raise InvalidCredentialsError("the code is not right or was used already")

    def _totp_step(self, secret: str, code: str) -> int:
        """The time step whose code this is (this one, or one either side), else 0."""
        totp = pyotp.TOTP(secret)
        now = self.accounts.clock.now()
        current = totp.timecode(now)
        for step in (current, current - 1, current + 1):
            if hmac.compare_digest(totp.generate_otp(step), code):
                return step
        return 0

    def _issue(self, account: Account, family: str) -> TokenPair:
        policy = self.accounts.policy
        now = int(self.accounts.now())
        claims: dict[str, Any] = {
            "sub": account.customer_id,
            "role": account.role,
            "iat": now,
            "exp": now + policy.access_ttl_s,
            "jti": uuid4().hex,
            "fam": family,
            "iss": policy.issuer,
        }
        if policy.audience:
            claims["aud"] = policy.audience
        if account.scopes:
            claims["scope"] = " ".join(account.scopes)
        refresh = self.accounts.tokens.issue_refresh(
            account.customer_id, family, policy.refresh_ttl_s
        )
        return TokenPair(self.signer.sign(claims), refresh, policy.access_ttl_s)

    def refresh(self, refresh_token: str, address: str) -> TokenPair:
        used = self.accounts.tokens.use_refresh(refresh_token)
        if used is None:
            raise InvalidRefreshTokenError("this refresh token is not valid")
        sub, family, first_use = used
        account = self.accounts.account(sub)
        if not first_use:
            self._revoke_family(account, family, "reuse", address)
            raise InvalidRefreshTokenError("this refresh token was used already")
        if self.accounts.tokens.family_revoked(family):
            raise InvalidRefreshTokenError("this refresh token was revoked")
        if account is None or not account.active or family not in account.families:
            raise InvalidRefreshTokenError("this refresh token was revoked")
        return self._issue(account, family)

    def logout(self, sub: str, family: str, jti: str, expires_at: float, address: str = "") -> None:
        """Revoke the access token's family and its `jti` until it expires."""
        if jti:
            remaining = int(expires_at - self.accounts.now()) + 60
            self.accounts.tokens.revoke_jti(jti, max(remaining, 1))
        if family:
            self._revoke_family(self.accounts.account(sub), family, "logout", address)

    def _revoke_family(
        self, account: Account | None, family: str, reason: str, address: str = ""
    ) -> None:
        self.accounts.tokens.revoke_family(family, self.accounts.policy.refresh_ttl_s)
        if account is not None:
            with self.accounts.acting(f"{account.role}:{account.customer_id}"):
                revoked = account.revoke_family(family, reason, address)
            if revoked:
                self.accounts.app.save(account)


# How the edge answers these (api/http/errors.py): one answer for every credentials failure.
SIGN_IN_STATUSES: dict[type[DomainError], int] = {
    InvalidCredentialsError: 401,
    InvalidRefreshTokenError: 401,
    EmailNotVerifiedError: 403,
    ThrottledError: 429,
}
