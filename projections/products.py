"""Products read model: one document per product with its variants, the category tree with
product counts, and the indexes sitemaps and the certification sweep read.

A product document gathers the `Product` (name, options, profile, certifications) and the
stock items of its variants (price, availability, GTIN, weight). A stock item registered
before products existed (its product id is its own id) is a single-variant product of its
own, `legacy: true`, whose slug is its name and SKU. Everything here is a function of the
events only (never of the clock), so a rebuild writes the same bytes; whether a
certification is past its date *today* is decided by the reader.

Keys: `product:{id}`, `product-slug:{slug}` → id, `product-variant:{stock item id}` → id,
`categories` (the tree and each category's direct product count), index `products`
(every product), index `products-certified` (products with certificates to sweep).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from functools import singledispatchmethod
from typing import Any

from domain.category import CategoryTree
from domain.product import Product
from domain.stock_item import StockItem, Sustainability
from domain.sustainability_score import sustainability_score
from projections.base import Change, DocumentProjection, IndexAdd, Put

Doc = dict[str, Any]
CATEGORIES = "categories"
ALL_PRODUCTS = "products"
CERTIFIED = "products-certified"
META_LENGTH = 155


def product_key(product_id: object) -> str:
    return f"product:{product_id}"


def slug_key(slug: str) -> str:
    return f"product-slug:{slug}"


def variant_key(stock_item_id: object) -> str:
    return f"product-variant:{stock_item_id}"


def slugify(text: str, limit: int = 100) -> str:
    """ASCII words joined by hyphens: "Camiseta Orgânica P" -> "camiseta-organica-p"."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")[:limit].strip("-") or "produto"


