"""Queries of the reviews and product-images read models.

The product's rating (`rating_average`, `rating_count`, `rating_stars`) and its `images`
are the fields the product read model shows (`product_fields`); the reviews list and the
moderation queues are their own answers. An erased author's review reads as "Cliente"
with its words erased (`keep`), or is left out of the list and the rating (`remove`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from domain.personal import WordsSealer, opened_words
from domain.review import ANONYMOUS_AUTHOR, rating_summary
from projections.product_images import images_key
from projections.readers import Doc, Documents, Page
from projections.reviews import QUEUES, STARS, review_key, shown_index, stars_key

KEEP, REMOVE = "keep", "remove"


class ReviewsReader:
    def __init__(
        self,
        docs: Documents,
        words: WordsSealer | None = None,
        after_erasure: str = KEEP,
    ) -> None:
        self.docs = docs
        self.words = words
        self.after_erasure = after_erasure

    def rating(self, product_id: object) -> dict[str, Any]:
        stars = self.docs.get(stars_key(product_id)) or {}
        counts = dict.fromkeys(STARS, 0)
        buckets = ("named",) if self.after_erasure == REMOVE else ("named", "erased")
        for bucket in buckets:
            for star, n in stars.get(bucket, {}).items():
                counts[star] += n
        return rating_summary(counts)

    def page(self, product_id: object, page: int = 1, size: int = 20) -> Page:
        """A product's approved reviews, newest first."""
        indexes = [shown_index(product_id)]
        if self.after_erasure == KEEP:
            indexes.append(shown_index(product_id, erased=True))
        stop = page * size
        ranked: list[tuple[float, str]] = []
        for index in indexes:  # the first `stop` of each, merged by date
            ranked += [(d["_score"], d["review_id"]) for d in self._scored(index, stop)]
        ranked.sort(reverse=True)
        ids = [r for _, r in ranked][(page - 1) * size : stop]
        docs = [d for d in self.docs.get_many([review_key(i) for i in ids]) if d is not None]
        total = sum(self.docs.count(i) for i in indexes)
        return Page([self.public(d) for d in docs], total, page, size)

    def _scored(self, index: str, limit: int) -> list[Doc]:
        ids = self.docs.members(index, 0, limit - 1)
        docs = self.docs.get_many([review_key(i) for i in ids])
        return [{**d, "_score": _when(d)} for d in docs if d is not None]

    def queue(self, name: str, page: int = 1, size: int = 20) -> Page:
        """Reviews waiting for a moderator (staff): `pending` or `reported`."""
        index = QUEUES[name]
        ids = self.docs.members(index, (page - 1) * size, page * size - 1)
        docs = [d for d in self.docs.get_many([review_key(i) for i in ids]) if d is not None]
        return Page([self.staff(d) for d in docs], self.docs.count(index), page, size)

    def get(self, review_id: object) -> Doc | None:
        doc = self.docs.get(review_key(review_id))
        return None if doc is None else self.staff(doc)

    def _opened(self, doc: Doc) -> dict[str, Any]:
        author = opened_words(doc["author"], self.words)
        return {
            "author_name": author if isinstance(author, str) and author else ANONYMOUS_AUTHOR,
            "title": _text(opened_words(doc["title"], self.words)),
            "body": _text(opened_words(doc["body"], self.words)),
        }

    def public(self, doc: Doc) -> Doc:
        """What shoppers see: no customer or order id."""
        return {
            "review_id": doc["review_id"],
            "product_id": doc["product_id"],
            "rating": doc["rating"],
            **self._opened(doc),
            "verified_purchase": True,
            "submitted_at": doc["submitted_at"],
        }

    def staff(self, doc: Doc) -> Doc:
        """What moderators see: the public fields, the status, reports, the variant."""
        return {
            **self.public(doc),
            "customer_id": doc["customer_id"],
            "sku": doc["sku"],
            "status": doc["status"],
            "author_erased": doc["erased"],
            "reports": doc["reports"],
            "moderated_at": doc["moderated_at"],
            "rejection_reason": _text(opened_words(doc["rejection_reason"], self.words)),
            "version": doc["version"],
        }


def _text(value: Any) -> str | None:
    """Words as shown: the text, or None when there are none or they were erased."""
    return value if isinstance(value, str) and value else None


def _when(doc: Doc) -> float:
    return datetime.fromisoformat(doc["submitted_at"]).timestamp()


class ProductImagesReader:
    def __init__(self, docs: Documents, url: Callable[[str], str]) -> None:
        self.docs = docs
        self.url = url

    def images(self, product_id: object) -> list[dict[str, Any]]:
        doc = self.docs.get(images_key(product_id)) or {"images": []}
        return [image_shown(image, self.url) for image in doc["images"]]


def image_shown(image: dict[str, Any], url: Callable[[str], str]) -> dict[str, Any]:
    """An image as the API shows it: alt, size and a URL per rendition (never a key)."""
    return {
        "image_id": image["image_id"],
        "alt": image["alt"],
        "width": image["width"],
        "height": image["height"],
        "renditions": [
            {
                "format": r["format"],
                "width": r["width"],
                "height": r["height"],
                "url": url(r["key"]),
            }
            for r in image["renditions"]
        ],
    }


def product_fields(
    reviews: ReviewsReader, images: ProductImagesReader, product_id: object
) -> dict[str, Any]:
    """The fields the product read model shows of ratings and images (the contract with
    the products work: merged into its product document when it lands)."""
    return {**reviews.rating(product_id), "images": images.images(product_id)}
