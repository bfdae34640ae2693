"""What search engines read, as data the storefront embeds: a product's JSON-LD `Product`
(schema.org, with its offers and, when it has ratings, `aggregateRating`) and the
`sitemap.xml` of products and categories (sitemaps.org protocol 0.9).

The storefront renders pages at `{base}/produtos/{slug}` and `{base}/categorias/{path}`;
both functions take that base URL, so the API and the storefront agree on the addresses.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

Doc = dict[str, Any]
SCHEMA = "https://schema.org"


def product_url(base_url: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/produtos/{slug}"


def category_url(base_url: str, path: list[str]) -> str:
    return f"{base_url.rstrip('/')}/categorias/{'/'.join(path)}"


def _offer(product: Doc, variant: Doc, base_url: str) -> Doc:
    offer: Doc = {
        "@type": "Offer",
        "sku": variant["sku"],
        "price": variant["price"]["amount"],
        "priceCurrency": variant["price"]["currency"],
        "availability": f"{SCHEMA}/{'InStock' if variant['available'] > 0 else 'OutOfStock'}",
        "url": product_url(base_url, product["slug"]),
        "itemCondition": f"{SCHEMA}/NewCondition",
    }
    if variant.get("gtin"):
        offer["gtin"] = variant["gtin"]
    return offer


def product_jsonld(product: Doc, base_url: str) -> Doc:
    """A public product (`ProductsReader.get`'s answer) as a JSON-LD `Product`."""
    live = [v for v in product["variants"] if not v["archived"]]
    data: Doc = {
        "@context": SCHEMA,
        "@type": "Product",
        "@id": product_url(base_url, product["slug"]),
        "name": product["name"],
        "description": product["meta_description"] or product["description"],
        "sku": live[0]["sku"] if len(live) == 1 else product["product_id"],
        "url": product_url(base_url, product["slug"]),
        "category": " > ".join(product["category_path"]) or None,
        "additionalProperty": [
            {
                "@type": "PropertyValue",
                "name": "sustainability_score",
                "value": product["sustainability_score"],
            },
            {
                "@type": "PropertyValue",
                "name": "carbon_footprint_kg",
                "value": product["sustainability"]["carbon_footprint_kg"],
            },
        ],
    }
    if len(live) > 1:
        data["offers"] = {
            "@type": "AggregateOffer",
            "lowPrice": product["price_min"]["amount"],
            "highPrice": product["price_max"]["amount"],
            "priceCurrency": "BRL",
            "offerCount": len(live),
            "offers": [_offer(product, v, base_url) for v in live],
        }
    elif live:
        data["offers"] = _offer(product, live[0], base_url)
    if product.get("rating_count"):
        data["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": product["rating_average"],
            "reviewCount": product["rating_count"],
            "bestRating": 5,
            "worstRating": 1,
        }
    return {k: v for k, v in data.items() if v is not None}


def sitemap_xml(products: list[Doc], categories: list[Doc], base_url: str) -> str:
    """Every product on sale (archived ones are left out) and every category."""
    urls: list[tuple[str, str | None]] = [
        (product_url(base_url, p["slug"]), p["updated_at"][:10])
        for p in sorted(products, key=lambda p: p["slug"])
        if not p["archived"]
    ]
    pending = list(categories)
    while pending:
        category = pending.pop(0)
        urls.append((category_url(base_url, category["path"]), None))
        pending.extend(category["children"])
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
    ]
    for loc, lastmod in urls:
        modified = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
        lines.append(f"  <url><loc>{escape(loc)}</loc>{modified}</url>")
    lines.append("</urlset>")
    return "\n".join(lines) + "\n"
