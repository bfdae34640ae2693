"""Product images view: one document per product with its images as the events recorded
them (object keys, not URLs: the URL depends on where the objects are served from, which
the reader decides; a rebuild writes the same bytes whatever the configuration)."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from domain.product_media import ProductMedia
from projections.base import Change, DocumentProjection, Put


def images_key(product_id: object) -> str:
    return f"images:{product_id}"


class ProductImagesProjection(DocumentProjection):
    name = "product_images"

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []

    def _doc(self, product_id: object) -> dict[str, Any]:
        found = self.view.get(images_key(product_id))
        return found or {"product_id": str(product_id), "images": []}

    @evolve.register
    def _added(self, event: ProductMedia.ImageAdded) -> list[Change]:
        doc = self._doc(event.product_id)
        doc["images"] = [*doc["images"], event.image.to_dict()]
        return [Put(images_key(event.product_id), doc)]

    @evolve.register
    def _removed(self, event: ProductMedia.ImageRemoved) -> list[Change]:
        doc = self._doc(event.product_id)
        doc["images"] = [i for i in doc["images"] if i["image_id"] != event.image_id]
        return [Put(images_key(event.product_id), doc)]
