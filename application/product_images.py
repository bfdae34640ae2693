"""Product images: the object-storage port and the upload use case.

An upload is checked and re-encoded first (application/image_renditions.py); only an image
that passed every check has its renditions written to the object store, and only once they
are all written is the `ProductMedia.ImageAdded` event (their keys, never their bytes)
saved. A refused upload therefore stores nothing. A crash between the writes and the event
leaves objects no event names: harmless, as their names are hashes of their content (the
same upload again writes the same names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.errors import VersionConflictError
from application.event_store import CommandResult, EventStore, result_of
from application.image_renditions import DEFAULT_MAX_PIXELS, PreparedImage, prepare
from application.product_ref import check_product_exists
from domain.product_media import ProductImage, ProductMedia, Rendition, check_alt

IMMUTABLE = "public, max-age=31536000, immutable"  # a content-hashed name never changes


class ObjectStore(Protocol):
    """Where image bytes live: the local filesystem (embedded) or an S3-compatible bucket."""

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Write the object (idempotent: the same key always holds the same bytes)."""
        ...

    def get(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none."""
        ...

    def url(self, key: str) -> str:
        """Where a browser fetches the object: our `/media/…` route, or the bucket's (or
        CDN's) public URL when one is configured."""
        ...


@dataclass(frozen=True)
class AddedImage:
    image: ProductImage
    result: CommandResult


class ImageService:
    def __init__(
        self, store: EventStore, objects: ObjectStore, *, max_pixels: int = DEFAULT_MAX_PIXELS
    ) -> None:
        self.store = store
        self.objects = objects
        self.max_pixels = max_pixels

    def add_image(
        self, product_id: UUID, data: bytes, content_type: str | None, alt: str
    ) -> AddedImage:
        """Check, re-encode, store the renditions, then record the image."""
        check_product_exists(self.store, product_id)
        alt = check_alt(alt)
        media = self.media(product_id) or ProductMedia(product_id=product_id)
        prepared = prepare(data, content_type, max_pixels=self.max_pixels)
        media.check_new(prepared.image_id)
        image = self._stored(prepared, alt)
        media.add_image(image)
        return AddedImage(image, self._commit(media))

    def remove_image(self, product_id: UUID, image_id: str) -> CommandResult:
        """Out of the product's images; the objects stay (other products or cached pages
        may name the same content)."""
        media = self.media(product_id)
        if media is None:
            check_product_exists(self.store, product_id)
            media = ProductMedia(product_id=product_id)
        media.remove_image(image_id)
        return self._commit(media)

    def media(self, product_id: UUID) -> ProductMedia | None:
        return self.store.load(ProductMedia, ProductMedia.create_id(product_id))

    def _stored(self, prepared: PreparedImage, alt: str) -> ProductImage:
        renditions = []
        for r in prepared.renditions:
            self.objects.put(r.key, r.data, r.content_type)
            renditions.append(Rendition(r.format, r.width, r.height, r.key, len(r.data)))
        return ProductImage(
            image_id=prepared.image_id,
            alt=alt,
            width=prepared.width,
            height=prepared.height,
            renditions=tuple(renditions),
        )

    def _commit(self, media: ProductMedia) -> CommandResult:
        try:
            recordings = self.store.save(media)
        except IntegrityError:
            raise VersionConflictError(
                f"the images of product {media.product_id} changed concurrently; retry"
            ) from None
        return result_of(media, recordings)
