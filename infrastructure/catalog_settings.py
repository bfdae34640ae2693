"""The catalog's settings (issue 28). Mixed into the one `Settings`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CatalogSettings(BaseModel):
    # Where the storefront serves product and category pages: sitemap.xml and JSON-LD name
    # `{storefront_url}/produtos/{slug}` and `{storefront_url}/categorias/{path}`.
    storefront_url: str = Field(
        default="http://localhost:8000",
        pattern=r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~\-/]*)?$",
        validation_alias="ECOVAREJO_STOREFRONT_URL",
    )
