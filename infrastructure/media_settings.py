"""Images and reviews (issue 28): where image bytes are kept, how big an upload may be, and
what an erasure does to a customer's reviews. Mixed into the one `Settings`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class MediaSettings(BaseModel):
    # `local`: files under the data dir's `media/` (the embedded default); `s3`: a bucket.
    object_store: Literal["local", "s3"] = Field(
        default="local", validation_alias="ECOVAREJO_OBJECT_STORE"
    )
    s3_bucket: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        validation_alias="ECOVAREJO_S3_BUCKET",
    )
    s3_endpoint_url: str | None = Field(default=None, validation_alias="ECOVAREJO_S3_ENDPOINT_URL")
    s3_region: str = Field(default="us-east-1", validation_alias="ECOVAREJO_S3_REGION")
    s3_access_key_id: str | None = Field(
        default=None, validation_alias="ECOVAREJO_S3_ACCESS_KEY_ID"
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None, validation_alias="ECOVAREJO_S3_SECRET_ACCESS_KEY"
    )
    # The bucket's public endpoint or a CDN: image URLs point there. Unset: `/media/{key}`.
    media_public_url: str | None = Field(
        default=None, validation_alias="ECOVAREJO_MEDIA_PUBLIC_URL"
    )
    image_max_bytes: int = Field(
        default=10_000_000, ge=10_000, le=100_000_000, validation_alias="ECOVAREJO_IMAGE_MAX_BYTES"
    )
    image_max_pixels: int = Field(
        default=40_000_000,
        ge=1_000_000,
        le=200_000_000,
        validation_alias="ECOVAREJO_IMAGE_MAX_PIXELS",
    )
    # After a reviewer's erasure: `keep` shows the review as "Cliente" (its rating still
    # counts; its words, being theirs, read as erased); `remove` takes it out of the list
    # and the rating.
    reviews_after_erasure: Literal["keep", "remove"] = Field(
        default="keep", validation_alias="ECOVAREJO_REVIEWS_AFTER_ERASURE"
    )
