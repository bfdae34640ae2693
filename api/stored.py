"""Answers from stored bytes: the per-process reader of stored documents, the canonical
JSON they are written in, and the caching policies of the catalog's kinds of answer."""

from __future__ import annotations

import re
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request

from api.http_cache import CachePolicy
from infrastructure.settings import Settings
from infrastructure.stored_documents import StoredDocuments

# A top-level `"version":N` of a canonical document: inside a JSON string every quote is
# escaped, so the pattern cannot match a customer's text.
_VERSION = re.compile(rb'"version":([0-9]{1,18})[,}]')


def canonical(doc: Any) -> bytes:
    """The bytes the projectors store (keys sorted, compact, UTF-8)."""
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def stored_version(body: bytes) -> int:
    found = _VERSION.search(body)
    if found is None:
        raise ValueError("a stored document without a version")
    return int(found.group(1))


async def get_stored(request: Request) -> StoredDocuments:
    stored: StoredDocuments = request.app.state.stored
    return stored


StoredDep = Annotated[StoredDocuments, Depends(get_stored)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.container.settings
    return settings


def product_policy(request: Request) -> CachePolicy:
    settings = _settings(request)
    return CachePolicy(settings.cache_product_max_age_s, settings.cache_stale_while_revalidate_s)


def search_policy(request: Request) -> CachePolicy:
    settings = _settings(request)
    return CachePolicy(settings.cache_search_max_age_s, settings.cache_stale_while_revalidate_s)
