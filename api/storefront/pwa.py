"""The installable shop: the web manifest, the service worker (static files and recently
viewed catalog pages kept for offline browsing, never a personal page), the offline page,
and the content-hashed static files."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from api.storefront.assets import ASSETS, BY_URL, IMMUTABLE, asset_url
from api.storefront.web import PREFIX, STOREFRONT_CSP, render_public

router = APIRouter()
REVALIDATE = "public, max-age=0, must-revalidate"


def manifest() -> dict[str, object]:
    return {
        "name": "EcoVarejo — loja sustentável",
        "short_name": "EcoVarejo",
        "lang": "pt-BR",
        "start_url": f"{PREFIX}?origem=app",
        "scope": PREFIX,  # a prefix: /loja itself and every page under it
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1b5e20",
        "icons": [
            {"src": asset_url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": asset_url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": asset_url("icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }


@router.get("/manifest.webmanifest")
async def web_manifest() -> Response:
    import orjson

    return Response(
        orjson.dumps(manifest()),
        media_type="application/manifest+json",
        headers={"Cache-Control": REVALIDATE},
    )


def _worker() -> bytes:
    """The service worker with this build's static URLs to precache (a new build is a new
    worker, so browsers update it)."""
    template = ASSETS["sw.js"].body.decode()
    precache = [asset_url(n) for n in ("storefront.css", "storefront.js", "htmx-2.0.4.min.js")]
    listed = ", ".join(f'"{url}"' for url in [*precache, f"{PREFIX}/offline"])
    return template.replace("/*PRECACHE*/", listed).encode()


WORKER = _worker()


@router.get("/sw.js")
async def service_worker() -> Response:
    return Response(
        WORKER,
        media_type="text/javascript",
        headers={
            "Cache-Control": "no-cache",
            "Service-Worker-Allowed": PREFIX,
            # A worker runs under its own script's CSP: the API's `default-src 'none'`
            # would forbid it every fetch, and installing it would fail.
            "Content-Security-Policy": STOREFRONT_CSP,
        },
    )


@router.get("/offline")
async def offline(request: Request) -> Response:
    return render_public(request, "offline.html", 3600, 86400)


@router.get("/static/{name:path}")
async def static(name: str) -> Response:
    asset = BY_URL.get(name)
    if asset is None or asset.name == "sw.js":
        raise HTTPException(404, "no such file")
    return Response(asset.body, media_type=asset.media_type, headers={"Cache-Control": IMMUTABLE})
