"""Product: what a shopper sees as one thing, sold in variants.

A product (name, description, category, sustainability profile, certifications,
attributes) has variants that differ by option values (size, colour, material …). Each
variant is a SKU with its own `StockItem` (stock, price, weight, GTIN); the product holds
which SKUs it has and their options. A product's id is derived from its slug, so two
products cannot take the same slug. Stock items registered before products existed are
single-variant products whose product id is their own id (see `StockItem.product_id`).

Certifications carry evidence (issuer, number, valid-until). One past its date stops
counting when the daily sweep records `CertificationLapsed`; until then a reader that knows
today's date already treats it as expired (`valid_certifications`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError, NotFoundError
from domain.category import SLUG
from domain.money import check_sku
from domain.sustainability_score import PACKAGING_KINDS, sustainability_score
from domain.text import text_problem

PRODUCT_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/product")
MAX_SLUG = 100
MAX_NAME = 120
MAX_DESCRIPTION = 5_000
MAX_META = 160
MAX_VARIANTS = 100
MAX_OPTIONS = 3
MAX_ATTRIBUTES = 30
MAX_SHORT = 80  # option names and values, attribute names and values, issuers, numbers
RESERVED_SLUGS = frozenset({"search", "suggest", "sitemap"})


class ProductError(DomainError):
    """Base of the errors a Product raises."""


class InvalidProductError(ProductError, InvalidInputError):
    """A slug, name, option, variant or certification that breaks the rules."""


class ProductNotFoundError(ProductError, NotFoundError):
    """No product with that id or slug."""


class CertificationAlreadyListedError(ProductError):
    """The product already lists that certificate."""


def _short(value: object, what: str, limit: int = MAX_SHORT) -> str:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= limit:
        raise InvalidProductError(f"{what} is 1 to {limit} characters")
    problem = text_problem(value)
    if problem:
        raise InvalidProductError(f"{what}: {problem}")
    return value.strip()


def check_product_slug(slug: str) -> None:
    if not isinstance(slug, str) or len(slug) > MAX_SLUG or not SLUG.match(slug):
        raise InvalidProductError(
            f"a slug is 1 to {MAX_SLUG} lowercase letters, digits and single hyphens"
        )
    if slug in RESERVED_SLUGS or _looks_like_uuid(slug):
        raise InvalidProductError(f"{slug!r} cannot be a slug (it names something else)")


def _looks_like_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Variant:
    """A SKU of the product and its option values, in the product's option order."""

    sku: str
    options: tuple[tuple[str, str], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"sku": self.sku, "options": [list(pair) for pair in self.options]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Variant:
        return cls(data["sku"], tuple((str(n), str(v)) for n, v in data["options"]))


@dataclass(frozen=True)
class SustainabilityProfile:
    """Footprint (kg CO2e per unit), recyclable share (percent by weight), packaging kind."""

    carbon_footprint_kg: Decimal = Decimal("0")
    recyclable_percent: int = 0
    packaging: str = "unknown"

    def __post_init__(self) -> None:
        kg = self.carbon_footprint_kg
        if not isinstance(kg, Decimal) or not kg.is_finite() or not 0 <= kg <= 100_000:
            raise InvalidProductError("carbon_footprint_kg is a decimal from 0 to 100000")
        pct = self.recyclable_percent
        if not isinstance(pct, int) or isinstance(pct, bool) or not 0 <= pct <= 100:
            raise InvalidProductError("recyclable_percent is a whole number from 0 to 100")
        if self.packaging not in PACKAGING_KINDS:
            raise InvalidProductError(f"packaging is one of {', '.join(PACKAGING_KINDS)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "carbon_footprint_kg": str(self.carbon_footprint_kg),
            "recyclable_percent": self.recyclable_percent,
            "packaging": self.packaging,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SustainabilityProfile:
        try:
            kg = Decimal(str(data.get("carbon_footprint_kg", "0")))
        except InvalidOperation:
            raise InvalidProductError("carbon_footprint_kg must be a decimal") from None
        return cls(kg, data.get("recyclable_percent", 0), data.get("packaging", "unknown"))


@dataclass(frozen=True)
class Certification:
    """A certificate and its evidence: who issued it, its number, until when it is valid."""

    name: str
    issuer: str
    number: str
    valid_until: date

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "issuer": self.issuer,
            "number": self.number,
            "valid_until": self.valid_until.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Certification:
        return cls(
            data["name"], data["issuer"], data["number"], date.fromisoformat(data["valid_until"])
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.number)


class Product(EcoAggregate):
    class Created(EcoAggregate.Created):
        slug: str
        name: str
        description: str
        meta_description: str
        category_id: UUID | None
        attributes: tuple[tuple[str, str], ...]
        option_names: tuple[str, ...]
        variants: tuple[Variant, ...]
        profile: SustainabilityProfile

    class DetailsEdited(EcoAggregate.Event):
        name: str
        description: str
        meta_description: str
        attributes: tuple[tuple[str, str], ...]
        profile: SustainabilityProfile

    class Recategorized(EcoAggregate.Event):
        category_id: UUID | None

    class CertificationAdded(EcoAggregate.Event):
        certification: Certification

    class CertificationLapsed(EcoAggregate.Event):
        """Past its valid-until date: it no longer counts (score, facets)."""

        name: str
        number: str

    @staticmethod
    def create_id(slug: str) -> UUID:
        return uuid5(PRODUCT_NAMESPACE, slug)

    @classmethod
    def create(
        cls,
        *,
        slug: str,
        name: str,
        description: str,
        meta_description: str = "",
        category_id: UUID | None,
        attributes: tuple[tuple[str, str], ...] = (),
        option_names: tuple[str, ...],
        variants: tuple[Variant, ...],
        profile: SustainabilityProfile,
    ) -> Product:
        check_product_slug(slug)
        option_names = cls.check_option_names(option_names)
        return cls(
            slug=slug,
            name=_short(name, "a product name", MAX_NAME),
            description=cls.check_description(description),
            meta_description=cls.check_meta(meta_description),
            category_id=category_id,
            attributes=cls.check_attributes(attributes),
            option_names=option_names,
            variants=cls.check_variants(option_names, variants),
            profile=profile,
        )

    @event(Created)
    def __init__(
        self,
        *,
        slug: str,
        name: str,
        description: str,
        meta_description: str,
        category_id: UUID | None,
        attributes: tuple[tuple[str, str], ...],
        option_names: tuple[str, ...],
        variants: tuple[Variant, ...],
        profile: SustainabilityProfile,
    ) -> None:
        self.slug = slug
        self.name = name
        self.description = description
        self.meta_description = meta_description
        self.category_id = category_id
        self.attributes = attributes
        self.option_names = option_names
        self.variants = variants
        self.profile = profile
        self.certifications: list[Certification] = []
        self.lapsed: set[tuple[str, str]] = set()

    def valid_certifications(self, today: date) -> list[Certification]:
        return [
            c for c in self.certifications if c.key not in self.lapsed and c.valid_until >= today
        ]

    def score(self, today: date) -> int:
        return sustainability_score(
            carbon_footprint_kg=self.profile.carbon_footprint_kg,
            valid_certifications=len(self.valid_certifications(today)),
            recyclable_percent=self.profile.recyclable_percent,
            packaging=self.profile.packaging,
        )

    # Guards -------------------------------------------------------------------------------
    @staticmethod
    def check_description(description: str) -> str:
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            raise InvalidProductError(f"a description is at most {MAX_DESCRIPTION} characters")
        problem = text_problem(description, multiline=True)
        if problem:
            raise InvalidProductError(f"a description: {problem}")
        return description

    @staticmethod
    def check_meta(meta: str) -> str:
        if meta == "":
            return ""
        return _short(meta, "a meta description", MAX_META)

    @staticmethod
    def check_option_names(names: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(_short(n, "an option name") for n in names)
        if len(names) > MAX_OPTIONS or len(set(names)) != len(names):
            raise InvalidProductError(f"at most {MAX_OPTIONS} options, each named once")
        return names

    @staticmethod
    def check_attributes(attributes: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        pairs = tuple(
            (_short(n, "an attribute name"), _short(v, "an attribute value")) for n, v in attributes
        )
        if len(pairs) > MAX_ATTRIBUTES or len({n for n, _ in pairs}) != len(pairs):
            raise InvalidProductError(f"at most {MAX_ATTRIBUTES} attributes, each named once")
        return pairs

    @staticmethod
    def check_variants(
        option_names: tuple[str, ...], variants: tuple[Variant, ...]
    ) -> tuple[Variant, ...]:
        if not 1 <= len(variants) <= MAX_VARIANTS:
            raise InvalidProductError(f"a product has 1 to {MAX_VARIANTS} variants")
        checked: list[Variant] = []
        for variant in variants:
            check_sku(variant.sku)
            if tuple(n for n, _ in variant.options) != option_names:
                raise InvalidProductError(
                    f"{variant.sku}: give a value for each option, in order: "
                    f"{', '.join(option_names) or '(none)'}"
                )
            values = tuple((n, _short(v, "an option value")) for n, v in variant.options)
            checked.append(Variant(variant.sku, values))
        if len({v.sku for v in checked}) != len(checked):
            raise InvalidProductError("each variant has its own SKU")
        if len({v.options for v in checked}) != len(checked):
            raise InvalidProductError("two variants have the same option values")
        return tuple(checked)

    @staticmethod
    def check_certification(certification: Certification, today: date) -> Certification:
        checked = Certification(
            _short(certification.name, "a certification name", 60),
            _short(certification.issuer, "an issuer"),
            _short(certification.number, "a certificate number"),
            certification.valid_until,
        )
        if checked.valid_until < today:
            raise InvalidProductError(
                f"the certificate expired on {checked.valid_until.isoformat()}"
            )
        return checked

    def check_not_listed(self, certification: Certification) -> None:
        if any(c.key == certification.key for c in self.certifications):
            raise CertificationAlreadyListedError(
                f"{certification.name} {certification.number} is already listed"
            )

    # Commands -----------------------------------------------------------------------------
    def edit(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        meta_description: str | None = None,
        attributes: tuple[tuple[str, str], ...] | None = None,
        profile: SustainabilityProfile | None = None,
    ) -> None:
        new: dict[str, Any] = {
            "name": self.name if name is None else _short(name, "a product name", MAX_NAME),
            "description": (
                self.description if description is None else self.check_description(description)
            ),
            "meta_description": (
                self.meta_description
                if meta_description is None
                else self.check_meta(meta_description)
            ),
            "attributes": (
                self.attributes if attributes is None else self.check_attributes(attributes)
            ),
            "profile": self.profile if profile is None else profile,
        }
        if new != {k: getattr(self, k) for k in new}:
            self._details_edited(**new)

    def recategorize(self, category_id: UUID | None) -> None:
        if category_id != self.category_id:
            self._recategorized(category_id=category_id)

    def add_certification(self, certification: Certification, today: date) -> None:
        checked = self.check_certification(certification, today)
        self.check_not_listed(checked)
        self._certification_added(certification=checked)

    def lapse_certifications(self, today: date) -> list[Certification]:
        """Record each certificate past its date as lapsed; the ones it lapsed."""
        due = [c for c in self.certifications if c.key not in self.lapsed and c.valid_until < today]
        for certification in due:
            self._certification_lapsed(name=certification.name, number=certification.number)
        return due

    # Mutators -----------------------------------------------------------------------------
    @event(DetailsEdited)
    def _details_edited(
        self,
        name: str,
        description: str,
        meta_description: str,
        attributes: tuple[tuple[str, str], ...],
        profile: SustainabilityProfile,
    ) -> None:
        self.name, self.description, self.meta_description = name, description, meta_description
        self.attributes, self.profile = attributes, profile

    @event(Recategorized)
    def _recategorized(self, category_id: UUID | None) -> None:
        self.category_id = category_id

    @event(CertificationAdded)
    def _certification_added(self, certification: Certification) -> None:
        self.certifications.append(certification)

    @event(CertificationLapsed)
    def _certification_lapsed(self, name: str, number: str) -> None:
        self.lapsed.add((name, number))
