"""Answers from stored bytes: the per-process reader of stored documents, the canonical
JSON they are written in, and the caching policies of the catalog's kinds of answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request

from api.http.http_cache import CachePolicy, Conditional
from infrastructure.read_stores.stored_documents import StoredDocuments
from infrastructure.settings import Settings

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


async def get_conditional(request: Request) -> Conditional:
    return Conditional.of(request)


ConditionalDep = Annotated[Conditional, Depends(get_conditional)]


@dataclass(frozen=True)
class Policies:
    """The caching policies of the catalog's kinds of answer (from the settings)."""

    product: CachePolicy
    search: CachePolicy

    @classmethod
    def of(cls, settings: Settings) -> Policies:
        swr = settings.cache_stale_while_revalidate_s
        return cls(
            CachePolicy(settings.cache_product_max_age_s, swr),
            CachePolicy(settings.cache_search_max_age_s, swr),
        )


async def get_policies(request: Request) -> Policies:
    policies: Policies = request.app.state.cache_policies
    return policies


PoliciesDep = Annotated[Policies, Depends(get_policies)]
