"""Token verification without any server: what an HS256 token must be to pass."""

from __future__ import annotations

import time

import jwt
import pytest

from api.http.auth import LEEWAY_S, AuthenticationError, Principal, TokenVerifier, bearer_token

SECRET = "unit-secret-that-is-long-enough-for-hs256-hs384-and-even-hs512!!"


def token(secret: str = SECRET, algorithm: str = "HS256", **claims: object) -> str:
    payload = {"sub": "ana", "role": "customer", "exp": int(time.time()) + 60, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm)


def test_a_valid_token_names_its_subject_and_role():
    assert TokenVerifier(SECRET).verify(token()) == Principal("ana", "customer")


@pytest.mark.parametrize(
    "bad",
    [
        token(exp=None),
        token(sub=None),
        token(sub=""),
        token(role=None),
        token(role="root"),
        token(secret="another-secret-that-is-long-enough-for-hs256-hs384-and-hs512!!!"),
        token(algorithm="HS512"),
        token(algorithm="HS384"),
        jwt.encode({"sub": "ana", "role": "admin", "exp": 9999999999}, None, "none"),
        "not.a.jwt",
        "",
    ],
    ids=[
        "no-exp",
        "no-sub",
        "empty-sub",
        "no-role",
        "unknown-role",
        "wrong-secret",
        "hs512",
        "hs384",
        "alg-none",
        "garbage",
        "empty",
    ],
)
def test_a_token_that_is_not_valid_is_refused(bad):
    with pytest.raises(AuthenticationError):
        TokenVerifier(SECRET).verify(bad)


def test_clock_skew_is_tolerated_up_to_the_leeway_only():
    now = int(time.time())
    verifier = TokenVerifier(SECRET)
    assert verifier.verify(token(exp=now - LEEWAY_S + 5)).sub == "ana"
    with pytest.raises(AuthenticationError):
        verifier.verify(token(exp=now - LEEWAY_S - 5))
    with pytest.raises(AuthenticationError):
        verifier.verify(token(nbf=now + LEEWAY_S + 60))


def test_rs256_is_refused_when_no_identity_provider_is_configured():
    with pytest.raises(AuthenticationError, match="RS256"):
        TokenVerifier(SECRET).verify(_rs256_header_only())


def _rs256_header_only() -> str:
    header = jwt.utils.base64url_encode(b'{"alg":"RS256","typ":"JWT"}').decode()
    claims = jwt.utils.base64url_encode(b'{"sub":"a","role":"admin","exp":9999999999}').decode()
    return f"{header}.{claims}.c2ln"


def test_audience_and_issuer_are_required_when_configured():
    verifier = TokenVerifier(SECRET, audience="ecovarejo-api", issuer="https://idp.example")
    good = token(aud="ecovarejo-api", iss="https://idp.example")
    assert verifier.verify(good).sub == "ana"
    for claims in ({"aud": "other"}, {"iss": "https://idp.example"}, {"aud": "ecovarejo-api"}):
        with pytest.raises(AuthenticationError):
            verifier.verify(token(**claims))


def test_the_bearer_token_is_read_from_the_authorization_header_only():
    def scope(*headers: tuple[bytes, bytes]) -> dict:
        return {"type": "http", "headers": list(headers)}

    assert bearer_token(scope((b"authorization", b"Bearer abc"))) == "abc"
    assert bearer_token(scope((b"authorization", b"bearer  abc "))) == "abc"
    assert bearer_token(scope((b"authorization", b"Basic abc"))) is None
    assert bearer_token(scope((b"authorization", b"Bearer"))) is None
    assert bearer_token(scope()) is None
