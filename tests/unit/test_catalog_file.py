"""Catalog files as shops have them (application/catalog_file.py): Brazilian Excel's CSV
(`;`, decimal commas, Latin-1 or a BOM), JSON lines, every bad cell named by line and
field, duplicates refused, formula-looking cells refused on the way in and neutralised on
the way out; and numbers typed the Brazilian way (application/decimal_text.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.catalog_file import (
    CatalogFileRefused,
    neutralise,
    parse,
    records,
    to_csv,
    to_json_lines,
)
from application.decimal_text import parse_decimal

LIMIT = 1_000_000


def read(data: bytes, name: str = "c.csv"):
    return parse(records(data, name, LIMIT))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.234,56", "1234.56"),
        ("34,80", "34.80"),
        ("R$ 12", "12"),
        ("1234.56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("0,5", "0.5"),
    ],
)
def test_numbers_are_read_as_brazilians_and_the_api_write_them(text, value):
    assert parse_decimal(text) == Decimal(value)


@pytest.mark.parametrize("text", ["abc", "1,234,5.6.7", "12.345", "1.23,4.5", "", "1e3"])
def test_a_number_that_could_be_read_two_ways_or_none_is_refused(text):
    with pytest.raises(ValueError, match=r"number|decimals"):
        parse_decimal(text)


def test_a_latin1_semicolon_file_with_decimal_commas_reads_as_its_author_meant():
    data = "sku;name;category;price;stock\r\neco-1;Caneca térmica;casa;1.234,50;5\r\n"
    rows, errors = read(data.encode("latin-1"))
    assert errors == []
    [row] = rows
    assert (row.sku, row.name, str(row.price.amount), row.stock) == (
        "ECO-1",
        "Caneca térmica",
        "1234.50",
        5,
    )


def test_a_bom_comma_file_and_json_lines_read_the_same():
    csv_rows, _ = read("\ufeffsku,name,category,price\nECO-1,Copo,casa,9.90\n".encode())
    json_rows, _ = read(
        b'{"sku": "ECO-1", "name": "Copo", "category": "casa", "price": "9,90"}\n', "c.jsonl"
    )
    assert csv_rows[0].price == json_rows[0].price
    assert csv_rows[0].sku == json_rows[0].sku


def test_every_bad_cell_is_named_by_line_and_field_and_a_second_sku_is_refused():
    data = (
        "sku,name,category,price,stock,recyclable\n"
        "ECO-1,Escova,higiene,12.90,4,sim\n"
        'ECO-2,"=HYPERLINK(""http://x"")",casa,10,1,não\n'
        "ECO-3,Copo,casa,abc,-1,talvez\n"
        "ECO-1,Escova outra vez,higiene,13,1,\n"
        "ECO 4,,casa,1\n"
    ).encode()
    rows, errors = read(data)
    assert [r.sku for r in rows] == ["ECO-1"]
    assert [(e.line, e.field) for e in errors] == [
        (3, "name"),
        (4, "price"),
        (4, "stock"),
        (4, "recyclable"),
        (5, "sku"),
        (6, "row"),
    ]


def test_files_that_are_not_a_catalog_are_refused_whole():
    with pytest.raises(CatalogFileRefused, match="limit"):
        records(b"x" * 101, "c.csv", 100)
    with pytest.raises(CatalogFileRefused, match="lacks price"):
        records(b"sku,name,category\nA,B,C\n", "c.csv", LIMIT)
    with pytest.raises(CatalogFileRefused, match="unknown columns"):
        records(b"sku,name,category,price,colour\nA,B,C,1,red\n", "c.csv", LIMIT)
    with pytest.raises(CatalogFileRefused, match="no products"):
        records(b"sku,name,category,price\n", "c.csv", LIMIT)


def test_exports_neutralise_formula_cells_and_keep_numbers():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("Copo") == "Copo"
    assert neutralise(5) == 5
    record = {
        "sku": "ECO-1",
        "name": "+55 11",
        "category": "casa",
        "price": "1234.50",
        "stock": 5,
        "description": "-2+3",
        "weight_grams": 500,
        "carbon_footprint_kg": "0.400",
        "certifications": "",
        "recyclable": "sim",
        "biodegradable": "não",
    }
    csv_text = to_csv([record])
    assert ";'+55 11;casa;1234,50;5;'-2+3;500;0,400;" in csv_text
    assert '"name": "\'+55 11"' in to_json_lines([record])
    rows, errors = read(csv_text.encode("utf-8"))  # what was exported imports again
    assert errors == []
    assert (rows[0].name, str(rows[0].price.amount)) == ("'+55 11", "1234.50")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "a\\u0000b"),
        ("description", "a\\ud800b"),
        ("name", "tab\\u0007bell"),
        ("category", {"a": 1}),
    ],
)
def test_hostile_or_shapeless_text_in_json_lines_is_refused_by_line_and_field(field, value):
    import json

    row = {"sku": "ECO-1", "name": "Copo", "category": "casa", "price": "9,90"}
    row[field] = value
    line = json.dumps(row).replace("\\\\u", "\\u").encode()
    rows, errors = read(line, "c.jsonl")
    assert rows == []
    assert [(e.line, e.field) for e in errors] == [(1, field)]


def test_a_json_line_nested_past_any_product_is_a_refused_line_not_a_crash():
    rows, errors = read(b'{"sku": ' + b"[" * 100_000 + b"\n", "c.jsonl")
    assert rows == []
    assert [e.line for e in errors] == [1]
