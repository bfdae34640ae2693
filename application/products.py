"""Products with variants, the category tree and certifications (admins).

A product and the stock items of its variants are saved in one commit, so a product never
exists without its SKUs nor a SKU without its product. What a variant's stock item repeats
of its product (name, category, sustainability, certification names) is kept in step in the
same commit as the product's change: carts, orders, search and analytics keep working per
SKU and show the product.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from application.errors import AlreadyExistsError
from application.event_store import CommandResult, EventStore
from domain.base import Clock, EcoAggregate, SystemClock
from domain.category import CategoryNotFoundError, CategoryTree, InvalidCategoryError
from domain.money import Money
from domain.product import (
    Certification,
    InvalidProductError,
    Product,
    ProductNotFoundError,
    SustainabilityProfile,
    Variant,
)
from domain.stock_item import DEFAULT_WEIGHT_GRAMS, StockItem, Sustainability

if TYPE_CHECKING:  # the catalog imports products (its import makes them)
    from application.catalog import CatalogService


@dataclass(frozen=True)
class VariantInput:
    """A variant to create: its SKU, option values (by option name) and stock item data."""

    sku: str
    options: Mapping[str, str]
    price: Money
    initial_quantity: int = 0
    weight_grams: int = DEFAULT_WEIGHT_GRAMS
    gtin: str = ""


@dataclass(frozen=True)
class ProductInput:
    slug: str
    name: str
    description: str
    option_names: tuple[str, ...]
    variants: Sequence[VariantInput]
    profile: SustainabilityProfile = field(default_factory=SustainabilityProfile)
    meta_description: str = ""
    category: str | None = None  # a category slug
    attributes: tuple[tuple[str, str], ...] = ()


def variant_name(product_name: str, options: Iterable[tuple[str, str]]) -> str:
    """What a cart or an order line shows: the product and the variant's option values."""
    values = " / ".join(value for _, value in options)
    return f"{product_name} — {values}" if values else product_name


def variant_sustainability(product: Product, today: date) -> Sustainability:
    """What a variant's stock item carries for search facets and orders' CO2: the product's
    footprint and the names of its certifications valid today."""
    profile = product.profile
    return Sustainability(
        carbon_footprint_kg=profile.carbon_footprint_kg,
        certifications=tuple(c.name for c in product.valid_certifications(today)),
        recyclable=profile.recyclable_percent >= 50,
        biodegradable=profile.packaging == "compostable",
    )


