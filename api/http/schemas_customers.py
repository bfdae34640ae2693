"""Schemas of the customer and LGPD routes (profile, address book, consents, requests)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from api.http.schemas import AddressModel, ProductHitPublic, Schema, Text

Purpose = Literal["marketing_email", "personalization", "analytics"]
Short = Annotated[str, StringConstraints(max_length=40, strip_whitespace=True)]


class ProfileUpdate(Schema):
    name: Text = Field(examples=["Ana Souza"])
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)] = Field(
        examples=["ana@example.com.br"]
    )
    phone: Short = Field(default="", examples=["(11) 91234-5678"])
    cpf: Short = Field(default="", examples=["123.456.789-09"])


class ProfilePublic(Schema):
    customer_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    cpf: str | None = None
    erased: bool = False


class PersonalDataCorrection(Schema):
    """Only the fields to correct."""

    name: Text | None = None
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)] | None = None
    phone: Short | None = None
    cpf: Short | None = None


class CorrectionAccepted(Schema):
    customer_id: str
    corrected: list[str]
    version: int
    consistency_token: str


class AddressPublic(AddressModel):
    address_id: str


class AddressList(Schema):
    items: list[AddressPublic]


class ConsentUpdate(Schema):
    granted: bool
    text_version: Short = Field(default="", description="the consent text shown [current]")


class ConsentPublic(Schema):
    granted: bool
    text_version: str | None = None
    at: str | None = None
    by: str | None = None


class LgpdRequestPublic(Schema):
    request_id: str
    type: Literal["access", "portability", "correction", "erasure"]
    received_at: str
    completed_at: str | None
    deadline: str
    seconds_to_complete: float | None
    subject: str


class LgpdRequestList(Schema):
    items: list[LgpdRequestPublic]


class MarketingSendCreate(Schema):
    kind: Literal["newsletter", "back_in_stock"]
    sku: Text | None = Field(default=None, description="back_in_stock: the product")
    subject: Text | None = Field(default=None, description="newsletter: the subject line")
    body: Annotated[str, StringConstraints(max_length=20_000)] = ""


class MarketingSendReport(Schema):
    kind: str
    sent: int
    skipped: int


class RecommendationsPublic(Schema):
    """Products from the categories the customer bought (`based_on`), only with the
    `personalization` consent; without it `personalized` is false and nothing is listed."""

    customer_id: str
    personalized: bool
    based_on: list[str]
    items: list[ProductHitPublic]
