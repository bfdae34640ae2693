"""Image files for the tests of uploads: real photos with metadata, files lying about
their type, a decompression bomb, SVG with script. Made here, byte by byte where Pillow
would refuse to make them."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def photo(width: int = 2000, height: int = 1200, fmt: str = "JPEG", **save: object) -> bytes:
    """A photo with a gradient (so encoders have work to do)."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def photo_with_gps(width: int = 2000, height: int = 1200, orientation: int = 1) -> bytes:
    """A JPEG whose EXIF says where it was taken (São Paulo) and with which camera."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "ACME Phone"  # Make
    exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "S", 2: (23.0, 33.0, 1.0), 3: "W", 4: (46.0, 38.0, 1.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), comment=b"taken at home")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png_bomb(side: int = 20_000) -> bytes:
    """A valid `side` x `side` 1-bit PNG of zeros: a few dozen kilobytes on disk, 400
    million pixels (1.6 GB as RGBA) once decoded."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed pixels
    packer = zlib.compressobj(9)
    compressed = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", compressed)
        + _chunk(b"IEND", b"")
    )


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)
HTML_AS_PNG = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
