"""Search settings. Mixed into the one `Settings`."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from projections.search_document import DEFAULT_SYNONYMS, Synonyms


class SearchSettings(BaseModel):
    # Groups of words a search treats as one: `camiseta,camisa,blusa;garrafa,squeeze`
    # (groups by `;`, words by `,`, one word each); unset: a small built-in list
    # (projections/search_document.DEFAULT_SYNONYMS); empty: none. Elasticsearch reads them
    # when it creates an index: a change reaches it with `projections rebuild product_search`.
    search_synonyms: str | None = Field(default=None, validation_alias="ECOVAREJO_SEARCH_SYNONYMS")
    # The in-process search index (infrastructure/read_stores/search_memory.py, PostgreSQL
    # search only): each API process holds the active generation and answers anonymous
    # searches from memory, exactly as the database would. Off, or a generation of more
    # than `max_documents` rows: every search goes to the store. An answer is never older
    # than `max_stale_s`: the version (generation, log position) is checked every half of it
    # while searches come, and past it unconfirmed the store answers.
    search_memory_enabled: bool = Field(
        default=True, validation_alias="ECOVAREJO_SEARCH_MEMORY_ENABLED"
    )
    search_memory_max_documents: int = Field(
        default=50_000, ge=0, validation_alias="ECOVAREJO_SEARCH_MEMORY_MAX_DOCUMENTS"
    )
    search_memory_max_stale_s: float = Field(
        default=2.0, gt=0, le=3600, validation_alias="ECOVAREJO_SEARCH_MEMORY_MAX_STALE_S"
    )

    @field_validator("search_synonyms")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            Synonyms.parse(value)  # a word in two groups, or a phrase, stops the process
        return value

    def synonyms(self) -> Synonyms:
        if self.search_synonyms is None:
            return DEFAULT_SYNONYMS
        return Synonyms.parse(self.search_synonyms)
