"""RFC 9457 problem+json for every error, mapped in one place. No stack trace leaves."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from application.errors import (
    AlreadyExistsError,
    CarrierUnavailableError,
    GatewayUnavailableError,
    VersionConflictError,
)
from application.keys import key_service_failure
from domain.base import DomainError, InvalidInputError, NotFoundError, current_metadata

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://ecovarejo.com.br/problems/"
PROBLEM_JSON = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
_KINDS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}


# Kinds more specific than the status, each with its own stable `type` URI.
KINDS = frozenset(
    {
        *_KINDS.values(),
        "malformed-json",
        "cors-refused",
        "version-conflict",
        "already-exists",
        "business-rule",
        "payment-gateway-unavailable",
        "key-service-unavailable",
        "idempotency-key-invalid",
        "idempotency-key-reused",
        "idempotency-in-progress",
        "idempotency-unavailable",
        "idempotent-answer-erased",
        "not-a-verified-buyer",
        "image-refused",
    }
)


def problem_type(kind: str) -> str:
    return PROBLEM_BASE + kind


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": problem_type(kind or _KINDS.get(status, "error")),
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    correlation_id = current_metadata().correlation_id
    if correlation_id:
        body.setdefault("correlation_id", correlation_id)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_status(error: DomainError) -> tuple[int, str]:
    from application.signin import SIGN_IN_STATUSES

    for kind, status in SIGN_IN_STATUSES.items():
        if isinstance(error, kind):
            return status, _KINDS[status]
    catalog_media = _catalog_media_status(error)
    if catalog_media is not None:
        return catalog_media
    if isinstance(error, GatewayUnavailableError):
        return 503, "payment-gateway-unavailable"
    if isinstance(error, CarrierUnavailableError):
        return 503, "carrier-unavailable"
    if isinstance(error, NotFoundError):
        return 404, "not-found"
    if isinstance(error, InvalidInputError):
        return 422, "invalid-input"
    if isinstance(error, VersionConflictError):
        return 409, "version-conflict"
    if isinstance(error, AlreadyExistsError):
        return 409, "already-exists"
    return 409, "business-rule"


def _catalog_media_status(error: DomainError) -> tuple[int, str] | None:
    """Images and reviews (issue 28): a file we do not decode is 415, one too large 413,
    a review by someone who did not receive the product 403."""
    from application.image_renditions import ImageRefusedError, ImageTooLargeError
    from application.reviews import NotAVerifiedBuyerError

    if isinstance(error, ImageRefusedError):
        return 415, "image-refused"
    if isinstance(error, ImageTooLargeError):
        return 413, "payload-too-large"
    if isinstance(error, NotAVerifiedBuyerError):
        return 403, "not-a-verified-buyer"
    return None


def _kebab(name: str) -> str:
    out = "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
    return out.removesuffix("-error")


def unexpected_problem(error: Exception, where: str, logger: logging.Logger = log) -> JSONResponse:
    """An error no route handled: a 503 to retry if the key service is down (the KMS that
    unwraps customers' data keys; nothing was changed, and the detail names no key and no
    token), else a logged 500."""
    down = key_service_failure(error)
    if down is not None:
        logger.error("key service unavailable on %s: %s", where, down)
        return problem(
            503,
            "personal data cannot be read or written right now (the key service is "
            "unavailable); retry later",
            kind="key-service-unavailable",
            headers={"Retry-After": "5"},
        )
    logger.error("unhandled error on %s", where, exc_info=error)
    return problem(500, "an unexpected error occurred; it has been logged")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, error: DomainError) -> JSONResponse:
        status, kind = domain_status(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if retry_after := getattr(error, "retry_after_s", None):
            headers = {"Retry-After": str(retry_after)}
        return problem(
            status, str(error), kind=kind, code=_kebab(type(error).__name__), headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": e.get("msg", ""),
                "type": e.get("type", ""),
            }
            for e in error.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(422, "the body is not valid JSON", kind="malformed-json", errors=errors)
        return problem(422, "the request is not valid", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        headers = dict(error.headers) if error.headers else None
        return problem(error.status_code, str(error.detail), headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        return unexpected_problem(error, f"{request.method} {request.url.path}")
