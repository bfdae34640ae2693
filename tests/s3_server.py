"""A real S3 API server for the object-store tests: moto's server mode (`moto_server`),
started on a free loopback port for the tests that ask for it and stopped after them.
Not a mock: boto3 speaks HTTP to it as it would to AWS S3 or MinIO."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

BUCKET = "ecovarejo-media"
ACCESS_KEY, SECRET_KEY = "test-access-key", "test-secret-key"


def stored_object(endpoint: str, key: str) -> dict[str, Any]:
    """What the S3 server holds under `key` of the media bucket (boto3's `get_object`)."""
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    return dict(client.get_object(Bucket=BUCKET, Key=key))


def s3_settings(endpoint: str) -> dict[str, str]:
    """The settings that keep product images in the S3 server at `endpoint`."""
    return {
        "ECOVAREJO_OBJECT_STORE": "s3",
        "ECOVAREJO_S3_BUCKET": BUCKET,
        "ECOVAREJO_S3_ENDPOINT_URL": endpoint,
        "ECOVAREJO_S3_ACCESS_KEY_ID": ACCESS_KEY,
        "ECOVAREJO_S3_SECRET_ACCESS_KEY": SECRET_KEY,
    }


def _moto_server() -> str:
    found = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(found).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("moto_server is not installed; `pip install -e .[dev]` installs it")
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """The endpoint of a running S3 API server with the bucket `BUCKET` created."""
    port = _free_port()
    process = subprocess.Popen(
        [_moto_server(), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("moto_server did not start")
            time.sleep(0.1)
        assert httpx.put(f"{url}/{BUCKET}", timeout=5).status_code == 200  # CreateBucket
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
