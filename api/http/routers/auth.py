"""Accounts and sign-in (`/auth/...`): register, verify, tokens, refresh, sign out, reset
and change the password; admins deactivate accounts. The flows are in docs/accounts.md.

Answers never tell whether an e-mail has an account: register and password-reset are
always 202, and a sign-in failure is the same 401 whatever the reason."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.http.command_route import CommandRoute
from api.http.deps import Admin, AnyUser, ContainerDep
from api.http.openapi import problem
from api.http.schemas_auth import (
    Accepted,
    AccountCreate,
    AccountDeactivated,
    AccountDeactivation,
    EmailVerification,
    EmailVerified,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    PasswordSetPublic,
    RefreshRequest,
    SignedOut,
    TokenPublic,
    TokenRequest,
    TotpEnrolmentPublic,
)
from api.http.text import text_problem
from application.account_ports import TokenPair
from application.signin import SignIn
from infrastructure.accounts_wiring import AccountSystem, account_system

router = APIRouter(route_class=CommandRoute, prefix="/auth", tags=["accounts and sign-in"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1
ACCEPTED = "if the address can be used, a mail is on its way"


async def get_accounts(container: ContainerDep) -> AccountSystem:
    return account_system(container)


Accounts = Annotated[AccountSystem, Depends(get_accounts)]


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _pair(pair: TokenPair) -> TokenPublic:
    return TokenPublic(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token,
        expires_in=pair.expires_in,
    )


@router.post("/register", status_code=status.HTTP_202_ACCEPTED)
def register(body: AccountCreate, system: Accounts) -> Accepted:
    """Create a shopper's account and mail a verification link. The same answer whether
    or not the e-mail has an account already (its owner gets a mail saying so)."""
    system.accounts.register(body.email, body.password)
    return Accepted(detail=ACCEPTED)


@router.post("/verify-email")
def verify_email(body: EmailVerification, system: Accounts) -> EmailVerified:
    """Confirm the e-mail with the token from the verification mail (used once)."""
    system.accounts.verify_email(body.token)
    return EmailVerified()


TOKEN_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["grant_type"],
                "properties": {
                    "grant_type": {"type": "string", "enum": ["password", "refresh_token"]},
                    "username": {"type": "string", "maxLength": 254},
                    "password": {"type": "string", "maxLength": 256},
                    "refresh_token": {"type": "string", "maxLength": 200},
                    "totp": {"type": "string", "maxLength": 20},
                    "scope": {"type": "string", "maxLength": 200},
                    "client_id": {"type": "string", "maxLength": 200},
                },
            }
        },
        "application/json": {"schema": TokenRequest.model_json_schema()},
    },
}


def _invalid(message: str, where: str = "body") -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": (where,), "msg": message}])


async def _token_fields(request: Request) -> dict[str, str]:
    """The password grant as a form (OAuth2, what /docs' Authorize sends) or as JSON."""
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "application/x-www-form-urlencoded":
            parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
            if any(len(v) > 1 for v in parsed.values()):
                raise _invalid("a field is given twice")
            fields: dict[str, Any] = {k: v[0] for k, v in parsed.items()}
        elif kind == "application/json":
            fields = json.loads(body, object_pairs_hook=_no_duplicates)
            if not isinstance(fields, dict):
                raise _invalid("the body must be a JSON object")
            fields = {"grant_type": "password", **fields}
        else:
            raise _invalid("send a form (application/x-www-form-urlencoded) or JSON")
    except (UnicodeDecodeError, ValueError) as e:
        raise _invalid(f"the body cannot be read: {e}") from None
    for name, value in fields.items():
        if not isinstance(value, str) or len(value) > 600 or text_problem(value):
            raise _invalid(f"{name} must be a short text without control characters")
    return fields


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("a key appears twice")
    return dict(pairs)


@router.post(
    "/token",
    response_model=TokenPublic,
    openapi_extra={"requestBody": TOKEN_BODY},
    responses={
        401: problem("wrong e-mail, password or code; or a revoked refresh token"),
        403: problem("the e-mail is not confirmed yet"),
    },
)
async def token(request: Request, system: Accounts) -> Any:
    """Sign in: the password grant (`grant_type=password`, `username`, `password`, and
    `totp` for staff) as a form, or JSON `{email, password, code}`; also
    `grant_type=refresh_token`. Access token (EdDSA JWT) + refresh token."""
    fields = await _token_fields(request)
    grant = fields.get("grant_type", "")
    if grant == "refresh_token":
        pair = await run_in_threadpool(
            system.signin.refresh, fields.get("refresh_token", ""), _address(request)
        )
    elif grant == "password":
        try:
            given = TokenRequest(
                email=fields.get("email", fields.get("username", "")),
                password=fields.get("password", ""),
                code=fields.get("code", fields.get("totp", "")),
            )
        except ValidationError as e:
            raise RequestValidationError(e.errors()) from None
        attempt = SignIn(given.email, given.password, _address(request), given.code)
        pair = await run_in_threadpool(system.signin.sign_in, attempt)
    else:
        raise _invalid("grant_type must be password or refresh_token")
    return JSONResponse(_pair(pair).model_dump(), headers=NO_STORE)


@router.post("/refresh", responses={401: problem("unknown, revoked or reused refresh token")})
def refresh(body: RefreshRequest, request: Request, system: Accounts) -> TokenPublic:
    """A new access token and a new refresh token for this one, which stops working. Using
    a refresh token twice revokes its whole family: sign in again."""
    return _pair(system.signin.refresh(body.refresh_token, _address(request)))


@router.post("/logout")
def logout(principal: AnyUser, request: Request, system: Accounts) -> SignedOut:
    """Revoke this access token (until it expires) and its refresh family."""
    system.signin.logout(
        principal.sub, principal.family, principal.jti, principal.expires_at, _address(request)
    )
    return SignedOut()


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED)
def password_reset(body: PasswordResetRequest, request: Request, system: Accounts) -> Accepted:
    """Mail a one-time reset link, if the e-mail has an active account; 202 either way."""
    system.accounts.request_reset(body.email, _address(request))
    return Accepted(detail=ACCEPTED)


