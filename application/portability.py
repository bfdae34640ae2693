"""The portability package (LGPD art. 18, V): the export as one JSON document plus a CSV per
kind of record, in a zip, so another provider's tools can read it."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

from application.spreadsheet import neutralised

KINDS = (
    "profile",
    "addresses",
    "consents",
    "carts",
    "orders",
    "payments",
    "returns",
    "reviews",
    "coupon_uses",
    "requests",
)


def rows_of(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    value = document.get(kind)
    if value is None:
        return []
    if kind == "profile":
        return [value]
    if kind == "consents":
        return [{"purpose": purpose, **held} for purpose, held in value.items()]
    return list(value)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return neutralised(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return neutralised(str(value))


def to_csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    out = io.StringIO()
    # RFC 4180 line ends: a field holding a CR or LF is quoted (with "\n" alone, a CR in
    # a customer's words went out bare and split the row in a spreadsheet).
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralised(c) for c in columns])
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def portable_package(document: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("personal-data.json", json.dumps(document, ensure_ascii=False, indent=2))
        for kind in KINDS:
            package.writestr(f"{kind}.csv", to_csv(rows_of(document, kind)))
    return buffer.getvalue()
