"""An uploaded image, checked by its content and re-encoded without its metadata.

- **Type by content.** Pillow opens only JPEG, PNG and WebP, from the bytes (their magic
  numbers), never the name or the declared type; a declared type that disagrees with the
  bytes is refused as a file lying about itself. SVG is refused outright: it is a document
  that can carry script, not pixels.
- **Bombs.** The header's size is checked before any pixel is decoded: an image of more
  than `max_pixels` (a 20,000 x 20,000 PNG of a few kilobytes decodes to 1.6 GB) is
  refused; Pillow's own limit is set to the same figure as a second guard.
- **Metadata.** Renditions are encoded from the pixels only: EXIF (camera, GPS position),
  XMP, ICC profiles and comments never reach them. The EXIF orientation is applied first,
  so a phone's portrait photo stays upright.
- **Renditions.** WebP and JPEG, at three widths (never wider than the original); each
  one's name is the SHA-256 of its bytes: a URL names one content forever.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from domain.base import InvalidInputError

ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
WIDTHS = (320, 768, 1600)
ENCODINGS = {"webp": ("WEBP", {"quality": 80, "method": 4}), "jpeg": ("JPEG", {"quality": 82})}
CONTENT_TYPES = {"webp": "image/webp", "jpeg": "image/jpeg"}
DEFAULT_MAX_PIXELS = 40_000_000  # e.g. 8,000 x 5,000: bigger than any product photo
MIN_SIDE = 16


class ImageRefusedError(InvalidInputError):
    """The upload is not an image we accept (415)."""


class ImageTooLargeError(InvalidInputError):
    """The image has more pixels than we decode (a decompression bomb or a poster): 413."""


@dataclass(frozen=True)
class EncodedRendition:
    format: str  # "webp" or "jpeg"
    width: int
    height: int
    data: bytes

    @property
    def key(self) -> str:
        """The object's name: the hash of its bytes, so a URL never changes meaning."""
        return f"images/{hashlib.sha256(self.data).hexdigest()}.{self.format}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


@dataclass(frozen=True)
class PreparedImage:
    image_id: str  # the SHA-256 of the uploaded bytes
    source_format: str  # "JPEG", "PNG", "WEBP"
    width: int
    height: int
    renditions: tuple[EncodedRendition, ...]


def _looks_like_markup(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype", b"<html")) or b"<svg" in head


def _declared_format(content_type: str | None) -> str | None:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in ("", "application/octet-stream"):
        return None  # no claim made: the bytes decide
    if media == "image/jpg":
        media = "image/jpeg"
    for name, mime in ACCEPTED.items():
        if mime == media:
            return name
    if media == "image/svg+xml":
        raise ImageRefusedError("SVG images are refused: they can carry script")
    raise ImageRefusedError(f"{media} is not accepted: send a JPEG, PNG or WebP image")


def open_checked(data: bytes, content_type: str | None, max_pixels: int) -> Image.Image:
    """The image, opened from its bytes (header only): accepted format, agreeing with the
    declared type, within the pixel limit."""
    if _looks_like_markup(data):
        raise ImageRefusedError("SVG and other markup are refused: they can carry script")
    declared = _declared_format(content_type)
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own guard, beside ours below
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(ACCEPTED))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeError(f"the image has more than {max_pixels:,} pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageRefusedError("not a JPEG, PNG or WebP image (judged by its content)") from None
    found = str(image.format)
    if declared is not None and declared != found:
        raise ImageRefusedError(
            f"the file says it is {ACCEPTED[declared]} but its content is {ACCEPTED[found]}"
        )
    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"the image is {width} x {height}: more than {max_pixels:,} pixels"
        )
    if min(width, height) < MIN_SIDE:
        raise ImageRefusedError(f"the image is {width} x {height}: at least {MIN_SIDE} px a side")
    return image


def _pixels(image: Image.Image) -> Image.Image:
    """The decoded pixels, upright, as RGB: no metadata travels with a new image."""
    try:
        image.load()
        upright = ImageOps.exif_transpose(image) or image
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ImageRefusedError("the image's data is damaged or truncated") from None
    if upright.mode in ("RGBA", "LA", "P", "PA"):
        rgba = upright.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))  # JPEG has no alpha
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    plain = Image.new("RGB", upright.size)
    plain.paste(upright.convert("RGB"))  # pixels only: info, EXIF, ICC stay behind
    return plain


def _encode(pixels: Image.Image, fmt: str, width: int) -> EncodedRendition:
    height = max(1, round(pixels.height * width / pixels.width))
    resized = (
        pixels
        if width == pixels.width
        else pixels.resize((width, height), Image.Resampling.LANCZOS)
    )
    pil_format, options = ENCODINGS[fmt]
    out = io.BytesIO()
    resized.save(out, pil_format, **options)  # no exif=, no icc_profile=: none written
    return EncodedRendition(fmt, width, height, out.getvalue())


def prepare(
    data: bytes, content_type: str | None = None, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> PreparedImage:
    """Check the upload and make its renditions (CPU work: run it off the event loop)."""
    image = open_checked(data, content_type, max_pixels)
    source_format = str(image.format)
    pixels = _pixels(image)
    widths = sorted({min(w, pixels.width) for w in WIDTHS})
    renditions = tuple(_encode(pixels, fmt, w) for w in widths for fmt in ENCODINGS)
    return PreparedImage(
        image_id=hashlib.sha256(data).hexdigest(),
        source_format=source_format,
        width=pixels.width,
        height=pixels.height,
        renditions=renditions,
    )
