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
