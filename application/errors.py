"""Errors the application layer adds to the domain's."""

from __future__ import annotations

from domain.base import DomainError, InvalidInputError, NotFoundError


class VersionConflictError(DomainError):
    """The aggregate changed since the client read it (If-Match) or a concurrent command won."""


class AlreadyExistsError(DomainError):
    """An aggregate with that identity exists already."""


class UnknownSkuError(InvalidInputError):
    """A command names a SKU that is not in the catalog."""


class StockItemNotFoundError(NotFoundError):
    """No stock item with that SKU."""


class CartNotFoundError(NotFoundError):
    """No such cart, or not the caller's."""


class OrderNotFoundError(NotFoundError):
    """No such order, or not the caller's."""


class PaymentNotFoundError(NotFoundError):
    """No such payment, or not the caller's."""


class GatewayUnavailableError(DomainError):
    """No payment gateway answered. Nothing was changed; the client may retry."""


class RetryLaterError(Exception):
    """A side effect failed transiently and was recorded; run it again later (with backoff)."""


class AggregateNotFoundError(NotFoundError):
    """No aggregate with that id in the log."""


class InvalidReplayError(InvalidInputError):
    """A replay point outside the aggregate's history, or a malformed one."""


class UnreadableHistoryError(DomainError):
    """An aggregate's own stored event cannot be read by this code (corrupt, unknown)."""


class UnknownCouponError(InvalidInputError):
    """No promotion with that code (422: a customer typed it)."""


class PromotionNotFoundError(NotFoundError):
    """No promotion with that code (404: an admin asked for it)."""


class ReturnNotFoundError(NotFoundError):
    """No such return, or not the caller's."""


class CarrierUnavailableError(DomainError):
    """The carrier did not answer (503): nothing was bought, nothing changed; try again."""


class CarrierRefusedError(DomainError):
    """The carrier refused (no carrier configured, a route it does not serve, no balance):
    409 with its reason; nothing changed."""
