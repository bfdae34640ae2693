"""The one rule for text that enters at the edge: valid Unicode (no lone surrogates), without
NUL or any other control character. Only tab, line feed and carriage return pass, and only in
JSON text (a description may hold lines); a single-line field (`SingleLine` in the schemas),
a path, a query parameter, a header we read or a token claim takes none of them.

PostgreSQL cannot store U+0000 in text or jsonb, UTF-8 cannot encode a lone surrogate, and
control characters in names forge log lines and terminal output: refusing them at the edge
(422 for input, 401 for token claims) keeps every store and every reader downstream sane."""

from __future__ import annotations

import re

# C0 controls but tab, LF and CR; DEL; C1 controls; surrogates (only lone ones survive a
# decode); the non-characters U+FFFE and U+FFFF.
_NEVER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")
_NAMES = {
    "\x00": "NUL (U+0000)",
    "\t": "a tab",
    "\n": "a line break",
    "\r": "a line break",
    "\u2028": "a line break",
    "\u2029": "a line break",
}


def _name(char: str) -> str:
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate (U+{ord(char):04X})"
    return _NAMES.get(char, f"the control character U+{ord(char):04X}")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` is not acceptable text, or None when it is."""
    found = _NEVER.search(value) or (None if multiline else _LINE_BREAKS.search(value))
    return None if found is None else f"text must not contain {_name(found.group())}"


def first_text_problem(document: object) -> str | None:
    """The first problem of any string (keys too) in a JSON document; newlines allowed."""
    pending = [document]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found = text_problem(item, multiline=True)
            if found:
                return found
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def single_line(value: str) -> str:
    """A pydantic validator: no line breaks or tabs in a one-line field."""
    found = text_problem(value)
    if found:
        raise ValueError(found)
    return value


def outside_text(value: str, limit: int = 500) -> str:
    """Text an outside system wrote (a carrier's or a fiscal provider's refusal) made fit to
    record: what the rule above refuses becomes U+FFFD, and it is cut at `limit`. We cannot
    refuse it (it is not our caller's input) and must not fail to store it."""
    return _NEVER.sub("\ufffd", value[:limit])
