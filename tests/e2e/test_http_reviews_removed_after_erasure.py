"""With `ECOVAREJO_REVIEWS_AFTER_ERASURE=remove`, an erased reviewer's review leaves the
product's list and its rating (the default, `keep`, is in test_http_reviews.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from application.product_ref import own_product_id
from infrastructure.settings import Settings
from tests.e2e.conftest import configured
from tests.e2e.test_http_reviews import API, delivered, review


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return configured(database_url, redis_url, tmp_path, ECOVAREJO_REVIEWS_AFTER_ERASURE="remove")


def test_after_the_reviewers_erasure_the_review_and_its_stars_are_gone(client, auth, product):
    product_id = own_product_id(product["sku"])
    delivered(client, auth)
    review_id = review(client, auth, product_id, rating=2).json()["review_id"]
    approved = client.post(f"{API}/reviews/{review_id}/approve", headers=auth("admin", "adm"))
    shown = client.get(
        f"{API}/products/{product_id}/reviews",
        headers={"X-Consistency-Token": approved.json()["consistency_token"]},
    ).json()
    assert (shown["rating_count"], len(shown["items"])) == (1, 1)
    erased = client.delete(f"{API}/customers/ana/personal-data", headers=auth(sub="ana"))
    assert erased.status_code == 202, erased.text
    for _ in range(100):
        shown = client.get(f"{API}/products/{product_id}/reviews").json()
        if not shown["items"]:
            break
        time.sleep(0.05)
    assert (shown["items"], shown["total"]) == ([], 0)
    assert (shown["rating_count"], shown["rating_average"]) == (0, None)
