"""`ecovarejo catalog import FILE [--dry-run]` and `catalog export [--format csv|jsonl]`:
the catalog and its stock levels as a file, as the console's upload and download."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import CliError, connected, emit

catalog_app = typer.Typer(
    help="The catalog and its stock levels as CSV or JSON lines (admin).", no_args_is_help=True
)


@catalog_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="a CSV (; or ,) or JSON lines file")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list what would change")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Create or update products by SKU (idempotent); a file with a bad row changes
    nothing and every error names its line and field (exit 1)."""
    if not file.is_file():
        raise CliError(f"no file {file}")
    from application.catalog_file import CatalogFileRefused

    with connected() as container:
        limit = container.settings.catalog_import_max_bytes
        if file.stat().st_size > limit:
            raise CliError(
                f"{file} has {file.stat().st_size:,} bytes; the limit is {limit:,} "
                "(ECOVAREJO_CATALOG_IMPORT_MAX_BYTES)"
            )
        try:
            report = container.services.catalog.import_catalog(
                file.read_bytes(), file.name, dry_run=dry_run, max_bytes=limit
            )
        except CatalogFileRefused as error:
            raise CliError(str(error)) from None
    summary = report.as_dict()
    if as_json:
        emit(summary)
    else:
        verb = "would change" if dry_run or report.errors else "changed"
        typer.echo(
            f"{summary['rows']} rows: {summary['created']} created, {summary['updated']} "
            f"updated, {summary['unchanged']} unchanged ({verb})"
        )
        for change in summary["changes"]:
            typer.echo(f"  line {change['line']}: {change['action']} {change['sku']}")
        for row_error in report.errors:
            typer.echo(f"error: {row_error}", err=True)
        if report.errors:
            typer.echo("nothing was imported: fix the lines above and run again", err=True)
    if report.errors:
        raise typer.Exit(1)


@catalog_app.command("export")
def export(
    format_: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="default: stdout")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines (as --format jsonl)")] = False,
) -> None:
    """Every product with its stock count; formula-looking cells are neutralised."""
    format_ = "jsonl" if as_json else format_
    if format_ not in ("csv", "jsonl"):
        raise CliError(f"--format must be csv or jsonl, got {format_!r}")
    from application.catalog_file import export_record, to_csv, to_json_lines

    with connected(read_only=True) as container:
        skus = container.readers.back_office.skus()
        records = [export_record(container.services.catalog.stock_item(sku)) for sku in skus]
    text = to_csv(records) if format_ == "csv" else to_json_lines(records)
    if output is None:
        sys.stdout.write(text)
    else:
        if not output.parent.is_dir():
            raise CliError(f"no directory {output.parent}")
        output.write_text(text, encoding="utf-8")


@catalog_app.command("lapse-certifications")
def lapse_certifications(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The daily sweep (run it from cron): certificates past their valid-until date are
    recorded as lapsed and stop counting in the score and the search facets."""
    with connected() as container:
        results = container.services.products.lapse_certifications(
            container.readers.products.certified_ids()
        )
    lapsed = [str(r.aggregate_id) for r in results]
    if as_json:
        emit({"lapsed_products": lapsed})
    else:
        typer.echo(f"{len(lapsed)} products had certificates lapse")
        for product_id in lapsed:
            typer.echo(f"  {product_id}")
