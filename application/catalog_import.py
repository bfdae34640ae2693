"""Importing a catalog file: each row creates its stock item or brings it to the file's
name, category, price, details and stock count, so running the same file again changes
nothing. Rows that name a `product` (its slug) are that product's variants: a new product is
created with all of them (its name, description and category from its rows; `category` is
then a category slug of the tree); a product that exists has its variants' price and stock
brought to the file's (the rest follows the product).

The whole file is checked before anything is saved: every row is parsed, then turned into
the changed aggregates (which runs the domain's own checks: a stock count below what is
reserved, an unknown category, a SKU taken by another product …) and only when no row has an
error is everything saved, in one commit. A file with any bad row changes nothing; the
report lists every error (line and field); a dry run does all but the commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from application.catalog_file import CatalogRow, RowError, parse, records
from application.errors import StockItemNotFoundError
from application.event_store import CommandResult, EventStore
from domain.base import DomainError, EcoAggregate
from domain.product import Product, SustainabilityProfile
from domain.stock_item import StockItem, Sustainability

Progress = Callable[[int, int], None]


class CatalogService(Protocol):
    """What a catalog file needs of the catalog service (application/catalog.py)."""

    store: EventStore

    def stock_item(self, sku: str) -> StockItem: ...

    @property
    def register_stock_item(self) -> Callable[..., CommandResult]: ...


class ProductMaker(Protocol):
    """What importing variants needs of the product service (application/products.py)."""

    def new_product(self, spec: Any) -> list[EcoAggregate]: ...


@dataclass
class RowChange:
    line: int
    sku: str
    action: str  # create | update | unchanged
    fields: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    changes: list[RowChange] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def applied(self) -> bool:
        return not self.dry_run and not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "applied": self.applied,
            "rows": self.rows,
            "created": self.count("create"),
            "updated": self.count("update"),
            "unchanged": self.count("unchanged"),
            "changes": [vars(c) for c in self.changes if c.action != "unchanged"],
            "errors": [vars(e) for e in self.errors],
        }


def differences(item: StockItem, row: CatalogRow) -> list[str]:
    """The fields the row would change on `item`."""
    changed = [
        name
        for name, new in (
            ("name", row.name),
            ("category", row.category),
            ("description", row.description),
            ("weight_grams", row.weight_grams),
        )
        if getattr(item, name) != new
    ]
    if item.sustainability != Sustainability.of(row.sustainability):
        changed.append("sustainability")
    if item.price != row.price:
        changed.append("price")
    if row.stock is not None and row.stock != item.on_hand:
        changed.append("stock")
    if item.archived:
        changed.append("archived")  # reported: an import does not bring a product back
    return changed


def _existing(catalog: CatalogService, sku: str) -> StockItem | None:
    try:
        return catalog.stock_item(sku)
    except StockItemNotFoundError:
        return None


def plan(catalog: CatalogService, row: CatalogRow) -> RowChange:
    """What applying the row would change (a dry run)."""
    item = _existing(catalog, row.sku)
    if item is None:
        return RowChange(row.line, row.sku, "create", ["everything"])
    changed = [f for f in differences(item, row) if f != "archived"]
    return RowChange(row.line, row.sku, "update" if changed else "unchanged", changed)


def prepared(catalog: CatalogService, row: CatalogRow) -> tuple[RowChange, list[EcoAggregate]]:
    """The row's stock item, registered or changed, not yet saved."""
    item = _existing(catalog, row.sku)
    if item is None:
        item = StockItem.register(
            sku=row.sku,
            name=row.name,
            description=row.description,
            category=row.category,
            price=row.price,
            initial_quantity=row.stock or 0,
            sustainability=row.sustainability,
            weight_grams=row.weight_grams,
        )
        return RowChange(row.line, row.sku, "create", ["everything"]), [item]
    changed = [f for f in differences(item, row) if f != "archived"]
    if not changed:
        return RowChange(row.line, row.sku, "unchanged"), []
    item.edit(
        name=row.name,
        description=row.description,
        category=row.category,
        weight_grams=row.weight_grams,
        sustainability=row.sustainability,
    )
    _price_and_stock(item, row)
    return RowChange(row.line, row.sku, "update", changed), [item]


def apply(catalog: CatalogService, row: CatalogRow) -> RowChange:
    """The row's stock item, created or changed in one commit."""
    change, aggregates = prepared(catalog, row)
    if aggregates:
        catalog.store.commit(*aggregates)
    return change


def _price_and_stock(item: StockItem, row: CatalogRow) -> None:
    item.change_price(row.price)
    if row.stock is not None and row.stock != item.on_hand:
        item.adjust(row.stock - item.on_hand, f"catalog import, line {row.line}")


