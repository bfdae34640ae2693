"""Schemas of product suggestions (`GET /products/suggest`)."""

from __future__ import annotations

from api.http.schemas import Schema


class SuggestionPublic(Schema):
    sku: str
    name: str


class SuggestionsPublic(Schema):
    """Products whose name, or a word of it onwards, starts with what was typed (case and
    accents ignored, one typo forgiven from four characters on): exact prefixes first."""

    items: list[SuggestionPublic]
