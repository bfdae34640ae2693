"""Product images with `ECOVAREJO_OBJECT_STORE=s3`, against a real S3 API server
(moto_server): the renditions round-trip through the bucket, each object with its type and
the immutable cache header; without a public URL the API serves them from the bucket."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from application.product_images import IMMUTABLE
from application.product_ref import own_product_id
from infrastructure.settings import Settings
from tests.e2e.conftest import configured
from tests.images import photo_with_gps
from tests.s3_server import s3_endpoint, s3_settings, stored_object  # noqa: F401

API = "/api/v1"


@pytest.fixture
def settings(database_url: str, redis_url: str, tmp_path: Path, s3_endpoint: str) -> Settings:  # noqa: F811
    return configured(database_url, redis_url, tmp_path, **s3_settings(s3_endpoint))


def test_an_image_round_trips_through_the_s3_server_with_its_renditions(
    client,
    auth,
    product,
    s3_endpoint,  # noqa: F811
    settings,
):
    product_id = own_product_id(product["sku"])
    answer = client.post(
        f"{API}/products/{product_id}/images",
        files={"file": ("foto.jpg", photo_with_gps(), "image/jpeg")},
        data={"alt": "Garrafa de inox na mesa"},
        headers=auth("admin", "adm"),
    )
    assert answer.status_code == 201, answer.text
    renditions = answer.json()["image"]["renditions"]
    for rendition in renditions:
        key = rendition["url"].removeprefix("/media/")
        held = stored_object(s3_endpoint, key)
        data = held["Body"].read()
        assert hashlib.sha256(data).hexdigest() in key
        assert held["ContentType"] == f"image/{rendition['format']}"
        assert held["CacheControl"] == IMMUTABLE
        served = client.get(rendition["url"])  # through the API: the bucket is private
        assert (served.status_code, served.content) == (200, data)
        assert served.headers["cache-control"] == IMMUTABLE
    assert not (settings.data_dir / "media").exists()  # nothing on the local disk
