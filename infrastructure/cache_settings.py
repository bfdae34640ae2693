"""HTTP caching of the public catalog and the search-results cache. Mixed into the one
`Settings`. Defaults from the seeds' caching table: the API gateway keeps answers 300 s,
product data 1,800 s."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CacheSettings(BaseModel):
    # `Cache-Control: public, max-age=N, stale-while-revalidate=M` on anonymous answers.
    cache_product_max_age_s: int = Field(
        default=1800, ge=0, le=86400, validation_alias="ECOVAREJO_CACHE_PRODUCT_MAX_AGE_S"
    )
    cache_search_max_age_s: int = Field(
        default=300, ge=0, le=86400, validation_alias="ECOVAREJO_CACHE_SEARCH_MAX_AGE_S"
    )
    cache_stale_while_revalidate_s: int = Field(
        default=60, ge=0, le=86400, validation_alias="ECOVAREJO_CACHE_STALE_WHILE_REVALIDATE_S"
    )
    # The search-results cache (Redis, shared by every API process): on/off; an entry lives
    # at most the search max-age, so a price or stock change is never served staler than that.
    search_cache_enabled: bool = Field(
        default=True, validation_alias="ECOVAREJO_SEARCH_CACHE_ENABLED"
    )
