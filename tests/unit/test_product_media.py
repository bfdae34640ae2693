"""ProductMedia (domain/product_media.py): images are references (keys, sizes, alt text),
alt text is required, the same file is added once, and the view lists them in order."""

from __future__ import annotations

import uuid

import pytest
from eventsourcing.persistence import Tracking

from domain.product_media import (
    MAX_IMAGES,
    ImageAlreadyAddedError,
    ImageNotFoundError,
    InvalidAltTextError,
    ProductImage,
    ProductMedia,
    Rendition,
    TooManyImagesError,
)
from projections.memory import MemoryStore
from projections.product_images import ProductImagesProjection
from projections.reviews_reader import ProductImagesReader


def image(n: int, alt: str = "Camiseta verde dobrada") -> ProductImage:
    key = f"images/{n:064x}.webp"
    return ProductImage(f"{n:064x}", alt, 800, 600, (Rendition("webp", 320, 240, key, 1234),))


@pytest.mark.parametrize(
    ("alt", "message"),
    [("", "required"), ("   ", "required"), ("x" * 251, "at most 250"), ("a\nb", "line break")],
)
def test_an_image_without_good_alt_text_is_refused(alt, message):
    media = ProductMedia(product_id=uuid.uuid4())
    with pytest.raises(InvalidAltTextError, match=message):
        media.add_image(image(1, alt))
    assert media.images == {}


def test_the_same_file_is_added_once_and_a_product_shows_at_most_twenty():
    media = ProductMedia(product_id=uuid.uuid4())
    media.add_image(image(1))
    with pytest.raises(ImageAlreadyAddedError):
        media.add_image(image(1))
    for n in range(2, MAX_IMAGES + 1):
        media.add_image(image(n))
    with pytest.raises(TooManyImagesError):
        media.add_image(image(99))
    with pytest.raises(ImageNotFoundError):
        media.remove_image(f"{98:064x}")


def test_the_view_lists_the_images_in_order_with_a_url_per_rendition():
    product_id = uuid.uuid4()
    media = ProductMedia(product_id=product_id)
    media.add_image(image(1))
    media.add_image(image(2, "Etiqueta de algodão orgânico"))
    media.remove_image(f"{1:064x}")
    store = MemoryStore()
    projector = ProductImagesProjection(store)
    for position, event in enumerate(media.collect_events(), start=1):
        projector.process_event(event, Tracking("EcoVarejo", position))
    shown = ProductImagesReader(store, lambda key: f"/media/{key}").images(product_id)
    assert shown == [
        {
            "image_id": f"{2:064x}",
            "alt": "Etiqueta de algodão orgânico",
            "width": 800,
            "height": 600,
            "renditions": [
                {
                    "format": "webp",
                    "width": 320,
                    "height": 240,
                    "url": f"/media/images/{2:064x}.webp",
                }
            ],
        }
    ]
