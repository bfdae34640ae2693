"""The payment providers we know, by the name the settings give them (ECOVAREJO_GATEWAYS).
Apart from the settings so that the CLI's help can list them without importing pydantic."""

from __future__ import annotations

KNOWN_GATEWAYS = ("sandbox", "stripe", "mercadopago", "pagseguro")