def meta_description(given: str, description: str) -> str:
    """The given one, else the description's first words up to 155 characters."""
    if given:
        return given
    text = " ".join(description.split())
    if len(text) <= META_LENGTH:
        return text
    return text[: META_LENGTH - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def counting_certifications(doc: Doc, today: str | None = None) -> list[Doc]:
    """Certifications with evidence, not lapsed, and (given `today`, ISO) not past date."""
    return [
        c
        for c in doc["certifications"]
        if c["evidence"] and not c["lapsed"] and (today is None or c["valid_until"] >= today)
    ]


def score_of(doc: Doc, today: str | None = None) -> int:
    profile = doc["profile"]
    return sustainability_score(
        carbon_footprint_kg=Decimal(profile["carbon_footprint_kg"]),
        valid_certifications=len(counting_certifications(doc, today)),
        recyclable_percent=profile["recyclable_percent"],
        packaging=profile["packaging"],
    )


def category_path(tree: Doc | None, doc: Doc) -> list[str]:
    """The slugs from the root to the product's category (`tree`: the `categories` doc).
    A single-variant product of old carries a free-text category: its slug names a tree
    category when one has it, else it is a path of one."""
    categories: dict[str, Doc] = (tree or {}).get("categories", {})
    category_id = doc.get("category_id")
    if category_id is None and doc.get("legacy_category"):
        slug = doc["legacy_category"]
        category_id = next((i for i, c in categories.items() if c["slug"] == slug), None)
        if category_id is None:
            return [slug]
    path: list[str] = []
    while category_id is not None and category_id in categories:
        path.insert(0, categories[category_id]["slug"])
        category_id = categories[category_id]["parent_id"]
    return path


def _count_key(doc: Doc) -> str | None:
    if doc.get("archived"):
        return None
    if doc.get("category_id"):
        return str(doc["category_id"])
    return f"slug:{doc['legacy_category']}" if doc.get("legacy_category") else None


class ProductsProjection(DocumentProjection):
    name = "products"

    # Writing ------------------------------------------------------------------------------
    def _tree(self) -> Doc:
        return self.view.get(CATEGORIES) or {"categories": {}, "counts": {}}

    def _stored(self, doc: Doc, before: Doc | None) -> list[Change]:
        """The product with its derived fields, and the category counts if they moved."""
        live = [v for v in doc["variants"] if v.get("price") and not v["archived"]]
        priced = live or [v for v in doc["variants"] if v.get("price")]
        amounts = [Decimal(v["price"]["amount"]) for v in priced]
        doc["price_min"] = str(min(amounts)) if amounts else None
        doc["price_max"] = str(max(amounts)) if amounts else None
        doc["available"] = sum(v.get("available", 0) for v in live)
        doc["archived"] = bool(doc["variants"]) and not live and bool(priced)
        doc["sustainability_score"] = score_of(doc)
        changes: list[Change] = [Put(product_key(doc["product_id"]), doc)]
        old, new = _count_key(before) if before else None, _count_key(doc)
        if old != new:
            tree = self._tree()
            for key, step in ((old, -1), (new, 1)):
                if key is not None:
                    tree["counts"][key] = tree["counts"].get(key, 0) + step
                    if tree["counts"][key] == 0:
                        del tree["counts"][key]
            changes.append(Put(CATEGORIES, tree))
        return changes

    def _product_of(self, event: StockItem.Event) -> tuple[Doc | None, str]:
        ref = self.view.get(variant_key(event.originator_id))
        if ref is None:
            return None, ""
        return self.view.get(product_key(ref["product_id"])), ref["sku"]

    def _variant(self, event: StockItem.Event, **fields: Any) -> list[Change]:
        doc, sku = self._product_of(event)
        if doc is None:
            return []
        before = _shallow(doc)
        for variant in doc["variants"]:
            if variant["sku"] == sku:
                for name, value in fields.items():
                    if name.startswith("delta_"):
                        variant[name[6:]] += value
                    else:
                        variant[name] = value
                variant["available"] = variant["on_hand"] - variant["reserved"]
        if doc["legacy"]:
            doc["version"] = event.originator_version
        return self._stored(doc, before)

    def _product(self, event: Product.Event, **fields: Any) -> list[Change]:
        doc = self.view.get(product_key(event.originator_id))
        if doc is None:
            return []
        before = _shallow(doc)
        doc.update(fields)
        doc["version"] = event.originator_version
        doc["updated_at"] = event.timestamp.isoformat()
        return self._stored(doc, before)

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []

    # Products -----------------------------------------------------------------------------
    @evolve.register
    def _created(self, event: Product.Created) -> list[Change]:
        product_id = str(event.originator_id)
        at = event.timestamp.isoformat()
        doc: Doc = {
            "product_id": product_id,
            "slug": event.slug,
            "name": event.name,
            "description": event.description,
            "meta_description": meta_description(event.meta_description, event.description),
            "category_id": str(event.category_id) if event.category_id else None,
            "legacy_category": None,
            "attributes": [list(pair) for pair in event.attributes],
            "option_names": list(event.option_names),
            "variants": [
                {"sku": v.sku, "options": dict(v.options), "archived": False}
                for v in event.variants
            ],
            "profile": event.profile.to_dict(),
            "certifications": [],
            "rating_average": None,
            "rating_count": 0,
            "legacy": False,
            "created_at": at,
            "updated_at": at,
            "version": event.originator_version,
        }
        return [
            *self._stored(doc, None),
            Put(slug_key(event.slug), {"product_id": product_id}),
            IndexAdd(ALL_PRODUCTS, product_id, 0),
        ]

    @evolve.register
    def _details_edited(self, event: Product.DetailsEdited) -> list[Change]:
        return self._product(
            event,
            name=event.name,
            description=event.description,
            meta_description=meta_description(event.meta_description, event.description),
            attributes=[list(pair) for pair in event.attributes],
            profile=event.profile.to_dict(),
        )

    @evolve.register
    def _recategorized(self, event: Product.Recategorized) -> list[Change]:
        category_id = str(event.category_id) if event.category_id else None
        return self._product(event, category_id=category_id)

    @evolve.register
    def _certified(self, event: Product.CertificationAdded) -> list[Change]:
        doc = self.view.get(product_key(event.originator_id))
        if doc is None:
            return []
        entry = {**event.certification.to_dict(), "lapsed": False, "evidence": True}
        changes = self._product(event, certifications=[*doc["certifications"], entry])
        return [*changes, IndexAdd(CERTIFIED, str(event.originator_id), 0)]

    @evolve.register
    def _lapsed(self, event: Product.CertificationLapsed) -> list[Change]:
        doc = self.view.get(product_key(event.originator_id))
        if doc is None:
            return []
        certifications = [
            {**c, "lapsed": True} if (c["name"], c["number"]) == (event.name, event.number) else c
            for c in doc["certifications"]
        ]
        return self._product(event, certifications=certifications)

    # Stock items: variants, and the single-variant products of old -----------------------
    @evolve.register
    def _registered(self, event: StockItem.Registered) -> list[Change]:
        product_id = str(event.product_id)
        variant = {
            "sku": event.sku,
            "options": {},
            "price": event.price.to_dict(),
            "on_hand": event.initial_quantity,
            "reserved": 0,
            "available": event.initial_quantity,
            "gtin": event.gtin,
            "weight_grams": event.weight_grams,
            "archived": False,
        }
        ref = Put(variant_key(event.originator_id), {"product_id": product_id, "sku": event.sku})
        if event.product_id != event.originator_id:
            doc = self.view.get(product_key(product_id))
            if doc is None:
                return [ref]
            before = _shallow(doc)
            doc["variants"] = [
                {**v, **variant, "options": v["options"]} if v["sku"] == event.sku else v
                for v in doc["variants"]
            ]
            return [*self._stored(doc, before), ref]
        doc = _legacy(event, variant)
        return [
            *self._stored(doc, None),
            ref,
            Put(slug_key(doc["slug"]), {"product_id": product_id}),
            IndexAdd(ALL_PRODUCTS, product_id, 0),
        ]

    @evolve.register
    def _edited(self, event: StockItem.DetailsEdited) -> list[Change]:
        doc, _ = self._product_of(event)
        if doc is None or not doc["legacy"]:  # a variant's details follow its product
            return self._variant(event, weight_grams=event.weight_grams)
        before = _shallow(doc)
        doc.update(legacy_fields(event, event.sustainability))
        doc["variants"][0]["weight_grams"] = event.weight_grams
        doc["version"] = event.originator_version
        doc["updated_at"] = event.timestamp.isoformat()
        return self._stored(doc, before)

    @evolve.register
    def _received(self, event: StockItem.Received) -> list[Change]:
        return self._variant(event, delta_on_hand=event.quantity)

    @evolve.register
    def _restocked(self, event: StockItem.Restocked) -> list[Change]:
        return self._variant(event, delta_on_hand=event.quantity)

    @evolve.register
    def _adjusted(self, event: StockItem.Adjusted) -> list[Change]:
        return self._variant(event, delta_on_hand=event.quantity_delta)

    @evolve.register
    def _reserved(self, event: StockItem.Reserved) -> list[Change]:
        return self._variant(event, delta_reserved=event.quantity)

    @evolve.register
    def _released(self, event: StockItem.Released) -> list[Change]:
        return self._variant(event, delta_reserved=-event.quantity)

    @evolve.register
    def _committed(self, event: StockItem.Committed) -> list[Change]:
        return self._variant(event, delta_reserved=-event.quantity, delta_on_hand=-event.quantity)

    @evolve.register
    def _priced(self, event: StockItem.PriceChanged) -> list[Change]:
        return self._variant(event, price=event.price.to_dict())

    @evolve.register
    def _gtin(self, event: StockItem.GtinChanged) -> list[Change]:
        return self._variant(event, gtin=event.gtin)

    @evolve.register
    def _archived(self, event: StockItem.Archived) -> list[Change]:
        return self._variant(event, archived=True)

    # Categories ---------------------------------------------------------------------------
    @evolve.register
    def _category_added(self, event: CategoryTree.CategoryAdded) -> list[Change]:
        tree = self._tree()
        tree["categories"][str(event.category_id)] = {
            "slug": event.slug,
            "name": event.name,
            "parent_id": str(event.parent_id) if event.parent_id else None,
        }
        return [Put(CATEGORIES, tree)]

    @evolve.register
    def _category_renamed(self, event: CategoryTree.CategoryRenamed) -> list[Change]:
        tree = self._tree()
        category = tree["categories"][str(event.category_id)]
        category.update(slug=event.slug, name=event.name)
        return [Put(CATEGORIES, tree)]

    @evolve.register
    def _category_moved(self, event: CategoryTree.CategoryMoved) -> list[Change]:
        tree = self._tree()
        parent_id = str(event.parent_id) if event.parent_id else None
        tree["categories"][str(event.category_id)]["parent_id"] = parent_id
        return [Put(CATEGORIES, tree)]


def _shallow(doc: Doc) -> Doc:
    return {"archived": doc.get("archived"), **{k: doc.get(k) for k in _COUNTED}}


_COUNTED = ("category_id", "legacy_category")


def legacy_fields(event: StockItem.Event, value: Any) -> Doc:
    sustainability = Sustainability.of(value)
    return {
        "name": getattr(event, "name", ""),
        "description": getattr(event, "description", ""),
        "meta_description": meta_description("", getattr(event, "description", "")),
        "legacy_category": slugify(category)
        if (category := getattr(event, "category", ""))
        else None,
        "profile": {
            "carbon_footprint_kg": str(sustainability.carbon_footprint_kg),
            "recyclable_percent": 100
            if sustainability.recyclable or sustainability.biodegradable
            else 0,
            "packaging": "unknown",
        },
        # Bare names, as registered: shown, but not evidence (they do not score).
        "certifications": [
            {
                "name": name,
                "issuer": None,
                "number": None,
                "valid_until": None,
                "lapsed": False,
                "evidence": False,
            }
            for name in sustainability.certifications
        ],
    }


def _legacy(event: StockItem.Registered, variant: Doc) -> Doc:
    """A stock item of old as the single-variant product it is."""
    at = event.timestamp.isoformat()
    return {
        "product_id": str(event.originator_id),
        "slug": f"{slugify(event.name, 60)}-{slugify(event.sku, 39)}",
        **legacy_fields(event, event.sustainability),
        "category_id": None,
        "attributes": [],
        "option_names": [],
        "variants": [variant],
        "rating_average": None,
        "rating_count": 0,
        "legacy": True,
        "created_at": at,
        "updated_at": at,
        "version": event.originator_version,
    }
