"""Cards without card numbers: the payment configuration a front end tokenizes with, the
sandbox's tokenization endpoint (its stand-in for a provider's browser SDK), and 3-D Secure.

`GET /payments/config` names the provider that tokenizes (the first card gateway of the
chain) and its public key; the front end makes the card token with that provider's SDK and
checks out with `{method: card, card_token, installments}`. The sandbox plays a provider
here: `POST /payments/sandbox/tokens` takes a test card as a provider's SDK would (never in
production, and only while the sandbox tokenizes) and its challenge endpoint plays the
issuer's 3-D Secure page. Card numbers sent there are never logged nor stored: the sandbox
vault keeps a random token with the brand, the last four and how the test card behaves.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Response, status
from fastapi.concurrency import run_in_threadpool

from api.http.auth import Principal
from api.http.command_route import CommandRoute
from api.http.deps import (
    Admin,
    PaymentsDep,
    ReadersDep,
    ServicesDep,
    consistent_with,
    query,
    require,
)
from api.http.etag import set_etag
from api.http.schemas import (
    AuthenticationAction,
    AuthenticationConfirm,
    AuthenticationResult,
    DisputePage,
    DisputePublic,
    PaymentsConfigPublic,
    SandboxCardCreate,
    SandboxCardToken,
    SandboxChallengeAnswer,
)
from api.sandbox_provider import answer_challenge, sandbox_tokenizes, sandbox_vault
from application.card_tokens import payments_config
from application.errors import RetryLaterError
from application.ports import GatewayError
from domain.base import now
from domain.card import CardDetails
from projections.orders import OrdersProjection

router = APIRouter(route_class=CommandRoute, prefix="/payments", tags=["payments"])
CustomerOrAdmin = Annotated[Principal, Depends(require("customer", "admin"))]
AuthorizationId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,120}$")]


@router.get("/disputes", dependencies=[Depends(consistent_with(OrdersProjection.name))])
async def list_open_disputes(readers: ReadersDep, _: Admin) -> DisputePage:
    """Open disputes (chargebacks), the soonest evidence deadline first: answer each before
    its `evidence_due_by` at the provider, or the money goes back to the cardholder."""
    docs = await query(lambda: readers.orders.open_disputes())
    return DisputePage(items=[DisputePublic.from_doc(d) for d in docs])


@router.get("/config")
async def get_payments_config(services: ServicesDep) -> PaymentsConfigPublic:
    """The payment methods offered and, for cards, the provider whose browser SDK makes the
    card token, with its public key (nothing secret)."""
    raw_cards = sandbox_tokenizes(services)
    config = payments_config(
        services.payments.gateways, services.checkout.interest_free_installments, raw_cards
    )
    return PaymentsConfigPublic.model_validate(config)


@router.post("/sandbox/tokens", status_code=status.HTTP_201_CREATED)
def create_sandbox_token(body: SandboxCardCreate, services: ServicesDep) -> SandboxCardToken:
    """The sandbox's browser tokenization (what its SDK, `/sandbox-provider/v1/sandbox.js`,
    posts the card to): a test card in, a single-use card token out."""
    vault = sandbox_vault(services)
    card = CardDetails(body.card_number, body.expiry, body.cvc, body.holder)
    card.check(now())
    made = vault.tokenize(card.number, card.expiry, card.cvc, card.holder)
    return SandboxCardToken(card_token=made.token, brand=made.brand, last4=made.last4)


@router.post("/sandbox/challenges/{authorization_id}")
def answer_sandbox_challenge(
    authorization_id: AuthorizationId, body: SandboxChallengeAnswer, services: ServicesDep
) -> dict[str, Any]:
    """The sandbox issuer's 3-D Secure answer, for scripts (the shopper's is the page at
    `/sandbox-provider/challenge/{authorization_id}`)."""
    sandbox_vault(services)
    answer_challenge(services.payments.gateways, authorization_id, body.authenticated)
    return {"authorization_id": authorization_id, "authenticated": body.authenticated}


@router.get("/{payment_id}/authentication")
async def get_authentication_action(
    payment_id: UUID, payments: PaymentsDep, principal: CustomerOrAdmin, response: Response
) -> AuthenticationAction:
    """What finishes the shopper's 3-D Secure (client secret, challenge URL), asked of the
    provider now and never stored; `no-store`, for the payment's owner (or an admin)."""
    own = None if principal.role == "admin" else principal.sub
    try:
        payment, action = await run_in_threadpool(payments.authentication_action, payment_id, own)
    except (GatewayError, RetryLaterError) as error:  # the provider must be asked: later
        raise HTTPException(503, f"try again: {error}", {"Retry-After": "5"}) from None
    response.headers["Cache-Control"] = "no-store"
    return AuthenticationAction(
        payment_id=payment_id,
        status=payment.status,
        client_secret=(action.client_secret or None) if action else None,
        redirect_url=(action.redirect_url or None) if action else None,
        expires_at=payment.expires_at.isoformat() if action and payment.expires_at else None,
    )


@router.post("/{payment_id}/authentication")
async def confirm_authentication(
    payment_id: UUID,
    body: AuthenticationConfirm,
    payments: PaymentsDep,
    principal: CustomerOrAdmin,
    response: Response,
) -> AuthenticationResult:
    """The front end's word that the shopper finished 3-D Secure: the provider is asked
    where the payment stands (never the client believed); decided -> recorded."""
    own = None if principal.role == "admin" else principal.sub
    try:
        result = await run_in_threadpool(
            payments.confirm_authentication, payment_id, own, body.authorization_id
        )
    except (GatewayError, RetryLaterError) as error:  # the provider must be asked: later
        raise HTTPException(503, f"try again: {error}", {"Retry-After": "5"}) from None
    payment = await run_in_threadpool(payments.payment, payment_id, own)
    if result is not None:
        set_etag(response, result.version)
    return AuthenticationResult(
        payment_id=payment_id,
        status=payment.status,
        version=result.version if result else payment.version,
        consistency_token=result.consistency_token if result else None,
    )
