"""The object-storage port: one suite, run against the local filesystem adapter and the
S3 adapter speaking to a real S3 API server (moto_server, tests/s3_server.py)."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Iterator

import boto3
import httpx
import pytest

from application.product_images import IMMUTABLE, ObjectStore
from infrastructure.gateways.object_stores import (
    InvalidObjectKeyError,
    LocalObjectStore,
    S3ObjectStore,
)
from tests.s3_server import ACCESS_KEY, BUCKET, SECRET_KEY, s3_endpoint  # noqa: F401

DATA = b"\xff\xd8\xff\xe0 not really a jpeg, but bytes"
KEY = f"images/{hashlib.sha256(DATA).hexdigest()}.jpeg"


def s3_store(endpoint: str, public_url: str | None = None) -> S3ObjectStore:
    return S3ObjectStore(
        BUCKET,
        endpoint_url=endpoint,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        public_url=public_url,
    )


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "media")
    else:
        yield s3_store(request.getfixturevalue("s3_endpoint"))


def test_an_object_put_reads_back_byte_for_byte_and_a_second_put_changes_nothing(store):
    store.put(KEY, DATA, "image/jpeg")
    store.put(KEY, DATA, "image/jpeg")
    assert store.get(KEY) == DATA


def test_a_missing_object_reads_as_none(store):
    assert store.get(f"images/{'0' * 64}.webp") is None


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "images/../x.jpeg", "/abs.jpeg", "images/short.jpeg", ""]
)
def test_a_key_that_is_not_one_of_ours_is_refused_before_any_io(store, key):
    with pytest.raises(InvalidObjectKeyError):
        store.put(key, DATA, "image/jpeg")
    with pytest.raises(InvalidObjectKeyError):
        store.get(key)


def test_without_a_public_url_objects_are_served_through_our_media_route(store):
    assert store.url(KEY) == f"/media/{KEY}"


def test_local_files_and_their_folders_are_private_to_the_owner(tmp_path):
    store = LocalObjectStore(tmp_path / "media")
    store.put(KEY, DATA, "image/jpeg")
    path = tmp_path / "media" / KEY
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert not list(path.parent.glob(".upload-*"))  # no temporary left behind


def admin_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


# What an operator sets on a bucket whose images browsers fetch directly (docs: the public
# URL needs it, or a CDN with access to the bucket).
PUBLIC_IMAGES = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/images/*",
        }
    ],
}


def test_s3_objects_carry_their_type_and_the_immutable_cache_header(s3_endpoint):  # noqa: F811
    s3_store(s3_endpoint).put(KEY, DATA, "image/jpeg")
    head = admin_client(s3_endpoint).head_object(Bucket=BUCKET, Key=KEY)
    assert head["ContentType"] == "image/jpeg"
    assert head["CacheControl"] == IMMUTABLE


def test_with_a_public_url_browsers_fetch_objects_from_the_bucket(s3_endpoint):  # noqa: F811
    store = s3_store(s3_endpoint, public_url=f"{s3_endpoint}/{BUCKET}")
    store.put(KEY, DATA, "image/jpeg")
    url = store.url(KEY)
    assert url == f"{s3_endpoint}/{BUCKET}/{KEY}"
    assert httpx.get(url).status_code == 403  # a private bucket: not without a policy
    admin_client(s3_endpoint).put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(PUBLIC_IMAGES))
    fetched = httpx.get(url)  # anonymous, as a browser
    assert (fetched.status_code, fetched.content) == (200, DATA)
    assert fetched.headers["cache-control"] == IMMUTABLE
