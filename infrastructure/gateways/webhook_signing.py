"""Timestamped webhook signatures, Stripe's scheme: `t=<unix seconds>,v1=<hex>` where v1 is
the HMAC-SHA256, with the shared secret, of `"<t>.<raw body>"`. Signing the time with the body
lets a receiver refuse a replayed delivery (one whose `t` is older than its tolerance).

Used to check Stripe's webhooks and to sign our own (`X-EcoVarejo-Signature`)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from application.ports import InvalidWebhookError

TOLERANCE_S = 300


def timestamped_signature(secret: str, body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def verify_timestamped_signature(
    secret: str, header: str, body: bytes, now: datetime, tolerance_s: int = TOLERANCE_S
) -> None:
    """Raises InvalidWebhookError when the header is missing, malformed, does not match the
    body, or is older (or newer) than the tolerance."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise InvalidWebhookError("signature header lacks a timestamp") from None
    expected = timestamped_signature(secret, body, timestamp).split("v1=")[1]
    if not secret or not any(hmac.compare_digest(expected, v) for v in parts.get("v1", [])):
        raise InvalidWebhookError("signature does not match")
    if abs(now.timestamp() - timestamp) > tolerance_s:
        raise InvalidWebhookError("signature timestamp is outside the tolerance")
