"""Wiring of product images and reviews (issue 28): the object store the settings name,
the two services and the two readers, built on first use in a process from the container
(the API, the CLI, the bench). Nothing here runs unless images or reviews are used.

The readers are built once per container and kept while their read models' active
generations stay the same: a request asks Redis for both generations in one round trip and
gets new readers only after a rebuild swapped one in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import redis

from application.keys import ReadModelSealer
from application.product_images import ImageService, ObjectStore
from application.reviews import ReviewService
from infrastructure.gateways.object_stores import LocalObjectStore, S3ObjectStore
from infrastructure.read_stores.redis_keys import active_key
from infrastructure.read_stores.redis_views import RedisDocumentView
from infrastructure.runtime.private_files import private_dir
from infrastructure.settings import Settings
from projections.base import DEFAULT_GENERATION
from projections.product_images import ProductImagesProjection
from projections.reviews import ReviewsProjection
from projections.reviews_reader import ProductImagesReader, ReviewsReader, product_fields

MEDIA_DIR = "media"
_ATTRIBUTE = "_catalog_media_wiring"
_READERS = "_catalog_media_readers"


class Container(Protocol):
    """What of the bootstrap's container this needs (not imported: no import cycle)."""

    settings: Settings
    services: Any
    redis: redis.Redis

    @property
    def sealer(self) -> ReadModelSealer: ...

    def view(self, projection: str) -> Any: ...


class MissingSettingError(Exception):
    """The object store's settings are incomplete."""


def object_store_of(settings: Settings) -> ObjectStore:
    """`ECOVAREJO_OBJECT_STORE=s3`: the bucket; else files under the data dir's `media/`."""
    if settings.object_store == "s3":
        if not settings.s3_bucket:
            raise MissingSettingError("ECOVAREJO_OBJECT_STORE=s3 needs ECOVAREJO_S3_BUCKET")
        secret = settings.s3_secret_access_key
        return S3ObjectStore(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret else None,
            public_url=settings.media_public_url,
        )
    return LocalObjectStore(private_dir(settings.data_dir / MEDIA_DIR))


@dataclass
class CatalogMedia:
    store: ObjectStore
    images: ImageService
    reviews: ReviewService


def _orders_of(services: Any) -> Any:
    def orders_of(customer_id: str) -> list[Any]:
        event_log = getattr(services, "event_log", None)
        return [] if event_log is None else event_log.aggregates_of_customer(customer_id)

    return orders_of


def _profile_name(services: Any) -> Any:
    def name_of(customer_id: str) -> str | None:
        customer = services.customers.customer(customer_id)
        profile = None if customer is None else customer.profile
        if profile is None or profile.value is None:
            return None
        name = profile.value.get("name")
        return str(name) if name else None

    return name_of


def catalog_media(container: Container) -> CatalogMedia:
    """The services, built once per container."""
    built: CatalogMedia | None = getattr(container, _ATTRIBUTE, None)
    if built is None:
        settings, services = container.settings, container.services
        store = object_store_of(settings)
        built = CatalogMedia(
            store=store,
            images=ImageService(services.store, store, max_pixels=settings.image_max_pixels),
            reviews=ReviewService(services.store, _orders_of(services), _profile_name(services)),
        )
        setattr(container, _ATTRIBUTE, built)
    return built


@dataclass(frozen=True)
class MediaReaders:
    """The reviews and images readers, over the generations they were built on."""

    generations: tuple[str, str]
    reviews: ReviewsReader
    images: ProductImagesReader


def media_readers(container: Container) -> MediaReaders:
    """The container's readers, rebuilt only when a rebuild swapped a generation in (one
    MGET of both active generations per call; the readers' sealer and views are reused)."""
    names = (ReviewsProjection.name, ProductImagesProjection.name)
    raw: list[bytes | None] = container.redis.mget([active_key(n) for n in names])  # type: ignore[assignment]
    generations = (
        (raw[0] or DEFAULT_GENERATION.encode()).decode(),
        (raw[1] or DEFAULT_GENERATION.encode()).decode(),
    )
    built: MediaReaders | None = getattr(container, _READERS, None)
    if built is not None and built.generations == generations:
        return built
    settings = container.settings
    views = [
        RedisDocumentView(container.redis, name, generation, follow_active=False)
        for name, generation in zip(names, generations, strict=True)
    ]
    built = MediaReaders(
        generations=generations,
        reviews=ReviewsReader(
            views[0],
            container.sealer,
            settings.reviews_after_erasure,
        ),
        images=ProductImagesReader(views[1], catalog_media(container).store.url),
    )
    setattr(container, _READERS, built)
    return built


def reviews_reader(container: Container) -> ReviewsReader:
    return media_readers(container).reviews


def images_reader(container: Container) -> ProductImagesReader:
    return media_readers(container).images


def with_media(container: Container, product: dict[str, Any]) -> dict[str, Any]:
    """A product document with its rating (count per star) and images, from their own read
    models (reviews and images are keyed by product id)."""
    readers = media_readers(container)
    return {**product, **product_fields(readers.reviews, readers.images, product["product_id"])}