@router.post("/password-reset/confirm")
def password_reset_confirm(body: PasswordResetConfirm, system: Accounts) -> PasswordSetPublic:
    """Set the password from a reset or invitation link (used once). Signs out every
    session. Staff without a second factor get their TOTP secret and recovery codes here,
    shown once."""
    enrolment = system.accounts.confirm_reset(body.token, body.password)
    totp = (
        TotpEnrolmentPublic(
            secret=enrolment.secret,
            otpauth_uri=enrolment.otpauth_uri,
            recovery_codes=enrolment.recovery_codes,
        )
        if enrolment is not None
        else None
    )
    return PasswordSetPublic(totp=totp)


@router.post(
    "/password",
    responses={
        401: problem("the current password is not right"),
        404: problem("the token's subject has no account with a password here"),
        429: problem("too many wrong current passwords; wait before trying again"),
    },
)
def change_password(body: PasswordChange, principal: AnyUser, system: Accounts) -> SignedOut:
    """Change the password (the current one is needed); every session is signed out.
    Wrong current passwords are throttled per account, with growing waits (429)."""
    system.signin.change_password(principal.sub, body.current_password, body.new_password)
    return SignedOut()


@router.post("/accounts/{customer_id}/deactivate", responses={404: problem("no such account")})
def deactivate(
    customer_id: Annotated[str, Path(min_length=1, max_length=200)],
    body: AccountDeactivation,
    admin: Admin,
    system: Accounts,
) -> AccountDeactivated:
    """Deactivate an account: its refresh families and access tokens stop at once."""
    changed = system.accounts.deactivate(customer_id, admin.actor, body.reason)
    return AccountDeactivated(customer_id=customer_id, deactivated=changed)


# Published at the root, where other services look for it (RFC 8615). ---------------------
wellknown = APIRouter(tags=["accounts and sign-in"])


@wellknown.get("/.well-known/jwks.json")
async def jwks(system: Accounts) -> JSONResponse:
    """The public keys that verify our access tokens (Ed25519, `EdDSA`), retired ones
    included until their last token has expired."""
    document = await run_in_threadpool(system.signing_keys.jwks)
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})


def install_oauth2_scheme(app: Any) -> None:
    """Let /docs' Authorize button sign in with the password grant at /auth/token, beside
    pasting a bearer token."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema: dict[str, Any] = generate()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        if "OAuth2Password" not in schemes:
            schemes["OAuth2Password"] = {
                "type": "oauth2",
                "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}},
            }
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    security = operation.get("security") if isinstance(operation, dict) else None
                    if security and {"OAuth2Password": []} not in security:
                        security.append({"OAuth2Password": []})
        return schema

    app.openapi = openapi
