"""A customer: profile, address book and consents per purpose.

Every personal field (name, e-mail, phone, CPF, each address) is carried in events only as
`PersonalData`, encrypted with the customer's own key: destroying the key erases all of it,
in every event and every copy. Consents are not secret (a purpose, a text version, who and
when) and stay readable, so the record of what the customer agreed to survives; after an
erasure the customer is `forgotten` and every consent reads as withdrawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, EcoAggregate, InvalidInputError, NotFoundError
from domain.card import Address
from domain.cpf import Cpf
from domain.personal import PersonalData

CUSTOMER_NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/customer")
# Order notifications rest on the contract (LGPD art. 7, V), not on consent; these do not.
PURPOSES = ("marketing_email", "personalization", "analytics")
MAX_ADDRESSES = 20
PROFILE_FIELDS = ("name", "email", "phone", "cpf")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


class CustomerError(DomainError):
    """Base of the errors a Customer raises."""


class InvalidProfileError(InvalidInputError):
    """A name, e-mail or phone that cannot be right."""


class UnknownPurposeError(InvalidInputError):
    """A consent purpose that is not one of PURPOSES."""


class AddressNotFoundError(NotFoundError):
    """No such address in the customer's address book."""


class AddressBookFullError(CustomerError):
    """The address book already holds MAX_ADDRESSES addresses."""


class SubjectErasedError(CustomerError):
    """The customer's personal data was erased; it cannot be changed or added to."""


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise InvalidProfileError("name must have 1 to 200 characters")
    return name


def check_email(email: str) -> str:
    email = email.strip()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InvalidProfileError("email is not an e-mail address, e.g. ana@example.com.br")
    local, domain = email.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def check_phone(phone: str) -> str:
    """A Brazilian phone (DDD + 8 or 9 digits, optional +55) as E.164: +5511912345678."""
    if not re.fullmatch(r"[0-9()+\- ]{10,20}", phone.strip()):
        raise InvalidProfileError("phone must be a Brazilian number, e.g. (11) 91234-5678")
    digits = re.sub(r"\D", "", phone)
    if len(digits) in (12, 13) and digits.startswith("55"):
        digits = digits[2:]
    if len(digits) not in (10, 11) or digits[0] == "0" or digits[1] == "0":
        raise InvalidProfileError("phone must be a Brazilian number, e.g. (11) 91234-5678")
    if len(digits) == 11 and digits[2] != "9":
        raise InvalidProfileError("a mobile number has 9 digits starting with 9")
    return f"+55{digits}"


@dataclass(frozen=True, repr=False)
class Profile:
    """Name, e-mail, phone and CPF, checked and normalised. `repr` hides them (logs)."""

    name: str
    email: str
    phone: str = ""
    cpf: str = ""

    @classmethod
    def parse(cls, name: str, email: str, phone: str = "", cpf: str = "") -> Profile:
        return cls(
            name=check_name(name),
            email=check_email(email),
            phone=check_phone(phone) if phone.strip() else "",
            cpf=Cpf.parse(cpf).digits if cpf.strip() else "",
        )

    def __repr__(self) -> str:
        return "Profile(***)"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "email": self.email, "phone": self.phone, "cpf": self.cpf}


def check_purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise UnknownPurposeError(f"unknown purpose {purpose!r}; one of {', '.join(PURPOSES)}")
    return purpose


def consent_record(event: Any, granted: bool, text_version: str) -> dict[str, Any]:
    return {
        "granted": granted,
        "text_version": text_version,
        "at": event.timestamp.isoformat(),
        "by": event.actor,
    }


