"""Bodies of products, variants, categories and certifications (issue 28)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from api.http.schemas import (
    Kilograms,
    LongText,
    MoneyModel,
    Schema,
    SingleLine,
    Sku,
    Text,
    WeightGrams,
)
from api.http.schemas_catalog_media import ImagePublic
from domain.sustainability_score import PACKAGING_KINDS

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=100)]
CategorySlug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=60)
]
Short = Annotated[SingleLine, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]
Gtin = Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$|^[0-9]{12,14}$")]
Packaging = Literal[PACKAGING_KINDS]  # type: ignore[valid-type]


class SustainabilityProfileModel(Schema):
    carbon_footprint_kg: Kilograms = Field(examples=["2.100"])
    recyclable_percent: Annotated[int, Field(ge=0, le=100, strict=True)] = 0
    packaging: Packaging = "unknown"


class VariantCreate(Schema):
    sku: Sku
    options: dict[Short, Short] = Field(default={}, max_length=3)
    price: MoneyModel
    initial_quantity: Annotated[int, Field(ge=0, le=1_000_000, strict=True)] = 0
    weight_grams: WeightGrams = 500
    gtin: Gtin | None = Field(default=None, description="GTIN-8/12/13/14, check digit verified")


class ProductCreate(Schema):
    slug: Slug
    name: Annotated[SingleLine, StringConstraints(min_length=1, max_length=120)]
    description: LongText = ""
    meta_description: Annotated[SingleLine, StringConstraints(max_length=160)] = ""
    category: CategorySlug | None = None
    attributes: dict[Short, Short] = Field(default={}, max_length=30)
    options: list[Short] = Field(default=[], max_length=3, description="option names, in order")
    variants: list[VariantCreate] = Field(min_length=1, max_length=100)
    sustainability: SustainabilityProfileModel

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "slug": "camiseta-organica",
                    "name": "Camiseta de algodão orgânico",
                    "description": "Algodão orgânico certificado, tingimento natural.",
                    "category": "camisetas",
                    "options": ["tamanho", "cor"],
                    "variants": [
                        {
                            "sku": "CAM-ORG-P-AZ",
                            "options": {"tamanho": "P", "cor": "azul"},
                            "price": {"amount": "79.90", "currency": "BRL"},
                            "initial_quantity": 10,
                            "gtin": "7891000315507",
                        }
                    ],
                    "sustainability": {
                        "carbon_footprint_kg": "2.100",
                        "recyclable_percent": 80,
                        "packaging": "compostable",
                    },
                }
            ]
        }
    )


class ProductPatch(Schema):
    name: Annotated[SingleLine, StringConstraints(min_length=1, max_length=120)] | None = None
    description: LongText | None = None
    meta_description: Annotated[SingleLine, StringConstraints(max_length=160)] | None = None
    category: CategorySlug | None = None
    attributes: dict[Short, Short] | None = Field(default=None, max_length=30)
    sustainability: SustainabilityProfileModel | None = None


class GtinUpdate(Schema):
    gtin: Gtin | Literal[""]


class CertificationCreate(Schema):
    name: Annotated[SingleLine, StringConstraints(min_length=1, max_length=60)]
    issuer: Short
    number: Short
    valid_until: date


class CategoryCreate(Schema):
    slug: CategorySlug
    name: Text
    parent: CategorySlug | None = None


class CategoryPatch(Schema):
    """Rename (`slug`, `name`) or move (`parent`: a slug, or null for the root)."""

    slug: CategorySlug | None = None
    name: Text | None = None
    parent: CategorySlug | None = None

    def moves(self) -> bool:
        return "parent" in self.model_fields_set


class ProductCommandResult(Schema):
    product_id: str
    slug: str
    version: int
    consistency_token: str


class CategoryCommandResult(Schema):
    version: int
    consistency_token: str


class LapseResult(Schema):
    lapsed_products: list[str]
    consistency_token: str | None


class CategoryPublic(Schema):
    category_id: str
    slug: str
    name: str
    path: list[str]
    count: int
    children: list[CategoryPublic]


class CategoriesPublic(Schema):
    items: list[CategoryPublic]


class ExpiredCertificationsPublic(Schema):
    items: list[dict[str, Any]]


class VariantPublic(Schema):
    sku: str
    options: dict[str, str]
    price: MoneyModel
    available: int
    gtin: str
    weight_grams: int
    archived: bool


class CertificationPublic(Schema):
    name: str
    issuer: str | None
    number: str | None
    valid_until: date | None
    evidence: bool = Field(description="issuer, number and date given (old bare names: false)")
    expired: bool
    counts: bool = Field(description="counts in the score and the facets")


class ProductPublic(Schema):
    product_id: str
    slug: str
    name: str
    description: str
    meta_description: str
    category_path: list[str]
    attributes: dict[str, str]
    option_names: list[str]
    variants: list[VariantPublic]
    price_min: MoneyModel | None
    price_max: MoneyModel | None
    available: int
    in_stock: bool
    sustainability: SustainabilityProfileModel
    certifications: list[CertificationPublic]
    sustainability_score: Annotated[int, Field(ge=0, le=100)]
    rating_average: Decimal | None
    rating_count: int
    rating_stars: dict[str, int] = Field(default_factory=dict, description="approved, by star")
    images: list[ImagePublic] = Field(default_factory=list)
    archived: bool
    legacy: bool = Field(description="a stock item registered before products: one variant")
    created_at: datetime
    updated_at: datetime
    version: int
