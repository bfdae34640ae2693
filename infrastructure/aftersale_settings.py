"""After-sale configuration: which carrier (none: the rates table), its credentials, where
parcels leave from; the return windows; which fiscal provider issues NF-e (none: no NF-e)
and when. Mixed into the one `Settings`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator

from domain.delivery import ReturnWindows

KNOWN_CARRIERS = ("melhorenvio",)
KNOWN_FISCAL = ("focusnfe",)
DEFAULT_SENDER = {
    "name": "EcoVarejo",
    "address": "Av. Paulista 1000",
    "city": "São Paulo",
    "state_abbr": "SP",
    "postal_code": "01310-100",
}


class AfterSaleSettings(BaseModel):
    carrier: str | None = Field(default=None, validation_alias="ECOVAREJO_CARRIER")
    melhorenvio_token: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_MELHORENVIO_TOKEN"
    )
    melhorenvio_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_MELHORENVIO_WEBHOOK_SECRET"
    )
    melhorenvio_api_base: str = Field(
        default="https://www.melhorenvio.com.br", validation_alias="ECOVAREJO_MELHORENVIO_API_BASE"
    )
    carrier_timeout_s: float = Field(
        default=10.0, gt=0, le=60, validation_alias="ECOVAREJO_CARRIER_TIMEOUT_S"
    )
    # The sender on labels, as Melhor Envio's `from` (JSON object).
    ship_from: str = Field(
        default=json.dumps(DEFAULT_SENDER), validation_alias="ECOVAREJO_SHIP_FROM"
    )
    # How long a carrier's quote shown for a cart is charged as shown at checkout.
    shipping_quote_valid_s: int = Field(
        default=3600, ge=60, le=86400, validation_alias="ECOVAREJO_SHIPPING_QUOTE_VALID_S"
    )
    withdrawal_days: int = Field(
        default=7, ge=7, le=90, validation_alias="ECOVAREJO_WITHDRAWAL_DAYS"
    )
    # A defect of durable goods (CDC art. 26 II: 90 days), also of products not classified
    # yet (the longer window never gives less than the law), and of non-durable ones (26 I).
    defect_days: int = Field(default=90, ge=90, le=365, validation_alias="ECOVAREJO_DEFECT_DAYS")
    non_durable_defect_days: int = Field(
        default=30, ge=30, le=365, validation_alias="ECOVAREJO_NON_DURABLE_DEFECT_DAYS"
    )

    fiscal_provider: str | None = Field(default=None, validation_alias="ECOVAREJO_FISCAL_PROVIDER")
    focusnfe_token: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_FOCUSNFE_TOKEN"
    )
    focusnfe_api_base: str = Field(
        default="https://api.focusnfe.com.br", validation_alias="ECOVAREJO_FOCUSNFE_API_BASE"
    )
    invoice_on: Literal["confirmed", "shipped"] = Field(
        default="confirmed", validation_alias="ECOVAREJO_INVOICE_ON"
    )

    @field_validator("fiscal_provider")
    @classmethod
    def _known_fiscal(cls, value: str | None) -> str | None:
        if value and value not in KNOWN_FISCAL:
            raise ValueError(f"ECOVAREJO_FISCAL_PROVIDER must be one of {', '.join(KNOWN_FISCAL)}")
        return value or None

    @property
    def effect_features(self) -> frozenset[str]:
        """The optional steps of the effects table that this configuration turns on."""
        if self.fiscal_provider is None:
            return frozenset()
        return frozenset({"fiscal", f"fiscal:{self.invoice_on}"})

    @field_validator("carrier")
    @classmethod
    def _known_carrier(cls, value: str | None) -> str | None:
        if value and value not in KNOWN_CARRIERS:
            raise ValueError(f"ECOVAREJO_CARRIER must be one of {', '.join(KNOWN_CARRIERS)}")
        return value or None

    @field_validator("ship_from")
    @classmethod
    def _sender_is_an_object(cls, value: str) -> str:
        try:
            sender = json.loads(value)
        except ValueError:
            raise ValueError("ECOVAREJO_SHIP_FROM must be a JSON object") from None
        if not isinstance(sender, dict) or "postal_code" not in sender:
            raise ValueError("ECOVAREJO_SHIP_FROM must be a JSON object with a postal_code")
        return value

    @property
    def sender(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in json.loads(self.ship_from).items()}

    @property
    def return_windows(self) -> ReturnWindows:
        """The legal minimums (7 days; 30 and 90 for a defect) are the floor: a shop may
        give more, never less."""
        return ReturnWindows(
            withdrawal=timedelta(days=self.withdrawal_days),
            defect=timedelta(days=self.defect_days),
            defect_non_durable=timedelta(days=self.non_durable_defect_days),
        )
