"""Customers: their own profile, address book and consents (`/customers/me...`), and the
data-subject requests of LGPD art. 18 (`/customers/{id}/personal-data`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status

from api.http.auth import Principal
from api.http.command_route import CommandRoute
from api.http.deps import (
    Customer,
    CustomersDep,
    DataSubjectsDep,
    ReadersDep,
    require,
)
from api.http.etag import tagged
from api.http.openapi import problem
from api.http.routers.products import get_search, hit_public
from api.http.schemas import AddressModel, ErasureAccepted
from api.http.schemas_customers import (
    AddressList,
    AddressPublic,
    ConsentPublic,
    ConsentUpdate,
    CorrectionAccepted,
    PersonalDataCorrection,
    ProfilePublic,
    ProfileUpdate,
    Purpose,
    RecommendationsPublic,
)
from application.customers import CONSENT_TEXT_VERSION, check_consent_text
from application.portability import portable_package
from domain.card import Address
from domain.customer import Profile

router = APIRouter(
    route_class=CommandRoute, prefix="/customers", tags=["customers and data subjects (LGPD)"]
)
CustomerOrAdmin = Annotated[Principal, Depends(require("customer", "admin"))]
CustomerId = Annotated[str, Path(min_length=1, max_length=200)]
AddressId = Annotated[str, Path(min_length=1, max_length=64)]


def _check_self_or_admin(principal: Principal, customer_id: str) -> None:
    if principal.role == "customer" and principal.sub != customer_id:
        raise HTTPException(404, f"no customer {customer_id}")


# The customer's own records ---------------------------------------------------------------
@router.get("/me", responses={404: problem("no profile yet: PUT one first")})
def get_profile(customers: CustomersDep, customer: Customer) -> ProfilePublic:
    """The caller's profile, decrypted (or `erased: true`); 404 before the first PUT."""
    return ProfilePublic(**customers.profile_of(customer.sub))


@router.put("/me")
def put_profile(body: ProfileUpdate, customers: CustomersDep, customer: Customer) -> ProfilePublic:
    """Create or replace the profile. The CPF is checked by its check digits; the phone is
    stored as +55DDDNUMBER. Every field is stored only encrypted with the customer's key."""
    customers.update_profile(
        customer.sub, Profile.parse(body.name, body.email, body.phone, body.cpf)
    )
    return ProfilePublic(**customers.profile_of(customer.sub))


@router.get("/me/addresses")
def list_addresses(customers: CustomersDep, customer: Customer) -> AddressList:
    """The caller's saved addresses, decrypted (empty once erased)."""
    return AddressList(items=[AddressPublic(**a) for a in customers.addresses_of(customer.sub)])


@router.post("/me/addresses", status_code=status.HTTP_201_CREATED)
def add_address(
    body: AddressModel, customers: CustomersDep, customer: Customer, response: Response
) -> AddressPublic:
    """Save an address; checkout may then send `shipping_address_id`."""
    address_id, _ = customers.add_address(customer.sub, Address(**body.model_dump()))
    response.headers["Location"] = f"/api/v1/customers/me/addresses/{address_id}"
    return AddressPublic(address_id=address_id, **body.model_dump())


