"""Cells a spreadsheet would run: one rule for every CSV we write (exports, catalog files).

A spreadsheet opening a CSV reads a cell starting with one of `FORMULA_STARTS` as a formula
(`=HYPERLINK(…)` in a name, `+55…` in a phone): such a cell is written behind a quote mark,
as OWASP's "CSV Injection" advice says, so it shows as the text it is.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """`text` as a spreadsheet will show it, never run it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
