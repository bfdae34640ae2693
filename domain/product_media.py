"""ProductMedia: a product's images, as references to objects in the object store.

Events never hold image bytes: an image is its id (a hash of the uploaded file), its alt text,
its size and its renditions, each one an object key that is itself a hash of the rendition's
bytes (so a URL never changes meaning and can be cached for a year). The bytes live in the
object store (application/product_images.py); checking and re-encoding them is the
application's work, before anything is stored or recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError, NotFoundError
from domain.text import text_problem

MEDIA_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/product-media")
MAX_ALT = 250
MAX_IMAGES = 20
FORMATS = ("webp", "jpeg")


class ProductMediaError(DomainError):
    """Base of the errors ProductMedia raises."""


class InvalidAltTextError(ProductMediaError, InvalidInputError):
    """Alt text is required (screen readers, search engines), one line, at most 250 chars."""


class ImageAlreadyAddedError(ProductMediaError):
    """The same file was added to this product already."""


class TooManyImagesError(ProductMediaError):
    """A product shows at most MAX_IMAGES images."""


class ImageNotFoundError(ProductMediaError, NotFoundError):
    """The product has no image with that id."""


@dataclass(frozen=True)
class Rendition:
    """One encoded size of an image: `key` is the object's content-hashed key."""

    format: str  # one of FORMATS
    width: int
    height: int
    key: str
    size_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "key": self.key,
            "size_bytes": self.size_bytes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rendition:
        return cls(
            format=str(data["format"]),
            width=int(data["width"]),
            height=int(data["height"]),
            key=str(data["key"]),
            size_bytes=int(data["size_bytes"]),
        )


@dataclass(frozen=True)
class ProductImage:
    """An image of a product: what the events record of it (never its bytes)."""

    image_id: str  # the SHA-256 of the uploaded file, hex
    alt: str
    width: int
    height: int
    renditions: tuple[Rendition, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "alt": self.alt,
            "width": self.width,
            "height": self.height,
            "renditions": [r.to_dict() for r in self.renditions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProductImage:
        return cls(
            image_id=str(data["image_id"]),
            alt=str(data["alt"]),
            width=int(data["width"]),
            height=int(data["height"]),
            renditions=tuple(Rendition.from_dict(r) for r in data["renditions"]),
        )


def check_alt(alt: str) -> str:
    """The alt text, stripped; required, one line, at most MAX_ALT characters."""
    text = alt.strip()
    if not text:
        raise InvalidAltTextError("alt: describe the image (alt text is required)")
    if len(text) > MAX_ALT:
        raise InvalidAltTextError(f"alt: at most {MAX_ALT} characters")
    problem = text_problem(text)
    if problem:
        raise InvalidAltTextError(f"alt: {problem}")
    return text


class ProductMedia(EcoAggregate):
    """The images of one product (`product_id`), in the order they were added."""

    class Started(EcoAggregate.Created):
        product_id: UUID

    class ImageAdded(EcoAggregate.Event):
        product_id: UUID
        image: ProductImage

    class ImageRemoved(EcoAggregate.Event):
        product_id: UUID
        image_id: str

    @staticmethod
    def create_id(product_id: UUID) -> UUID:
        return uuid5(MEDIA_NAMESPACE, str(product_id))

    @event(Started)
    def __init__(self, product_id: UUID) -> None:
        self.product_id = product_id
        self.images: dict[str, ProductImage] = {}

    # Guards -------------------------------------------------------------------------------
    def check_new(self, image_id: str) -> None:
        if image_id in self.images:
            raise ImageAlreadyAddedError(f"image {image_id} is already on this product")
        if len(self.images) >= MAX_IMAGES:
            raise TooManyImagesError(f"a product shows at most {MAX_IMAGES} images")

    def check_has(self, image_id: str) -> None:
        if image_id not in self.images:
            raise ImageNotFoundError(f"no image {image_id} on this product")

    # Commands -----------------------------------------------------------------------------
    def add_image(self, image: ProductImage) -> None:
        check_alt(image.alt)
        self.check_new(image.image_id)
        self._image_added(product_id=self.product_id, image=image)

    def remove_image(self, image_id: str) -> None:
        self.check_has(image_id)
        self._image_removed(product_id=self.product_id, image_id=image_id)

    @event(ImageAdded)
    def _image_added(self, product_id: UUID, image: ProductImage) -> None:
        self.images[image.image_id] = image

    @event(ImageRemoved)
    def _image_removed(self, product_id: UUID, image_id: str) -> None:
        del self.images[image_id]
