"""Object-storage adapters for product images (the `ObjectStore` port).

- `LocalObjectStore`: files under the data dir (`media/`), directories 0700 and files 0600
  like everything else there; written to a temporary name and renamed, so a reader never
  sees half an object. The API serves them at `/media/{key}`.
- `S3ObjectStore`: any S3-compatible store (AWS S3, MinIO, Ceph, R2 …) through boto3.
  Objects are written with their `Content-Type` and `Cache-Control: public,
  max-age=31536000, immutable`. With `ECOVAREJO_MEDIA_PUBLIC_URL` set (the bucket's public
  endpoint or a CDN in front of it), URLs point there and browsers never touch the API;
  without it the API serves the objects itself at `/media/{key}` (a private bucket).

Amazon S3 API reference: PutObject
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html), GetObject
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

from application.product_images import IMMUTABLE
from infrastructure.runtime.private_files import FILE_MODE, private_dir

# Keys we write: "images/<64 hex>.<webp|jpeg>". Anything else is refused before it can
# name a path (`..`, absolute paths) or a bucket key we did not write.
KEY_PATTERN = re.compile(r"^images/[0-9a-f]{64}\.(webp|jpeg)$")
LOCAL_PREFIX = "/media/"


class InvalidObjectKeyError(ValueError):
    """A key that is not one of ours."""


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidObjectKeyError(f"not an object key: {key!r}")
    return key


class LocalObjectStore:
    def __init__(self, root: Path, url_prefix: str = LOCAL_PREFIX) -> None:
        self.root = root
        self.url_prefix = url_prefix
        self._folders: set[Path] = set()  # made private once per process, not per file

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        if path.exists():
            return  # content-addressed: the same key holds the same bytes
        if path.parent not in self._folders:
            private_dir(self.root)
            private_dir(path.parent)
            self._folders.add(path.parent)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            os.fchmod(fd, FILE_MODE)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def url(self, key: str) -> str:
        return self.url_prefix + check_key(key)


class S3ObjectStore:
    """A bucket of an S3-compatible store. boto3 is imported on first use: only processes
    configured for S3 pay for it."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        public_url: str | None = None,
        url_prefix: str = LOCAL_PREFIX,
        timeout_s: float = 10.0,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.public_url = public_url.rstrip("/") + "/" if public_url else None
        self.url_prefix = url_prefix
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,  # None: boto3's usual chain (env, role …)
            aws_secret_access_key=secret_access_key,
            config=Config(
                connect_timeout=timeout_s,
                read_timeout=timeout_s,
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": "path"} if endpoint_url else None,
            ),
        )

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=check_key(key),
            Body=data,
            ContentType=content_type,
            CacheControl=IMMUTABLE,
        )

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        body: bytes = answer["Body"].read()
        return body

    def url(self, key: str) -> str:
        if self.public_url:
            return self.public_url + check_key(key)
        return self.url_prefix + check_key(key)
