"""Queries of the products read model: a product by id or slug, the category tree with
counts, what the sitemap lists, and the certificates the back office must look at.

"Today" is the caller's (the edge passes the replaceable clock's date): a certificate past
its valid-until date stops counting here at once, before the daily sweep records it.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.product import ProductNotFoundError
from projections.products import (
    ALL_PRODUCTS,
    CATEGORIES,
    CERTIFIED,
    category_path,
    counting_certifications,
    product_key,
    score_of,
    slug_key,
)

Doc = dict[str, Any]
VARIANT_FIELDS = ("sku", "options", "price", "available", "gtin", "weight_grams", "archived")

if TYPE_CHECKING:  # readers builds this reader: a type only, no import cycle
    from projections.readers import Documents


def _public_certification(c: Doc, today: str) -> Doc:
    expired = c["lapsed"] or (c["valid_until"] is not None and c["valid_until"] < today)
    return {
        "name": c["name"],
        "issuer": c["issuer"],
        "number": c["number"],
        "valid_until": c["valid_until"],
        "evidence": c["evidence"],
        "expired": expired,
        "counts": c["evidence"] and not expired,
    }


def public_product(doc: Doc, tree: Doc | None, today: date) -> Doc:
    """`GET /products/{id}`'s answer (the API's `ProductPublic`)."""
    day = today.isoformat()
    return {
        "product_id": doc["product_id"],
        "slug": doc["slug"],
        "name": doc["name"],
        "description": doc["description"],
        "meta_description": doc["meta_description"],
        "category_path": category_path(tree, doc),
        "attributes": {name: value for name, value in doc["attributes"]},
        "option_names": doc["option_names"],
        "variants": [
            {name: v.get(name) for name in VARIANT_FIELDS}
            for v in doc["variants"]
            if v.get("price") is not None
        ],
        "price_min": _money(doc["price_min"]),
        "price_max": _money(doc["price_max"]),
        "available": doc["available"],
        "in_stock": doc["available"] > 0,
        "sustainability": doc["profile"],
        "certifications": [_public_certification(c, day) for c in doc["certifications"]],
        "sustainability_score": score_of(doc, day),
        "rating_average": doc["rating_average"],
        "rating_count": doc["rating_count"],
        "archived": doc["archived"],
        "legacy": doc["legacy"],
        "created_at": doc["created_at"],
        "updated_at": doc["updated_at"],
        "version": doc["version"],
    }


def _money(amount: str | None) -> Doc | None:
    return None if amount is None else {"amount": amount, "currency": "BRL"}


class ProductsReader:
    def __init__(self, docs: Documents):
        self.docs = docs

    def _doc(self, id_or_slug: str) -> Doc:
        try:
            product_id = str(UUID(id_or_slug))
        except ValueError:
            ref = self.docs.get(slug_key(id_or_slug))
            product_id = ref["product_id"] if ref else ""
        doc = self.docs.get(product_key(product_id)) if product_id else None
        if doc is None:
            raise ProductNotFoundError(f"no product {id_or_slug}")
        return doc

    def get(self, id_or_slug: str, today: date) -> Doc:
        return public_product(self._doc(id_or_slug), self.docs.get(CATEGORIES), today)

    def categories(self) -> list[Doc]:
        """The tree, roots first, each node with `count`: the products filed in it or in
        any category under it (archived products are not counted)."""
        tree = self.docs.get(CATEGORIES) or {"categories": {}, "counts": {}}
        nodes = tree["categories"]
        counts = tree["counts"]

        def node(category_id: str, path: list[str]) -> Doc:
            c = nodes[category_id]
            here = [*path, c["slug"]]
            children = [node(i, here) for i in _children(nodes, category_id)]
            own = counts.get(category_id, 0) + counts.get(f"slug:{c['slug']}", 0)
            return {
                "category_id": category_id,
                "slug": c["slug"],
                "name": c["name"],
                "path": here,
                "count": own + sum(child["count"] for child in children),
                "children": children,
            }

        return [node(i, []) for i in _children(nodes, None)]

    def all_products(self) -> list[Doc]:
        ids = self.docs.members(ALL_PRODUCTS, 0, -1)
        return [d for d in self.docs.get_many([product_key(i) for i in sorted(ids)]) if d]

    def certified_ids(self) -> list[UUID]:
        """Products with certificates (to sweep for lapsed ones)."""
        return [UUID(i) for i in sorted(self.docs.members(CERTIFIED, 0, -1))]

    def expired_certifications(self, today: date) -> list[Doc]:
        """For the back office: every certificate past its date (lapsed or not yet swept)."""
        day = today.isoformat()
        ids = self.docs.members(CERTIFIED, 0, -1)
        flagged = []
        for doc in self.docs.get_many([product_key(i) for i in sorted(ids)]):
            if doc is None:
                continue
            valid = counting_certifications(doc, day)
            for c in doc["certifications"]:
                if c["evidence"] and c not in valid:
                    flagged.append(
                        {
                            "product_id": doc["product_id"],
                            "slug": doc["slug"],
                            "name": doc["name"],
                            "certification": _public_certification(c, day),
                        }
                    )
        return flagged


def _children(nodes: dict[str, Doc], parent_id: str | None) -> list[str]:
    return sorted(
        (i for i, c in nodes.items() if c["parent_id"] == parent_id), key=lambda i: nodes[i]["slug"]
    )
