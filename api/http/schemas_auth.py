"""Schemas of the sign-in routes (`/auth/...`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from api.http.schemas import Schema

Email = Annotated[str, StringConstraints(min_length=3, max_length=254)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
LinkToken = Annotated[str, StringConstraints(min_length=10, max_length=600)]
RefreshToken = Annotated[str, StringConstraints(min_length=10, max_length=200)]
Code = Annotated[str, StringConstraints(max_length=20)]


class AccountCreate(Schema):
    email: Email = Field(examples=["ana@example.com.br"])
    password: Password = Field(examples=["uma frase longa e só minha"])


class Accepted(Schema):
    status: Literal["accepted"] = "accepted"
    detail: str


class EmailVerification(Schema):
    token: LinkToken


class EmailVerified(Schema):
    verified: bool = True


class TokenRequest(Schema):
    """The JSON form of the password grant (the form of RFC 6749 §4.3 works too)."""

    email: Email
    password: Password
    code: Code = Field(default="", description="staff: the authenticator's code")


class TokenPublic(Schema):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (RFC 6750 type, not a secret)
    expires_in: int


class RefreshRequest(Schema):
    refresh_token: RefreshToken


class SignedOut(Schema):
    signed_out: bool = True


class PasswordResetRequest(Schema):
    email: Email


class PasswordResetConfirm(Schema):
    token: LinkToken
    password: Password


class TotpEnrolmentPublic(Schema):
    """Shown once: add the secret (or the otpauth URI as a QR code) to an authenticator
    app; keep the recovery codes, each good for one sign-in."""

    secret: str
    otpauth_uri: str
    recovery_codes: list[str]


class PasswordSetPublic(Schema):
    password_set: bool = True
    totp: TotpEnrolmentPublic | None = None


class PasswordChange(Schema):
    current_password: Password
    new_password: Password


class AccountDeactivation(Schema):
    reason: Annotated[str, StringConstraints(max_length=200)] = ""


class AccountDeactivated(Schema):
    customer_id: str
    deactivated: bool
