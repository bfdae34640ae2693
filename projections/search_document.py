"""What both search adapters derive from a product document, in one place, so they agree.

A product document (see `projections.search.product_document`) may carry the product-level
fields of the catalog (`sustainability_score`, `category_path`, `rating_average`,
`rating_count`, `created_at`, `in_stock`); an older document lacks them and takes the
defaults of `indexed`. From it both adapters index the same derived values:

- keys: case- and accent-folded category path and certifications, so `category=vestuario`
  finds `Vestuário` and `certification=vegano` finds `Vegano`;
- suggestion inputs: the folded name and each of its word-suffixes (`camiseta de algodao
  organica`, `de algodao organica`, …), matched by prefix with at most one edit.

Sorting, price ranges and synonyms are named here too: they are the contract.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# `sort=` values: relevance (text rank when `q` is given, else SKU), cheapest or dearest
# first, newest first, best rated first, lowest footprint first, best score first.
SORTS = ("relevance", "price_asc", "price_desc", "newest", "rating", "footprint", "score")
DEFAULT_SORT = "relevance"

# Price-range facet buckets: `from` inclusive, `to` exclusive, in BRL. Keys are the
# bucket's bounds as shown (`"50-100"`, `"200-"`); empty buckets are left out.
PRICE_RANGES: tuple[tuple[Decimal | None, Decimal | None], ...] = (
    (None, Decimal(25)),
    (Decimal(25), Decimal(50)),
    (Decimal(50), Decimal(100)),
    (Decimal(100), Decimal(200)),
    (Decimal(200), Decimal(500)),
    (Decimal(500), None),
)

# Suggestions: the query is folded and matched as a prefix of a name's word-suffix; one
# edit (insertion, deletion or substitution) is forgiven from this many characters on,
# never in the first character (as Elasticsearch's completion suggester does with
# `prefix_length: 1`). Inputs longer than Elasticsearch's `max_input_length` are cut.
SUGGEST_FUZZY_MIN_LENGTH = 4
SUGGEST_MAX_INPUT_LENGTH = 50
SUGGEST_MAX_QUERY_LENGTH = 50
SUGGEST_MAX_SIZE = 20

_NOT_WORD = re.compile(r"[^0-9a-z]+")
_CENTS = Decimal("0.01")


def fold_key(text: str) -> str:
    """`Vestuário` -> `vestuario`: the form filters compare (case and accents ignored)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def fold_words(text: str) -> str:
    """`Camiseta — Orgânica!` -> `camiseta organica`: folded, words only, one space."""
    return " ".join(_NOT_WORD.split(fold_key(text))).strip()


def price_range_key(low: Decimal | None, high: Decimal | None) -> str:
    return f"{'' if low is None else low}-{'' if high is None else high}"


def price_range_keys() -> list[str]:
    return [price_range_key(low, high) for low, high in PRICE_RANGES]


def price_range_of(price: Decimal) -> str:
    for low, high in PRICE_RANGES:
        if (low is None or price >= low) and (high is None or price < high):
            return price_range_key(low, high)
    raise ValueError(f"no price range holds {price}")  # the ranges are open at both ends


def suggest_inputs(name: str) -> list[str]:
    """The folded name and each word-suffix of it, at most `SUGGEST_MAX_INPUT_LENGTH` long."""
    words = fold_words(name).split()
    return list(
        dict.fromkeys(
            " ".join(words[i:])[:SUGGEST_MAX_INPUT_LENGTH].strip() for i in range(len(words))
        )
    )


