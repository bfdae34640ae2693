"""Payment configuration: the gateway chain, each provider's secrets and API base, and the
rules of Pix, boleto and installments. Mixed into the one `Settings`."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from infrastructure.gateways.payments.names import KNOWN_GATEWAYS


class PaymentSettings(BaseModel):
    # Ordered authorization chain: primary, secondary, tertiary... ("sandbox" is the three
    # embedded sandbox acquirers). Comma-separated.
    gateways: str = Field(default="sandbox", validation_alias="ECOVAREJO_GATEWAYS")
    gateway_timeout_s: float = Field(
        default=10.0, gt=0, le=120, validation_alias="ECOVAREJO_GATEWAY_TIMEOUT_S"
    )
    sandbox_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_SANDBOX_WEBHOOK_SECRET"
    )
    stripe_api_key: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_STRIPE_API_KEY"
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_STRIPE_WEBHOOK_SECRET"
    )
    stripe_api_base: str = Field(
        default="https://api.stripe.com", validation_alias="ECOVAREJO_STRIPE_API_BASE"
    )
    mercadopago_access_token: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_MERCADOPAGO_ACCESS_TOKEN"
    )
    mercadopago_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_MERCADOPAGO_WEBHOOK_SECRET"
    )
    mercadopago_api_base: str = Field(
        default="https://api.mercadopago.com", validation_alias="ECOVAREJO_MERCADOPAGO_API_BASE"
    )
    pagseguro_token: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_PAGSEGURO_TOKEN"
    )
    pagseguro_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_PAGSEGURO_WEBHOOK_SECRET"
    )
    pagseguro_api_base: str = Field(
        default="https://api.pagseguro.com", validation_alias="ECOVAREJO_PAGSEGURO_API_BASE"
    )
    pix_expiry_s: int = Field(
        default=1800, ge=1, le=86400, validation_alias="ECOVAREJO_PIX_EXPIRY_S"
    )
    boleto_days: int = Field(default=3, ge=1, le=30, validation_alias="ECOVAREJO_BOLETO_DAYS")
    interest_free_installments: int = Field(
        default=6, ge=1, le=12, validation_alias="ECOVAREJO_INTEREST_FREE_INSTALLMENTS"
    )
    pix_key: str = Field(default="pix@ecovarejo.com.br", validation_alias="ECOVAREJO_PIX_KEY")
    # Public keys a front end tokenizes cards with (GET /payments/config): nothing secret.
    stripe_publishable_key: str = Field(
        default="", validation_alias="ECOVAREJO_STRIPE_PUBLISHABLE_KEY"
    )
    mercadopago_public_key: str = Field(
        default="", validation_alias="ECOVAREJO_MERCADOPAGO_PUBLIC_KEY"
    )
    pagseguro_public_key: str = Field(default="", validation_alias="ECOVAREJO_PAGSEGURO_PUBLIC_KEY")
    # How long a card's 3-D Secure may wait for the shopper before the order is given up.
    authentication_expiry_s: int = Field(
        default=900, ge=1, le=86400, validation_alias="ECOVAREJO_AUTHENTICATION_EXPIRY_S"
    )

    # How long a declined, failed or expired payment leaves the order, its stock held, for
    # another try (POST /orders/{id}/payment); 0: the order is cancelled at once.
    payment_retry_s: int = Field(
        default=0, ge=0, le=7 * 86400, validation_alias="ECOVAREJO_PAYMENT_RETRY_S"
    )

    @field_validator("gateways")
    @classmethod
    def _known_gateways(cls, value: str) -> str:
        names = [n.strip().lower() for n in value.split(",") if n.strip()]
        unknown = [n for n in names if n not in KNOWN_GATEWAYS]
        if not names or unknown or len(set(names)) != len(names):
            raise ValueError(
                f"ECOVAREJO_GATEWAYS must list distinct names among {', '.join(KNOWN_GATEWAYS)}"
            )
        return ",".join(names)

    @property
    def gateway_chain(self) -> list[str]:
        return self.gateways.split(",")