@router.delete("/me/addresses/{address_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_address(address_id: AddressId, customers: CustomersDep, customer: Customer) -> None:
    """Remove a saved address (404 if it is not the caller's)."""
    customers.remove_address(customer.sub, address_id)


@router.get("/me/consents")
def list_consents(customers: CustomersDep, customer: Customer) -> dict[str, ConsentPublic]:
    """Each purpose, granted or not, with the text version, when and by whom."""
    return {p: ConsentPublic(**c) for p, c in customers.consents_of(customer.sub).items()}


@router.put("/me/consents/{purpose}")
def put_consent(
    purpose: Purpose, body: ConsentUpdate, customers: CustomersDep, customer: Customer
) -> ConsentPublic:
    """Grant (`granted: true`, to the text version shown) or withdraw a consent."""
    # A grant must be to the current text (422 otherwise); a withdrawal ends any.
    version = check_consent_text(body.text_version) if body.granted else CONSENT_TEXT_VERSION
    customers.set_consent(customer.sub, purpose, body.granted, version)
    return ConsentPublic(**customers.consents_of(customer.sub)[purpose])


# Personalization ---------------------------------------------------------------------------
Limit = Annotated[int, Query(ge=1, le=50)]


def _recommendations(
    customer_id: str, customers: CustomersDep, readers: ReadersDep, limit: int
) -> RecommendationsPublic:
    if not customers.has_consent(customer_id, "personalization"):
        return RecommendationsPublic(
            customer_id=customer_id, personalized=False, based_on=[], items=[]
        )
    based_on, hits = readers.recommendations.for_customer(customer_id, limit)
    return RecommendationsPublic(
        customer_id=customer_id,
        personalized=True,
        based_on=based_on,
        items=[hit_public(hit) for hit in hits],
    )


@router.get("/me/recommendations", dependencies=[Depends(get_search)])
def my_recommendations(
    customers: CustomersDep, readers: ReadersDep, customer: Customer, limit: Limit = 10
) -> RecommendationsPublic:
    """Products from the categories the caller bought, not bought yet and in stock, only
    with the `personalization` consent (read at each request: a withdrawal applies to the
    next one); without it, `personalized: false` and no items. Nothing is stored for it."""
    return _recommendations(customer.sub, customers, readers, limit)


@router.get("/{customer_id}/recommendations", dependencies=[Depends(get_search)])
def recommendations(
    customer_id: CustomerId,
    customers: CustomersDep,
    readers: ReadersDep,
    principal: CustomerOrAdmin,
    limit: Limit = 10,
) -> RecommendationsPublic:
    """As `/customers/me/recommendations`, for the customer themself or an admin."""
    _check_self_or_admin(principal, customer_id)
    return _recommendations(customer_id, customers, readers, limit)


# Data-subject requests ---------------------------------------------------------------------
@router.get(
    "/{customer_id}/personal-data",
    responses={200: {"content": {"application/zip": {}}, "description": "export"}},
)
def export_personal_data(
    customer_id: CustomerId,
    data_subjects: DataSubjectsDep,
    principal: CustomerOrAdmin,
    format: Annotated[Literal["json", "portable"], Query()] = "json",
) -> Any:
    """Everything held about the subject (profile, addresses, consents, carts, orders,
    payments, and the subject's requests); `format=portable` gives a zip of JSON plus a
    CSV per kind of record. The request is recorded (access or portability)."""
    _check_self_or_admin(principal, customer_id)
    if format == "json":
        return data_subjects.export_personal_data(customer_id, principal.actor)
    document = data_subjects.export_personal_data(customer_id, principal.actor, kind="portability")
    return Response(
        portable_package(document),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="personal-data-{customer_id}.zip"'},
    )


@router.patch("/{customer_id}/personal-data", status_code=status.HTTP_202_ACCEPTED)
def correct_personal_data(
    customer_id: CustomerId,
    body: PersonalDataCorrection,
    data_subjects: DataSubjectsDep,
    principal: CustomerOrAdmin,
    response: Response,
) -> CorrectionAccepted:
    """Correct profile fields: a rectification event (the old values stay only as
    ciphertext under the same key). 409 once the subject was erased."""
    _check_self_or_admin(principal, customer_id)
    changes = body.model_dump(exclude_none=True)
    result, fields = data_subjects.rectify_personal_data(customer_id, changes, principal.actor)
    accepted = CorrectionAccepted(
        customer_id=customer_id,
        corrected=fields,
        version=result.version,
        consistency_token=result.consistency_token,
    )
    return tagged(response, accepted)


@router.delete("/{customer_id}/personal-data", status_code=status.HTTP_202_ACCEPTED)
def erase_personal_data(
    customer_id: CustomerId, data_subjects: DataSubjectsDep, principal: CustomerOrAdmin
) -> ErasureAccepted:
    """Crypto-shred the subject's personal data: their key is destroyed, so every copy in
    the log reads as erased; consents end, the address book empties. Idempotent."""
    _check_self_or_admin(principal, customer_id)
    erasure = data_subjects.erase_personal_data(customer_id, principal.actor)
    return ErasureAccepted(customer_id=customer_id, status=erasure.status, detail=erasure.message)