def _variant_rows(
    catalog: CatalogService, product: Product, rows: list[CatalogRow], errors: list[RowError]
) -> tuple[list[RowChange], list[EcoAggregate]]:
    """Rows of a product that exists: its variants' price and stock."""
    skus = {v.sku for v in product.variants}
    changes: list[RowChange] = []
    aggregates: list[EcoAggregate] = []
    for row in rows:
        if row.sku not in skus:
            message = (
                f"{row.sku} is not a variant of {product.slug}: "
                "a product's variants are set when it is created"
            )
            errors.append(RowError(row.line, "sku", message))
            continue
        item = catalog.stock_item(row.sku)
        changed = [f for f in differences(item, row) if f in ("price", "stock")]
        if changed:
            _price_and_stock(item, row)
            aggregates.append(item)
        changes.append(RowChange(row.line, row.sku, "update" if changed else "unchanged", changed))
    return changes, aggregates


def _same(rows: list[CatalogRow], what: str, errors: list[RowError]) -> None:
    """Every row of one product gives the same `what` (its name, category, option names)."""
    first = rows[0]

    def value(row: CatalogRow) -> Any:
        return tuple(n for n, _ in row.options) if what == "options" else getattr(row, what)

    for row in rows[1:]:
        if value(row) != value(first):
            message = f"differs from line {first.line}: the rows of {first.product} share it"
            errors.append(RowError(row.line, what, message))


def _new_product(
    products: ProductMaker, rows: list[CatalogRow], errors: list[RowError]
) -> tuple[list[RowChange], list[EcoAggregate]]:
    """A product that does not exist yet, with every row as a variant."""
    from application.products import ProductInput, VariantInput

    found: list[RowError] = []
    for what in ("name", "category", "options"):
        _same(rows, what, found)
    for row in rows:
        if row.sustainability.get("certifications"):
            message = (
                "a product's certificates need evidence (issuer, number, valid until): "
                "add them to the product, POST /products/{id}/certifications"
            )
            found.append(RowError(row.line, "certifications", message))
    if found:
        errors += found
        return [], []
    first = rows[0]
    green = first.sustainability
    spec = ProductInput(
        slug=first.product,
        name=first.name,
        description=first.description,
        option_names=tuple(n for n, _ in first.options),
        variants=[
            VariantInput(r.sku, dict(r.options), r.price, r.stock or 0, r.weight_grams)
            for r in rows
        ],
        profile=SustainabilityProfile(
            Decimal(green.get("carbon_footprint_kg", "0")),
            100 if green.get("recyclable") else 0,
            "compostable" if green.get("biodegradable") else "unknown",
        ),
        category=first.category or None,
    )
    aggregates = products.new_product(spec)
    return [RowChange(r.line, r.sku, "create", ["everything"]) for r in rows], aggregates


def _product_rows(
    catalog: CatalogService,
    products: ProductMaker | None,
    rows: list[CatalogRow],
    errors: list[RowError],
) -> tuple[list[RowChange], list[EcoAggregate]]:
    """The rows of one product (`rows[0].product`), as changes and aggregates."""
    if products is None:
        errors += [RowError(r.line, "product", "products cannot be imported here") for r in rows]
        return [], []
    existing = catalog.store.load(Product, Product.create_id(rows[0].product))
    if existing is None:
        return _new_product(products, rows, errors)
    return _variant_rows(catalog, existing, rows, errors)


def _groups(rows: list[CatalogRow]) -> list[list[CatalogRow]]:
    """Each stock item's row alone, each product's rows together, in the file's order."""
    groups: dict[str, list[CatalogRow]] = {}
    for row in rows:
        groups.setdefault(f"product:{row.product}" if row.product else f"sku:{row.sku}", []).append(
            row
        )
    return list(groups.values())


def import_file(
    catalog: CatalogService,
    data: bytes,
    filename: str,
    *,
    dry_run: bool,
    max_bytes: int,
    progress: Progress | None = None,
    products: ProductMaker | None = None,
) -> ImportReport:
    """Read and check every row, turn each into its changed aggregates (the domain's checks
    included), and only if no row has an error (and not `dry_run`) save them all in one
    commit: a file is applied whole or not at all."""
    rows, errors = parse(records(data, filename, max_bytes))
    report = ImportReport(dry_run, rows=len(rows) + len({e.line for e in errors}))
    report.errors = errors
    aggregates: list[EcoAggregate] = []
    done = 0
    for group in _groups(rows):
        try:
            if group[0].product:
                changes, changed = _product_rows(catalog, products, group, report.errors)
            else:
                change, changed = prepared(catalog, group[0])
                changes = [change]
            report.changes += changes
            aggregates += changed
        except DomainError as error:  # e.g. a stock count below what is reserved
            report.errors.append(RowError(group[0].line, "row", str(error)))
        done += len(group)
        if progress is not None:
            progress(done, len(rows))
    report.errors.sort(key=lambda e: e.line)
    if aggregates and not dry_run and not report.errors:
        catalog.store.commit(*aggregates)
    return report
