"""The storefront's static files, served by the app with content-hashed names: a file's URL
carries the first 12 hex digits of its SHA-256, so it is cached `immutable` for a year and a
new version is a new URL. The service worker and the web manifest keep fixed URLs (a
browser looks for them there) and are revalidated instead.

htmx is vendored (no CDN): `static/htmx-2.0.4.min.js` from the npm package `htmx.org@2.0.4`,
pinned by its SHA-384 below (a test checks it), BSD Zero Clause License
(`static/htmx-LICENSE.txt`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

HTMX_FILE = "htmx-2.0.4.min.js"
HTMX_SHA384 = "1c67f3b687e8b5fb21705efef27e382502f6a099a8c150a13d3838f12fa3bd9a33b4f7efc03efd382fcb4ed1ba74ca7e"  # noqa: E501
STATIC_PREFIX = "/loja/static/"
IMMUTABLE = "public, max-age=31536000, immutable"
TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}
HASHED = (".css", ".js", ".png", ".svg")


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    media_type: str
    url: str


def _hashed_name(name: str, body: bytes) -> str:
    stem, dot, ext = name.rpartition(".")
    return f"{stem}.{hashlib.sha256(body).hexdigest()[:12]}{dot}{ext}"


def _load() -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    root = resources.files("api.storefront").joinpath("static")
    for folder, prefix in ((root, ""), (root.joinpath("icons"), "icons/")):
        for entry in folder.iterdir():
            if not entry.is_file():
                continue
            name = prefix + entry.name
            ext = "." + name.rpartition(".")[2]
            body = entry.read_bytes()
            hashed = _hashed_name(name, body) if ext in HASHED else name
            found[name] = Asset(name, body, TYPES.get(ext, "application/octet-stream"), hashed)
    return found


ASSETS = _load()
BY_URL = {asset.url: asset for asset in ASSETS.values()}


def asset_url(name: str) -> str:
    """`asset('storefront.css')` → `/loja/static/storefront.3f2a….css`."""
    return STATIC_PREFIX + ASSETS[name].url
