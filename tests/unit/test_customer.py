"""The Customer aggregate: profile checks, address book, consents per purpose, erasure."""

from __future__ import annotations

import pytest

from domain.base import EventMetadata, event_context
from domain.card import Address
from domain.cpf import InvalidCpfError
from domain.customer import (
    AddressNotFoundError,
    Customer,
    InvalidProfileError,
    Profile,
    SubjectErasedError,
    UnknownPurposeError,
)

CPF = "529.982.247-25"


def customer_with_profile() -> Customer:
    customer = Customer(customer_id="ana")
    customer.update_profile(
        Profile.parse("Ana  Souza", "ana@Example.COM.br", "(11) 91234-5678", CPF)
    )
    return customer


def test_a_profile_is_checked_and_normalised():
    profile = Profile.parse(" Ana  Souza ", "ana@Example.COM.br", "+55 (11) 91234-5678", CPF)
    assert profile.to_dict() == {
        "name": "Ana Souza",
        "email": "ana@example.com.br",
        "phone": "+5511912345678",
        "cpf": "52998224725",
    }
    assert "Ana" not in repr(profile)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"cpf": "529.982.247-24"}, InvalidCpfError),
        ({"cpf": "111.111.111-11"}, InvalidCpfError),
        ({"email": "ana@"}, InvalidProfileError),
        ({"email": "ana example.com"}, InvalidProfileError),
        ({"phone": "12345"}, InvalidProfileError),
        ({"phone": "(11) 81234-5678"}, InvalidProfileError),
        ({"name": "   "}, InvalidProfileError),
    ],
)
def test_an_invalid_cpf_email_phone_or_name_is_refused(fields, error):
    values = {"name": "Ana", "email": "ana@example.com", "phone": "", "cpf": ""} | fields
    with pytest.raises(error):
        Profile.parse(**values)


def test_consent_is_granted_and_withdrawn_per_purpose_with_who_when_and_text_version():
    customer = customer_with_profile()
    with event_context(EventMetadata("customer:ana", "c1", "")):
        assert customer.grant("marketing_email", "2026-11")
        assert not customer.grant("marketing_email", "2026-11")  # nothing new
    held = customer.consents["marketing_email"]
    assert (held["granted"], held["text_version"], held["by"]) == (True, "2026-11", "customer:ana")
    assert held["at"]
    assert customer.has_consent("marketing_email")
    assert not customer.has_consent("analytics")
    assert customer.withdraw("marketing_email")
    assert not customer.withdraw("marketing_email")
    assert not customer.has_consent("marketing_email")
    with pytest.raises(UnknownPurposeError):
        customer.grant("telemarketing", "v1")
    kinds = [type(e).__name__ for e in customer.collect_events()]
    assert kinds == ["Registered", "ProfileUpdated", "ConsentGranted", "ConsentWithdrawn"]


def test_a_consent_survives_replay_with_its_who_and_when():
    customer = customer_with_profile()
    with event_context(EventMetadata("customer:ana", "c1", "")):
        customer.grant("analytics", "v2")
    events = customer.collect_events()
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed is not None
    assert replayed.consents["analytics"]["by"] == "customer:ana"
    assert replayed.has_consent("analytics")


def test_rectification_names_only_the_fields_that_changed():
    customer = customer_with_profile()
    assert customer.rectify({"email": "ana.souza@example.com.br"}, "customer:ana") == ["email"]
    assert customer.profile.value["email"] == "ana.souza@example.com.br"
    assert customer.profile.value["cpf"] == "52998224725"
    assert customer.rectify({"email": "ana.souza@example.com.br"}, "customer:ana") == []


def test_the_address_book_adds_finds_and_removes():
    customer = customer_with_profile()
    address_id = customer.add_address(Address("Rua A 1", "", "Recife", "PE", "50010-000"))
    assert customer.address(address_id).city == "Recife"
    customer.remove_address(address_id)
    with pytest.raises(AddressNotFoundError):
        customer.address(address_id)


def test_a_forgotten_customer_has_no_consents_or_addresses_and_cannot_be_changed():
    customer = customer_with_profile()
    customer.grant("marketing_email", "v1")
    customer.add_address(Address("Rua A 1", "", "Recife", "PE", "50010-000"))
    assert customer.forget("admin:x")
    assert not customer.forget("admin:x")
    assert not customer.has_consent("marketing_email")
    assert customer.addresses == {}
    with pytest.raises(SubjectErasedError):
        customer.rectify({"name": "Outra"}, "admin:x")
    with pytest.raises(SubjectErasedError):
        customer.grant("analytics", "v1")
