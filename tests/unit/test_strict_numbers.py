"""Numbers from outside are bounded and strict (issue 21): a signed token whose `exp` is
10**400 is refused as a bad token (it was a 500: the float conversion overflowed), and
`installments` is an integer, not "3", 3.0 or true."""

from __future__ import annotations

import time

import jwt
import pytest
from pydantic import ValidationError

from api.http.auth import AuthenticationError, TokenVerifier
from api.http.schemas import CardModel

SECRET = "unit-secret-that-is-long-enough-for-hs256-hs384-and-even-hs512!!"


def token(**claims: object) -> str:
    payload = {"sub": "ana", "role": "customer", "exp": int(time.time()) + 60, **claims}
    return jwt.encode(payload, SECRET, "HS256")


@pytest.mark.parametrize(
    "claims",
    [{"exp": 10**400}, {"iat": 10**400}, {"nbf": -(10**400)}, {"exp": -(10**400)}],
    ids=["exp-huge", "iat-huge", "nbf-huge-negative", "exp-huge-negative"],
)
def test_a_time_claim_far_out_of_range_is_a_refused_token_not_a_crash(claims):
    with pytest.raises(AuthenticationError):
        TokenVerifier(SECRET).verify(token(**claims))


CARD = '{"card_number":"4242424242424242","expiry":"12/30","cvc":"123","holder":"Ana",'


@pytest.mark.parametrize("given", ['"3"', "3.0", "true", "3.5", "null"])
def test_installments_must_be_a_json_integer(given):
    with pytest.raises(ValidationError):
        CardModel.model_validate_json(CARD + f'"installments":{given}}}')


def test_installments_as_an_integer_within_one_to_twelve_is_taken():
    assert CardModel.model_validate_json(CARD + '"installments":3}').installments == 3
    with pytest.raises(ValidationError):
        CardModel.model_validate_json(CARD + '"installments":13}')