class Customer(EcoAggregate):
    class Registered(EcoAggregate.Created):
        customer_id: str

    class ProfileUpdated(EcoAggregate.Event):
        profile: PersonalData

    class ProfileRectified(EcoAggregate.Event):
        """A correction the data subject asked for (LGPD art. 18, III): the new values;
        the old ones stay only as ciphertext under the same key."""

        profile: PersonalData
        fields: list[str]
        requested_by: str

    class AddressAdded(EcoAggregate.Event):
        address_id: str
        address: PersonalData

    class AddressRemoved(EcoAggregate.Event):
        address_id: str

    class ConsentGranted(EcoAggregate.Event):
        """Who (`actor`), when (`timestamp`) and to which text version."""

        purpose: str
        text_version: str

        def apply(self, aggregate: Any) -> None:
            aggregate.consents[self.purpose] = consent_record(self, True, self.text_version)

    class ConsentWithdrawn(EcoAggregate.Event):
        purpose: str

        def apply(self, aggregate: Any) -> None:
            version = aggregate.consents[self.purpose]["text_version"]
            aggregate.consents[self.purpose] = consent_record(self, False, version)

    class Forgotten(EcoAggregate.Event):
        """The personal data was erased: consents end, the address book is emptied."""

        requested_by: str

    @staticmethod
    def create_id(customer_id: str) -> UUID:
        return uuid5(CUSTOMER_NAMESPACE, customer_id)

    @event(Registered)
    def __init__(self, customer_id: str) -> None:
        self.customer_id = customer_id
        self.profile: PersonalData | None = None
        self.addresses: dict[str, PersonalData] = {}
        self.consents: dict[str, dict[str, Any]] = {}
        self.forgotten = False

    # Guards --------------------------------------------------------------------------------
    def check_not_forgotten(self) -> None:
        if self.forgotten:
            raise SubjectErasedError(f"the personal data of {self.customer_id} was erased")

    def check_has_address(self, address_id: str) -> None:
        if address_id not in self.addresses:
            raise AddressNotFoundError(f"no address {address_id}")

    # Commands ------------------------------------------------------------------------------
    def update_profile(self, profile: Profile) -> None:
        self.check_not_forgotten()
        if self.profile is not None and self.profile.value == profile.to_dict():
            return
        self._profile_updated(profile=PersonalData(self.customer_id, profile.to_dict()))

    def rectify(self, changes: dict[str, str], requested_by: str) -> list[str]:
        """Correct some profile fields; the names of those that changed."""
        self.check_not_forgotten()
        current = dict(self.profile.value or {}) if self.profile is not None else {}
        merged = {f: current.get(f, "") for f in PROFILE_FIELDS} | changes
        profile = Profile.parse(**merged)
        changed = [f for f in PROFILE_FIELDS if profile.to_dict()[f] != current.get(f, "")]
        if changed:
            self._rectified(
                profile=PersonalData(self.customer_id, profile.to_dict()),
                fields=changed,
                requested_by=requested_by,
            )
        return changed

    def add_address(self, address: Address) -> str:
        self.check_not_forgotten()
        if len(self.addresses) >= MAX_ADDRESSES:
            raise AddressBookFullError(f"an address book holds at most {MAX_ADDRESSES}")
        address_id = str(uuid4())
        self._address_added(
            address_id=address_id, address=PersonalData(self.customer_id, address.to_dict())
        )
        return address_id

    def remove_address(self, address_id: str) -> None:
        self.check_has_address(address_id)
        self._address_removed(address_id=address_id)

    def grant(self, purpose: str, text_version: str) -> bool:
        check_purpose(purpose)
        self.check_not_forgotten()
        held = self.consents.get(purpose)
        if held is not None and held["granted"] and held["text_version"] == text_version:
            return False
        self.trigger_event(self.ConsentGranted, purpose=purpose, text_version=text_version)
        return True

    def withdraw(self, purpose: str) -> bool:
        check_purpose(purpose)
        if not self.has_consent(purpose):
            return False
        self.trigger_event(self.ConsentWithdrawn, purpose=purpose)
        return True

    def forget(self, requested_by: str) -> bool:
        if self.forgotten:
            return False
        self._forgotten(requested_by=requested_by)
        return True

    # Queries -------------------------------------------------------------------------------
    def has_consent(self, purpose: str) -> bool:
        held = self.consents.get(purpose)
        return bool(held and held["granted"]) and not self.forgotten

    def address(self, address_id: str) -> Address:
        """A saved address, for checkout; not found once removed or erased."""
        self.check_has_address(address_id)
        value = self.addresses[address_id].value
        if value is None:
            raise AddressNotFoundError(f"address {address_id} was erased")
        return Address(**value)

    # Applying events -----------------------------------------------------------------------
    @event(ProfileUpdated)
    def _profile_updated(self, profile: PersonalData) -> None:
        self.profile = profile

    @event(ProfileRectified)
    def _rectified(self, profile: PersonalData, fields: list[str], requested_by: str) -> None:
        self.profile = profile

    @event(AddressAdded)
    def _address_added(self, address_id: str, address: PersonalData) -> None:
        self.addresses[address_id] = address

    @event(AddressRemoved)
    def _address_removed(self, address_id: str) -> None:
        self.addresses.pop(address_id, None)

    @event(Forgotten)
    def _forgotten(self, requested_by: str) -> None:
        self.forgotten = True
        self.addresses = {}
        for purpose, held in self.consents.items():
            self.consents[purpose] = {**held, "granted": False}
