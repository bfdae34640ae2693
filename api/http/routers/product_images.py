"""Product images: an admin uploads one (multipart: `file`, `alt`); anyone lists a
product's images; the local object store's files are served at `/media/{key}` with a
year-long immutable cache (their names are hashes of their content)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response, status
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.http.command_route import CommandRoute
from api.http.deps import Admin, ContainerDep, consistent_with, query
from api.http.etag import set_etag
from api.http.schemas import CommandAccepted
from api.http.schemas_catalog_media import ImageAdded, ImageList, ImagePublic
from application.image_renditions import ImageTooLargeError
from application.product_images import IMMUTABLE
from infrastructure.bootstrap import Container
from infrastructure.catalog_media_wiring import CatalogMedia, catalog_media, images_reader
from infrastructure.gateways.object_stores import check_key
from infrastructure.settings import Settings
from projections.product_images import ProductImagesProjection
from projections.reviews_reader import image_shown

router = APIRouter(route_class=CommandRoute, prefix="/products", tags=["product images"])
media = APIRouter(tags=["media"])  # outside /api/v1: plain files for browsers and CDNs

ProductIdPath = Annotated[UUID, Path(description="the product's id")]
FORM_OVERHEAD = 64 * 1024  # the multipart framing and the alt text around the file
UPLOAD_PATH = r"^/api/v1/products/[^/]+/images$"
CONTENT_TYPES = {"webp": "image/webp", "jpeg": "image/jpeg"}


def image_upload_limits(settings: Settings) -> tuple[tuple[str, int], ...]:
    """The body guard's limit for uploads: the image limit plus the form's framing."""
    return ((UPLOAD_PATH, settings.image_max_bytes + FORM_OVERHEAD),)


async def get_catalog_media(container: ContainerDep) -> CatalogMedia:
    return await run_in_threadpool(catalog_media, container)  # boto3's import is slow


MediaDep = Annotated[CatalogMedia, Depends(get_catalog_media)]


async def _upload(request: Request, limit: int) -> tuple[bytes, str | None, str]:
    """The file, its declared type and the alt text of a multipart form."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "an image upload is multipart/form-data with `file` and `alt`")
    form = await request.form(max_files=1, max_fields=2, max_part_size=4096)
    upload, alt = form.get("file"), form.get("alt")
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, "file: attach the image as the form's `file` part")
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLargeError(f"the image is larger than {limit:,} bytes")
    if not data:
        raise HTTPException(422, "file: the image is empty")
    return data, upload.content_type, alt if isinstance(alt, str) else ""


@router.post("/{product_id}/images", status_code=status.HTTP_201_CREATED)
async def add_image(
    product_id: ProductIdPath,
    request: Request,
    container: ContainerDep,
    services: MediaDep,
    _: Admin,
    response: Response,
) -> ImageAdded:
    """Add an image (admin): a JPEG, PNG or WebP judged by its content (SVG refused), at
    most `ECOVAREJO_IMAGE_MAX_BYTES`, with alt text. Its metadata (EXIF, GPS) is dropped;
    WebP and JPEG renditions at three widths are stored under content-hashed names.
    415 for a file that is not such an image or lies about its type, 413 for one too
    large (bytes or pixels), 422 without alt text; nothing is stored then."""
    data, declared, alt = await _upload(request, container.settings.image_max_bytes)
    added = await run_in_threadpool(services.images.add_image, product_id, data, declared, alt)
    set_etag(response, added.result.version)
    response.headers["Location"] = f"/api/v1/products/{product_id}/images"
    return ImageAdded(
        product_id=product_id,
        image=ImagePublic.model_validate(image_shown(added.image.to_dict(), services.store.url)),
        version=added.result.version,
        consistency_token=added.result.consistency_token,
    )


@router.delete("/{product_id}/images/{image_id}")
def remove_image(
    product_id: ProductIdPath,
    image_id: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")],
    services: MediaDep,
    _: Admin,
    response: Response,
) -> CommandAccepted:
    """Take an image off the product (admin); its files stay (URLs cached elsewhere)."""
    result = services.images.remove_image(product_id, image_id)
    set_etag(response, result.version)
    return CommandAccepted(version=result.version, consistency_token=result.consistency_token)


@router.get(
    "/{product_id}/images",
    dependencies=[Depends(consistent_with(ProductImagesProjection.name))],
)
async def list_images(product_id: ProductIdPath, container: ContainerDep) -> ImageList:
    """A product's images, in the order they were added, with a URL per rendition."""
    items = await query(lambda: images_reader(container).images(product_id))
    return ImageList(product_id=product_id, items=[ImagePublic.model_validate(i) for i in items])


def _object(container: Container, key: str) -> bytes | None:
    return catalog_media(container).store.get(key)


@media.get(
    "/media/images/{name}",
    response_class=Response,
    responses={
        200: {
            "description": "the rendition's bytes",
            "content": {"image/webp": {}, "image/jpeg": {}},
        }
    },
)
async def media_file(
    name: Annotated[str, Path(pattern=r"^[0-9a-f]{64}\.(webp|jpeg)$")],
    container: ContainerDep,
) -> Response:
    """An image rendition by its content-hashed name: cached for a year, immutable."""
    key = check_key(f"images/{name}")
    data = await run_in_threadpool(_object, container, key)
    if data is None:
        raise HTTPException(404, "no such image")
    return Response(
        data,
        media_type=CONTENT_TYPES[name.rsplit(".", 1)[1]],
        headers={
            "Cache-Control": IMMUTABLE,
            "Cross-Origin-Resource-Policy": "cross-origin",  # storefronts on other origins
            "ETag": f'"{name.split(".", 1)[0]}"',
        },
    )
