"""Catalog files: products and stock levels as CSV (Brazilian Excel's too: `;`, decimal
commas, Latin-1 or a UTF-8 BOM) or JSON lines, read into checked rows with errors that name
the line and the field; and written back out with formula-looking cells neutralised.

Reading refuses the whole file (`CatalogFileRefused`) when it cannot be a catalog: over the
size limit, no header, a missing column, an unknown format. Row problems are `RowError`s.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from application.decimal_text import parse_decimal
from application.spreadsheet import neutralised
from domain.base import InvalidInputError
from domain.money import Money
from domain.text import text_problem

COLUMNS = (
    "sku",
    "name",
    "category",
    "price",
    "stock",
    "description",
    "weight_grams",
    "carbon_footprint_kg",
    "certifications",
    "recyclable",
    "biodegradable",
)
# An import also reads a variant's product (its slug: rows that name the same product are
# its variants) and option values (`tamanho=P|cor=azul`, `|` as between certifications);
# an export writes stock items.
IMPORT_COLUMNS = (*COLUMNS, "product", "options")
REQUIRED = ("sku", "name", "category", "price")
TRUE_WORDS = frozenset({"1", "true", "yes", "sim", "s", "x", "verdadeiro"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "nao", "não", "n", "falso"})
MAX_ROWS = 50_000


class CatalogFileRefused(InvalidInputError):
    """The file cannot be read as a catalog at all (size, encoding, format, header)."""


@dataclass(frozen=True)
class RowError:
    line: int  # 1 is the header of a CSV, the first object of JSON lines
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


@dataclass(frozen=True)
class CatalogRow:
    line: int
    sku: str
    name: str
    category: str
    price: Money
    stock: int | None  # the count on hand to set, or None to leave stock as it is
    description: str = ""
    weight_grams: int = 500
    sustainability: dict[str, Any] = field(default_factory=dict)
    product: str = ""  # the slug of the product this SKU is a variant of; "" for none
    options: tuple[tuple[str, str], ...] = ()  # the variant's option values, in order


def _options(raw: dict[str, Any], errors: list[RowError], line: int) -> tuple[tuple[str, str], ...]:
    """`tamanho=P|cor=azul` -> (("tamanho", "P"), ("cor", "azul"))."""
    text = _text(raw, "options", errors, line, 400)
    pairs = []
    for part in (p.strip() for p in text.split("|")):
        if not part:
            continue
        name, equals, value = part.partition("=")
        if not equals or not name.strip() or not value.strip():
            errors.append(RowError(line, "options", f"{part!r}: write name=value|name=value"))
            continue
        pairs.append((name.strip(), value.strip()))
    if len({n for n, _ in pairs}) != len(pairs):
        errors.append(RowError(line, "options", "each option once"))
    return tuple(pairs)


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading `'` (OWASP CSV
    injection); numbers and other text are unchanged."""
    return neutralised(value) if isinstance(value, str) else value


def looks_like_formula(text: str) -> bool:
    """What an import refuses in a text cell: `=…`, `+…`, `@…`, or `-` before a digit, a
    parenthesis or `=` (a dash before words, as in a list, is text)."""
    if text.startswith(("=", "+", "@")):
        return True
    return text.startswith("-") and len(text) > 1 and (text[1].isdigit() or text[1] in "(=")