class ProductService:
    """Products and their variants, the category tree, certificates. Variants' stock items
    are the catalog's (`catalog.stock_item`); `clock` says which day it is for
    certificates (replaceable, like the accounts' clock)."""

    def __init__(self, store: EventStore, catalog: CatalogService, clock: Clock | None = None):
        self.store = store
        self.catalog = catalog
        self.clock: Clock = clock or SystemClock()

    def catalog_today(self) -> date:
        """Today, in UTC: a certificate valid until today still counts."""
        return self.clock.now().date()

    # Categories ---------------------------------------------------------------------------
    def category_tree(self) -> CategoryTree:
        found = self.store.load(CategoryTree, CategoryTree.create_id())
        return found if found is not None else CategoryTree.start()

    def add_category(self, slug: str, name: str, parent: str | None = None) -> CommandResult:
        tree = self.category_tree()
        tree.add(slug, name, parent)
        return self.store.commit(tree)

    def rename_category(
        self, slug: str, *, new_slug: str | None = None, name: str | None = None
    ) -> CommandResult:
        tree = self.category_tree()
        tree.rename(slug, new_slug=new_slug, name=name)
        return self.store.commit(tree)

    def move_category(self, slug: str, parent: str | None) -> CommandResult:
        """Under `parent` (a slug), or to the root with None."""
        tree = self.category_tree()
        tree.move(slug, parent)
        return self.store.commit(tree)

    def change_category(
        self,
        slug: str,
        *,
        new_slug: str | None = None,
        name: str | None = None,
        parent: str | None = None,
        moves: bool = False,
    ) -> CommandResult:
        """Rename and/or move (`moves`: to `parent`, None being the root), in one commit:
        either both apply or neither."""
        tree = self.category_tree()
        if moves:
            tree.move(slug, parent)
        tree.rename(slug, new_slug=new_slug, name=name)
        return self.store.commit(tree)

    def _category(self, slug: str | None) -> tuple[UUID | None, str]:
        if slug is None:
            return None, ""
        try:
            category = self.category_tree().by_slug(slug)
        except CategoryNotFoundError:  # named in a body: invalid input, not a missing page
            raise InvalidCategoryError(f"no category {slug!r}") from None
        return category.category_id, category.name

    # Products -----------------------------------------------------------------------------
    def product(self, product_id: UUID) -> Product:
        return self.store.load(
            Product, product_id, ProductNotFoundError(f"no product {product_id}")
        )

    def create_product(self, spec: ProductInput) -> CommandResult:
        product, *items = self.new_product(spec)
        return self.store.commit(product, *items)

    def new_product(self, spec: ProductInput) -> list[EcoAggregate]:
        """The product and its variants' stock items, checked and not yet saved (a catalog
        import saves every product of a file in one commit)."""
        category_id, category_name = self._category(spec.category)
        product = Product.create(
            slug=spec.slug,
            name=spec.name,
            description=spec.description,
            meta_description=spec.meta_description,
            category_id=category_id,
            attributes=spec.attributes,
            option_names=spec.option_names,
            variants=tuple(
                Variant(v.sku, tuple((n, v.options.get(n, "")) for n in spec.option_names))
                for v in spec.variants
            ),
            profile=spec.profile,
        )
        self._check_new(product, spec.variants, spec.option_names)
        sustainability = variant_sustainability(product, self.catalog_today())
        items = [
            StockItem.register(
                sku=v.sku,
                name=variant_name(product.name, variant.options),
                description=product.description,
                category=category_name,
                price=v.price,
                initial_quantity=v.initial_quantity,
                sustainability=sustainability,
                weight_grams=v.weight_grams,
                product_id=product.id,
                gtin=v.gtin,
            )
            for v, variant in zip(spec.variants, product.variants, strict=True)
        ]
        return [product, *items]

    def _check_new(
        self, product: Product, variants: Sequence[VariantInput], option_names: tuple[str, ...]
    ) -> None:
        if product.id in self.store.repository:
            raise AlreadyExistsError(f"a product with the slug {product.slug!r} exists")
        for variant in variants:
            if set(variant.options) - set(option_names):
                raise InvalidProductError(
                    f"{variant.sku}: options other than {', '.join(option_names) or '(none)'}"
                )
            if StockItem.create_id(variant.sku) in self.store.repository:
                raise AlreadyExistsError(f"stock item {variant.sku} is already registered")

    def edit_product(
        self,
        product_id: UUID,
        *,
        name: str | None = None,
        description: str | None = None,
        meta_description: str | None = None,
        attributes: tuple[tuple[str, str], ...] | None = None,
        profile: SustainabilityProfile | None = None,
        category: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        product = self.product(product_id)
        self.store.check_version(product, expected_version)
        product.edit(
            name=name,
            description=description,
            meta_description=meta_description,
            attributes=attributes,
            profile=profile,
        )
        category_name = None
        if category is not None:
            category_id, category_name = self._category(category)
            product.recategorize(category_id)
        return self.store.commit(product, *self._variants_in_step(product, category_name))

    def add_certification(
        self, product_id: UUID, certification: Certification, expected_version: int | None = None
    ) -> CommandResult:
        product = self.product(product_id)
        self.store.check_version(product, expected_version)
        product.add_certification(certification, self.catalog_today())
        return self.store.commit(product, *self._variants_in_step(product))

    def lapse_certifications(self, product_ids: Iterable[UUID]) -> list[CommandResult]:
        """The daily sweep: each certificate past its date is recorded as lapsed and leaves
        its product's variants (search facets) and score. Products with none due are not
        touched; running it twice changes nothing the second time."""
        results = []
        for product_id in product_ids:
            product = self.product(product_id)
            if product.lapse_certifications(self.catalog_today()):
                results.append(self.store.commit(product, *self._variants_in_step(product)))
        return results

    def change_gtin(
        self, sku: str, gtin: str, expected_version: int | None = None
    ) -> CommandResult:
        """A variant's barcode ("" removes it); a wrong check digit is refused."""
        item = self.catalog.stock_item(sku)
        self.store.check_version(item, expected_version)
        item.change_gtin(gtin)
        return self.store.commit(item)

    def _variants_in_step(
        self, product: Product, category_name: str | None = None
    ) -> list[StockItem]:
        """The variants' stock items, edited to repeat what they show of the product."""
        items = []
        sustainability = variant_sustainability(product, self.catalog_today())
        for variant in product.variants:
            item = self.catalog.stock_item(variant.sku)
            item.edit(
                name=variant_name(product.name, variant.options),
                description=product.description,
                category=category_name,
                sustainability=sustainability,
            )
            items.append(item)
        return items