def within_one_edit(a: str, b: str) -> bool:
    """Levenshtein distance of `a` and `b` at most 1 (no transpositions), in linear time."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1 :] == b[i + 1 :]  # one substitution
    return a[i:] == b[i + 1 :]  # one insertion into `a`


def suggests(query: str, entry: str) -> bool:
    """Whether a folded `query` is a prefix of the folded `entry`, forgiving one edit."""
    if entry.startswith(query):
        return True
    if len(query) < SUGGEST_FUZZY_MIN_LENGTH or entry[:1] != query[:1]:
        return False
    lengths = (len(query) - 1, len(query), len(query) + 1)
    return any(within_one_edit(query, entry[:n]) for n in lengths)


@dataclass(frozen=True)
class Synonyms:
    """Groups of words a search treats as one (`camiseta, camisa, blusa`): a query word in a
    group matches any word of it. Words are folded; a word belongs to one group at most."""

    groups: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Synonyms:
        """`camiseta,camisa;garrafa,squeeze`: groups by `;`, words by `,`."""
        groups = []
        for raw in text.split(";"):
            words = tuple(dict.fromkeys(w for w in (fold_words(x) for x in raw.split(",")) if w))
            if len(words) > 1:
                groups.append(words)
        return cls.of(groups)

    @classmethod
    def of(cls, groups: Iterable[Sequence[str]]) -> Synonyms:
        seen: set[str] = set()
        folded = []
        for group in groups:
            words = tuple(dict.fromkeys(fold_words(w) for w in group if fold_words(w)))
            for word in words:
                if " " in word:
                    raise ValueError(f"a synonym is one word: {word!r}")
                if word in seen:
                    raise ValueError(f"{word!r} is in two synonym groups")
                seen.add(word)
            if len(words) > 1:
                folded.append(words)
        return cls(tuple(folded))

    def of_word(self, word: str) -> tuple[str, ...]:
        """The words `word` stands for: its group, or itself alone."""
        folded = fold_words(word)
        for group in self.groups:
            if folded in group:
                return group
        return (word,)

    def as_rules(self) -> list[str]:
        """Solr-format equivalence rules, as Elasticsearch's synonym filters take them."""
        return [", ".join(group) for group in self.groups]


DEFAULT_SYNONYMS = Synonyms.of(
    [
        ("camiseta", "camisa", "blusa"),
        ("garrafa", "squeeze", "cantil"),
        ("sacola", "bolsa", "ecobag"),
        ("vegano", "vegana", "vegan"),
        ("sabonete", "sabao"),
    ]
)


def _decimal_or_none(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _score(value: Any) -> int | None:
    number = _decimal_or_none(value)
    if number is None:
        return None
    return max(0, min(100, int(number)))


def _created_at(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value).isoformat()
        except ValueError:
            return None
    return None


# The product-level fields a document may carry (the catalog's read model adds them).
PRODUCT_FIELDS = (
    "sustainability_score",
    "category_path",
    "rating_average",
    "rating_count",
    "created_at",
    "in_stock",
)


def given(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The product-level fields `doc` gives, as given: what an index stores and hands back.
    Defaults are never stored, only derived at indexing: stored, a default would outlive
    the value it came from (the projector reads a document, changes it and writes it back,
    so an `in_stock` derived from yesterday's stock would stick)."""
    return {name: doc[name] for name in PRODUCT_FIELDS if doc.get(name) is not None}


@dataclass(frozen=True)
class Indexed:
    """What the index derives from a product document, defaults filled in."""

    category_path: list[str]
    category_keys: list[str]
    certification_keys: list[str]
    sustainability_score: int | None
    rating_average: Decimal | None
    rating_count: int
    created_at: str | None
    in_stock: bool
    footprint_kg: Decimal | None
    suggest: list[str]


def indexed(doc: Mapping[str, Any]) -> Indexed:
    """Defaults for what a document lacks: the category alone is its path; no score, rating
    or creation time (sorted last); in stock when any unit is available."""
    category = str(doc.get("category") or "")
    path = [str(p) for p in (doc.get("category_path") or ([category] if category else []))]
    keys = list(dict.fromkeys(fold_key(p) for p in [*path, category] if p))
    certifications = [str(c) for c in doc.get("certifications") or []]
    rating = _decimal_or_none(doc.get("rating_average"))
    in_stock = doc.get("in_stock")
    return Indexed(
        category_path=path,
        category_keys=keys,
        certification_keys=list(dict.fromkeys(fold_key(c) for c in certifications)),
        sustainability_score=_score(doc.get("sustainability_score")),
        rating_average=rating.quantize(_CENTS) if rating is not None else None,
        rating_count=int(doc.get("rating_count") or 0),
        created_at=_created_at(doc.get("created_at")),
        in_stock=bool(in_stock) if in_stock is not None else int(doc.get("available", 0)) > 0,
        footprint_kg=_decimal_or_none(doc.get("carbon_footprint_kg")),
        suggest=suggest_inputs(str(doc.get("name") or "")),
    )
