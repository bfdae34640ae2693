"""The search-results cache keys every field of a query (api/http/search_cache.py)."""

from decimal import Decimal

from api.http.search_cache import cache_key, normalized
from projections.search import SearchQuery


def key(**criteria) -> str:
    return cache_key(normalized(SearchQuery(**criteria)), "g1")


def test_another_sort_or_in_stock_is_another_key():
    keys = {key(), key(sort="price_asc"), key(sort="price_desc"), key(in_stock=True)}
    assert len(keys) == 4


def test_spellings_of_one_filter_share_a_key():
    assert key(category="Vestuário") == key(category=" VESTUARIO ")
    assert key(certification="Orgânico  Brasil") == key(certification="organico brasil")
    assert key(q="Camiseta", min_price=Decimal("10")) == key(
        q="camiseta", min_price=Decimal("10.00")
    )


def test_the_default_sort_is_the_same_key_as_no_sort():
    assert key(sort="relevance") == key()
