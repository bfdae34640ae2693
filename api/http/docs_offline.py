"""The interactive API docs without the internet: Swagger UI at /docs and ReDoc at /redoc,
their assets served by the app from the `fastapi-offline` package (its copies of
swagger-ui-dist and redoc), never from a CDN.

CSP-safe like the console: the pages have no inline script; each starts its viewer from
a small script of ours served under /docs/assets, and reads its settings from data-
attributes. Swagger UI runs under `script-src 'self'; style-src 'self'`. ReDoc renders its
styles with styled-components, which inserts <style> elements, so /redoc alone also allows
'unsafe-inline' *styles* (never scripts), plus a blob: worker for its search.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

ASSETS = "/docs/assets"
PACKAGE_FILES = {  # what fastapi-offline ships, by the name we serve it under
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "application/javascript",
    "favicon.png": "image/png",
}
SWAGGER_INIT = """"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    showExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
  });
})();
"""
REDOC_INIT = """"use strict";
(function () {
  var root = document.getElementById("redoc");
  Redoc.init(root.dataset.specUrl, {}, root);
})();
"""
OWN_FILES = {"swagger-init.js": SWAGGER_INIT, "redoc-init.js": REDOC_INIT}
BASE_CSP = "default-src 'none'; connect-src 'self'; img-src 'self' data:; font-src 'self'; "
TAIL_CSP = "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SWAGGER_CSP = BASE_CSP + "script-src 'self'; style-src 'self'; " + TAIL_CSP
REDOC_CSP = (
    BASE_CSP + "script-src 'self'; style-src 'self' 'unsafe-inline'; worker-src blob:; " + TAIL_CSP
)
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="{assets}/favicon.png">
{head}
</head>
<body>
{body}
</body>
</html>
"""


def swagger_page(title: str, openapi_url: str) -> str:
    return PAGE.format(
        title=f"{title} — Swagger UI",
        assets=ASSETS,
        head=f'<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">',
        body=f'<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>\n'
        f'<script src="{ASSETS}/swagger-ui-bundle.js"></script>\n'
        f'<script src="{ASSETS}/swagger-init.js"></script>',
    )


def redoc_page(title: str, openapi_url: str) -> str:
    return PAGE.format(
        title=f"{title} — ReDoc",
        assets=ASSETS,
        head="",
        body=f'<div id="redoc" data-spec-url="{openapi_url}"></div>\n'
        f'<script src="{ASSETS}/redoc.standalone.js"></script>\n'
        f'<script src="{ASSETS}/redoc-init.js"></script>',
    )


def asset(name: str) -> Response:
    headers = {"Cache-Control": "public, max-age=86400"}
    if name in OWN_FILES:
        return Response(OWN_FILES[name], media_type="application/javascript", headers=headers)
    if name not in PACKAGE_FILES:  # a fixed list: no path ever reaches the file system
        raise HTTPException(404)
    content = files("fastapi_offline").joinpath("static", name).read_bytes()
    return Response(content, media_type=PACKAGE_FILES[name], headers=headers)


def install_offline_docs(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Replace FastAPI's CDN-based /docs, /docs/oauth2-redirect and /redoc with these."""
    openapi_url = app.openapi_url or "/openapi.json"
    cdn_pages = {docs_url, f"{docs_url}/oauth2-redirect", redoc_url}
    routes: list[BaseRoute] = app.router.routes
    routes[:] = [r for r in routes if not (isinstance(r, Route) and r.path in cdn_pages)]
    app.docs_url, app.redoc_url = docs_url, redoc_url  # the edge's CSP list names them

    def swagger() -> HTMLResponse:
        page = swagger_page(app.title, openapi_url)
        return HTMLResponse(page, headers={"Content-Security-Policy": SWAGGER_CSP})

    def redoc() -> HTMLResponse:
        page = redoc_page(app.title, openapi_url)
        return HTMLResponse(page, headers={"Content-Security-Policy": REDOC_CSP})

    def docs_asset(name: str) -> Any:
        return asset(name)

    app.add_api_route(docs_url, swagger, methods=["GET"], include_in_schema=False)
    app.add_api_route(redoc_url, redoc, methods=["GET"], include_in_schema=False)
    app.add_api_route(f"{ASSETS}/{{name}}", docs_asset, methods=["GET"], include_in_schema=False)
