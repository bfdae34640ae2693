"""The gateway registry: every provider listed once, with how to build it from Settings.

`ECOVAREJO_GATEWAYS` orders the authorization chain; every provider with credentials is
built even when it is not in the chain, so money it holds can still be captured, voided or
refunded there.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import redis

from application.gateways import GatewayChain
from application.ports import PaymentGateway
from infrastructure.gateways.payments.mercadopago import MercadoPagoGateway
from infrastructure.gateways.payments.pagseguro import CardIntake, PagSeguroGateway
from infrastructure.gateways.payments.sandbox import sandbox_chain
from infrastructure.gateways.payments.stripe import StripeGateway
from infrastructure.payment_settings import PaymentSettings


class GatewayConfigurationError(Exception):
    """ECOVAREJO_GATEWAYS names a provider whose credentials are not set."""


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter else ""


def sandbox_webhook_secret(settings: PaymentSettings, data_dir: object) -> str:
    """ECOVAREJO_SANDBOX_WEBHOOK_SECRET, else one generated once and kept in the data dir
    (so the API and `ecovarejo sandbox pay` agree on it)."""
    if settings.sandbox_webhook_secret is not None:
        return settings.sandbox_webhook_secret.get_secret_value()
    from pathlib import Path

    path = Path(str(data_dir)) / "sandbox-webhook-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


Factory = Callable[[PaymentSettings, redis.Redis, object], list[PaymentGateway]]


def _sandbox(s: PaymentSettings, client: redis.Redis, data_dir: object) -> list[PaymentGateway]:
    return list(sandbox_chain(client, sandbox_webhook_secret(s, data_dir), s.pix_key))


def _stripe(s: PaymentSettings, client: redis.Redis, data_dir: object) -> list[PaymentGateway]:
    if s.stripe_api_key is None:
        return []
    return [
        StripeGateway(
            _secret(s.stripe_api_key),
            _secret(s.stripe_webhook_secret),
            s.stripe_api_base,
            s.gateway_timeout_s,
            publishable_key=s.stripe_publishable_key,
        )
    ]


def _mercadopago(s: PaymentSettings, client: redis.Redis, data_dir: object) -> list[PaymentGateway]:
    if s.mercadopago_access_token is None:
        return []
    return [
        MercadoPagoGateway(
            _secret(s.mercadopago_access_token),
            _secret(s.mercadopago_webhook_secret),
            s.mercadopago_api_base,
            s.gateway_timeout_s,
            public_key=s.mercadopago_public_key,
        )
    ]


def _pagseguro(s: PaymentSettings, client: redis.Redis, data_dir: object) -> list[PaymentGateway]:
    if s.pagseguro_token is None:
        return []
    return [
        PagSeguroGateway(
            _secret(s.pagseguro_token),
            _secret(s.pagseguro_webhook_secret),
            s.pagseguro_api_base,
            s.gateway_timeout_s,
            public_key=s.pagseguro_public_key,
            intake=CardIntake(client),  # the encrypted card until its first charge
        )
    ]


GATEWAYS: dict[str, Factory] = {
    "sandbox": _sandbox,
    "stripe": _stripe,
    "mercadopago": _mercadopago,
    "pagseguro": _pagseguro,
}


def build_gateways(
    settings: PaymentSettings, client: redis.Redis, data_dir: object
) -> GatewayChain:
    built = {name: factory(settings, client, data_dir) for name, factory in GATEWAYS.items()}
    missing = [name for name in settings.gateway_chain if not built[name]]
    if missing:
        raise GatewayConfigurationError(
            f"ECOVAREJO_GATEWAYS names {', '.join(missing)} but its credentials are not set"
        )
    chain = [g for name in settings.gateway_chain for g in built[name]]
    others = [g for name, gs in built.items() if name not in settings.gateway_chain for g in gs]
    return GatewayChain(chain, others)
