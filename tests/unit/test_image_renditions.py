"""An upload is judged by its bytes, stripped of its metadata and re-encoded in WebP and
JPEG at three widths; anything else is refused before a pixel is decoded."""

from __future__ import annotations

import hashlib
import io
import time

import pytest
from PIL import Image

from application.image_renditions import (
    ImageRefusedError,
    ImageTooLargeError,
    prepare,
)
from tests.images import (
    GPS_IFD,
    HTML_AS_PNG,
    SVG_WITH_SCRIPT,
    photo,
    photo_with_gps,
    png_bomb,
)


def test_a_photo_becomes_webp_and_jpeg_at_three_widths_named_by_their_content():
    prepared = prepare(photo(2000, 1200), "image/jpeg")
    shapes = sorted((r.format, r.width, r.height) for r in prepared.renditions)
    assert shapes == [
        ("jpeg", 320, 192),
        ("jpeg", 768, 461),
        ("jpeg", 1600, 960),
        ("webp", 320, 192),
        ("webp", 768, 461),
        ("webp", 1600, 960),
    ]
    for rendition in prepared.renditions:
        decoded = Image.open(io.BytesIO(rendition.data))
        assert decoded.format == rendition.format.upper()
        assert decoded.size == (rendition.width, rendition.height)
        digest = hashlib.sha256(rendition.data).hexdigest()
        assert rendition.key == f"images/{digest}.{rendition.format}"


def test_the_gps_position_camera_and_comment_do_not_reach_any_rendition():
    original = photo_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the input has them
    for rendition in prepare(original, "image/jpeg").renditions:
        decoded = Image.open(io.BytesIO(rendition.data))
        assert not decoded.getexif(), rendition.format
        assert not {"exif", "xmp", "icc_profile", "comment"} & set(decoded.info), decoded.info
        assert b"ACME" not in rendition.data
        assert b"taken at home" not in rendition.data


def test_a_phone_photo_taken_sideways_stays_upright_once_its_exif_is_gone():
    sideways = photo_with_gps(400, 200, orientation=6)  # "rotate 90° to view"
    prepared = prepare(sideways, "image/jpeg")
    assert (prepared.width, prepared.height) == (200, 400)


def test_a_narrow_image_is_never_enlarged():
    prepared = prepare(photo(500, 500, "PNG"), "image/png")
    assert sorted({r.width for r in prepared.renditions}) == [320, 500]


def test_a_png_with_transparency_is_flattened_on_white():
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    rendition = prepare(out.getvalue(), "image/png").renditions[0]
    assert Image.open(io.BytesIO(rendition.data)).convert("RGB").getpixel((5, 5)) == (
        255,
        255,
        255,
    )


def test_a_png_declared_as_jpeg_is_refused_as_lying_about_its_type():
    with pytest.raises(ImageRefusedError, match="says it is image/jpeg but its content is"):
        prepare(photo(100, 100, "PNG"), "image/jpeg")


def test_a_web_page_named_like_a_png_is_refused():
    with pytest.raises(ImageRefusedError):
        prepare(HTML_AS_PNG, "image/png")


@pytest.mark.parametrize("declared", ["image/svg+xml", "image/png", None])
def test_svg_with_script_is_refused_whatever_it_claims_to_be(declared):
    with pytest.raises(ImageRefusedError, match="SVG"):
        prepare(SVG_WITH_SCRIPT, declared)


def test_a_gif_or_a_pdf_type_is_refused_with_the_types_we_take():
    with pytest.raises(ImageRefusedError, match="JPEG, PNG or WebP"):
        prepare(photo(100, 100, "GIF"), "image/gif")
    with pytest.raises(ImageRefusedError, match="JPEG, PNG or WebP"):
        prepare(photo(100, 100, "GIF"), None)  # judged by its content


def test_a_20000_by_20000_png_bomb_is_refused_from_its_header_without_decoding_it():
    bomb = png_bomb()
    assert len(bomb) < 200_000  # tiny on disk
    started = time.monotonic()
    with pytest.raises(ImageTooLargeError, match="more than 40,000,000 pixels"):
        prepare(bomb, "image/png")
    assert time.monotonic() - started < 1.0  # nothing was decoded


def test_a_truncated_photo_is_refused_as_damaged():
    whole = photo(800, 600)
    with pytest.raises(ImageRefusedError, match="damaged or truncated"):
        prepare(whole[: len(whole) // 3], "image/jpeg")


def test_an_icon_smaller_than_16_pixels_a_side_is_refused():
    with pytest.raises(ImageRefusedError, match="at least 16 px"):
        prepare(photo(8, 8, "PNG"), "image/png")
