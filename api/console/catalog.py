"""Catalog import and export in the console: upload a CSV or JSON lines file (a dry run
lists what would change; a real run shows its progress as a job), row errors naming line
and field; export as CSV or JSON lines with formula-looking cells neutralised."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.console.jobs import Jobs, Progress
from api.console.web import CSRF_COOKIE, CSRF_FIELD, PREFIX, ConsoleContainer, render, role
from api.http.auth import Principal
from application.catalog_file import CatalogFileRefused, export_record, to_csv, to_json_lines
from infrastructure.bootstrap import Container

router = APIRouter()
Admin = Annotated[Principal, role("admin")]
FORM_OVERHEAD = 64 * 1024  # the other fields and the multipart framing


@router.get("/catalog/import")
def import_page(request: Request, container: ConsoleContainer, _: Admin) -> Response:
    return render(
        request, "catalog_import.html", max_bytes=container.settings.catalog_import_max_bytes
    )


async def _upload(request: Request, container: Container) -> tuple[bytes, str, bool]:
    """The file, its name and the dry-run box of a multipart form carrying this browser's
    CSRF token; a file over the limit is refused before it is read whole."""
    limit = container.settings.catalog_import_max_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + FORM_OVERHEAD:
        raise CatalogFileRefused(
            f"the file is over the limit of {limit:,} bytes "
            "(ECOVAREJO_CATALOG_IMPORT_MAX_BYTES): split it"
        )
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(415, "a catalog upload is multipart/form-data")
    form = await request.form(max_files=1, max_fields=5, max_part_size=limit + 1)
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = str(form.get(CSRF_FIELD) or "")
    if not cookie or not hmac.compare_digest(cookie.encode(), given.encode()):
        raise HTTPException(
            403, "this form was not sent by this console (CSRF token missing or wrong)"
        )
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, "file: choose a CSV or JSON lines file")
    data = await upload.read(limit + 1)
    return data, upload.filename or "catalog.csv", form.get("dry_run") == "yes"


@router.post("/catalog/import")
async def run_import(request: Request, container: ConsoleContainer, principal: Admin) -> Response:
    try:
        data, filename, dry_run = await _upload(request, container)
        limit = container.settings.catalog_import_max_bytes
        if dry_run:
            report = await run_in_threadpool(
                container.services.catalog.import_catalog,
                data,
                filename,
                dry_run=True,
                max_bytes=limit,
            )
            return render(request, "catalog_import.html", max_bytes=limit, report=report.as_dict())
        # Checked first (nothing applied if any row is bad), then applied as a job.
        check = await run_in_threadpool(
            container.services.catalog.import_catalog, data, filename, dry_run=True, max_bytes=limit
        )
    except CatalogFileRefused as error:
        return render(
            request, "catalog_import.html", 422, max_bytes=limit_of(container), refused=str(error)
        )
    if check.errors:
        return render(request, "catalog_import.html", 422, max_bytes=limit, report=check.as_dict())

    def work(progress: Progress) -> dict[str, Any]:
        return container.services.catalog.import_catalog(
            data, filename, dry_run=False, max_bytes=limit, progress=progress
        ).as_dict()

    job_id = Jobs(container.redis).start("import", filename[:80], "admin", work, principal.actor)
    return RedirectResponse(f"{PREFIX}/jobs/{job_id}", 303)


def limit_of(container: Container) -> int:
    return int(container.settings.catalog_import_max_bytes)


def _records(container: Container) -> list[dict[str, Any]]:
    skus = container.readers.back_office.skus()
    return [export_record(container.services.catalog.stock_item(sku)) for sku in skus]


def _download(body: str, media_type: str, extension: str) -> Response:
    name = f"catalogo-{datetime.now().strftime('%Y%m%d-%H%M')}.{extension}"
    return Response(
        body.encode("utf-8"),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/catalog/export.csv")
def export_csv(container: ConsoleContainer, _: Admin) -> Response:
    return _download(to_csv(_records(container)), "text/csv; charset=utf-8", "csv")


@router.get("/catalog/export.jsonl")
def export_jsonl(container: ConsoleContainer, _: Admin) -> Response:
    return _download(to_json_lines(_records(container)), "application/x-ndjson", "jsonl")