def decode(data: bytes) -> str:
    """UTF-8 (with or without a BOM), else Windows-1252/Latin-1 (Brazilian Excel)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def records(data: bytes, filename: str, max_bytes: int) -> list[tuple[int, dict[str, Any]]]:
    """(line, fields) of every record in the file; refuses what is not a catalog file."""
    if len(data) > max_bytes:
        raise CatalogFileRefused(
            f"the file has {len(data):,} bytes; the limit is {max_bytes:,} "
            "(ECOVAREJO_CATALOG_IMPORT_MAX_BYTES): split it"
        )
    text = decode(data)
    if "\x00" in text:
        raise CatalogFileRefused("the file is binary, not CSV or JSON lines")
    if filename.lower().endswith((".jsonl", ".ndjson", ".json")) or text.lstrip().startswith("{"):
        found = _json_lines(text)
    else:
        found = _csv(text)
    if not found:
        raise CatalogFileRefused("the file has no products")
    if len(found) > MAX_ROWS:
        raise CatalogFileRefused(f"the file has {len(found)} products; at most {MAX_ROWS}")
    return found


def _csv(text: str) -> list[tuple[int, dict[str, Any]]]:
    lines = text.splitlines()
    header = next((ln for ln in lines if ln.strip()), "")
    delimiter = max((";", ",", "\t"), key=header.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as error:
        raise CatalogFileRefused(f"the CSV cannot be read: {error}") from None
    if not rows:
        raise CatalogFileRefused("the file is empty")
    names = [h.strip().lower() for h in rows[0]]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise CatalogFileRefused(
            f"the header (line 1) lacks {', '.join(missing)}; columns: {', '.join(IMPORT_COLUMNS)}"
        )
    unknown = [n for n in names if n not in IMPORT_COLUMNS]
    if unknown:
        raise CatalogFileRefused(f"unknown columns in line 1: {', '.join(unknown)}")
    found = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            found.append((number, {"__error__": f"{len(row)} cells, the header has {len(names)}"}))
            continue
        found.append((number, dict(zip(names, row, strict=True))))
    return found


def _json_lines(text: str) -> list[tuple[int, dict[str, Any]]]:
    found: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested past any product
            found.append((number, {"__error__": "not a JSON object"}))
            continue
        if not isinstance(value, dict):
            found.append((number, {"__error__": "not a JSON object"}))
            continue
        unknown = [k for k in value if k not in IMPORT_COLUMNS]
        if unknown:
            found.append((number, {"__error__": f"unknown fields {', '.join(unknown)}"}))
            continue
        found.append((number, value))
    return found


def _text(raw: dict[str, Any], name: str, errors: list[RowError], line: int, most: int) -> str:
    value = raw.get(name)
    if isinstance(value, dict | list):
        errors.append(RowError(line, name, "a text, not a list or an object"))
        return ""
    text = "" if value is None else str(value).strip()
    problem = text_problem(text, multiline=name == "description")
    if name in REQUIRED and not text:
        errors.append(RowError(line, name, "required"))
    elif len(text) > most:
        errors.append(RowError(line, name, f"at most {most} characters"))
    elif looks_like_formula(text):
        message = f"starts with {text[0]!r}: looks like a spreadsheet formula"
        errors.append(RowError(line, name, message))
    elif problem:  # NUL, lone surrogates, controls: the rule of every text that enters
        errors.append(RowError(line, name, f"not allowed: {problem}"))
    return text


def _number(
    raw: dict[str, Any], name: str, errors: list[RowError], line: int, places: int
) -> Decimal | None:
    value = raw.get(name)
    if value is None or str(value).strip() == "":
        return None
    try:
        return parse_decimal(str(value), places)
    except ValueError as error:
        errors.append(RowError(line, name, str(error)))
        return None


def _whole(
    raw: dict[str, Any], name: str, errors: list[RowError], line: int, least: int
) -> int | None:
    number = _number(raw, name, errors, line, 0)
    if number is None:
        return None
    if number < least or number > 1_000_000:
        errors.append(RowError(line, name, f"must be a whole number from {least} to 1000000"))
        return None
    return int(number)


def _flag(raw: dict[str, Any], name: str, errors: list[RowError], line: int) -> bool:
    word = str(raw.get(name) if raw.get(name) is not None else "").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word not in FALSE_WORDS:
        errors.append(RowError(line, name, "must be yes/sim/true/1 or no/não/false/0"))
    return False


def parse_row(line: int, raw: dict[str, Any]) -> CatalogRow | list[RowError]:
    """One record as a checked row, or every problem it has (each naming its field)."""
    if "__error__" in raw:
        return [RowError(line, "row", str(raw["__error__"]))]
    errors: list[RowError] = []
    sku = _text(raw, "sku", errors, line, 40).upper()
    if sku and not all(c.isascii() and (c.isalnum() or c == "-") for c in sku):
        errors.append(RowError(line, "sku", "letters, digits and '-' only, e.g. ECO-0100"))
    name = _text(raw, "name", errors, line, 200)
    category = _text(raw, "category", errors, line, 100)
    description = _text(raw, "description", errors, line, 4000)
    price = _number(raw, "price", errors, line, 2)
    if price is not None and price <= 0:
        errors.append(RowError(line, "price", "must be greater than zero"))
    stock = _whole(raw, "stock", errors, line, 0)
    weight = _whole(raw, "weight_grams", errors, line, 1)
    carbon = _number(raw, "carbon_footprint_kg", errors, line, 3)
    certifications = _text(raw, "certifications", errors, line, 400)
    sustainability = {
        "carbon_footprint_kg": str(carbon if carbon is not None else Decimal("0")),
        "certifications": [c.strip() for c in certifications.split("|") if c.strip()],
        "recyclable": _flag(raw, "recyclable", errors, line),
        "biodegradable": _flag(raw, "biodegradable", errors, line),
    }
    product = _text(raw, "product", errors, line, 100).lower()
    options = _options(raw, errors, line)
    if options and not product:
        errors.append(RowError(line, "options", "options belong to a variant: name its product"))
    if errors or price is None:
        return errors
    return CatalogRow(
        line,
        sku,
        name,
        category,
        Money.brl(str(price)),
        stock,
        description,
        weight if weight is not None else 500,
        sustainability,
        product,
        options,
    )


def parse(
    records_: Iterable[tuple[int, dict[str, Any]]],
) -> tuple[list[CatalogRow], list[RowError]]:
    """Checked rows and every error; a SKU given twice is an error on its second line."""
    rows: list[CatalogRow] = []
    errors: list[RowError] = []
    first_line: dict[str, int] = {}
    for line, raw in records_:
        parsed = parse_row(line, raw)
        if isinstance(parsed, list):
            errors += parsed
            continue
        if parsed.sku in first_line:
            message = f"{parsed.sku} is also on line {first_line[parsed.sku]}: each SKU once"
            errors.append(RowError(line, "sku", message))
            continue
        first_line[parsed.sku] = line
        rows.append(parsed)
    return rows, errors


# Export -------------------------------------------------------------------------------------


def export_record(item: Any) -> dict[str, Any]:
    """A stock item (aggregate) as a catalog record, the same columns an import reads."""
    sustainability = item.sustainability
    return {
        "sku": item.sku,
        "name": item.name,
        "category": item.category,
        "price": str(item.price.amount),
        "stock": item.on_hand,
        "description": item.description,
        "weight_grams": item.weight_grams,
        "carbon_footprint_kg": str(sustainability.carbon_footprint_kg),
        "certifications": "|".join(sustainability.certifications),
        "recyclable": "sim" if sustainability.recyclable else "não",
        "biodegradable": "sim" if sustainability.biodegradable else "não",
    }


def to_csv(records_: Iterable[dict[str, Any]]) -> str:
    """`;`-separated with decimal commas and a BOM (opens as columns in Brazilian Excel);
    every formula-looking text cell neutralised."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in records_:
        record = {**record, "price": record["price"].replace(".", ",")}
        record["carbon_footprint_kg"] = record["carbon_footprint_kg"].replace(".", ",")
        writer.writerow([neutralise(record[c]) for c in COLUMNS])
    return out.getvalue()


def to_json_lines(records_: Iterable[dict[str, Any]]) -> str:
    return "".join(
        json.dumps({k: neutralise(v) for k, v in r.items()}, ensure_ascii=False) + "\n"
        for r in records_
    )
