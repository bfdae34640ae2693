"""A verified token is remembered with the key that verified it: the same bytes pass again
without their signature checked, but never past their expiry, and never once the key they
name is withdrawn or replaced (our own EdDSA keys rotate; the IdP's JWKS changes)."""

from __future__ import annotations

import asyncio
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from api.http import auth
from api.http.auth import LEEWAY_S, AuthenticationError, Principal, TokenVerifier

SECRET = "unit-secret-that-is-long-enough-for-hs256-hs384-and-even-hs512!!"


@pytest.fixture
def decodes(monkeypatch) -> list[str]:
    """The tokens whose signature and claims were checked."""
    checked: list[str] = []
    decode = jwt.decode

    def counting(token: str, *args: object, **kwargs: object) -> object:
        checked.append(token)
        return decode(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(auth.jwt, "decode", counting)
    return checked


def hs256(ttl_s: int = 60, sub: str = "ana") -> tuple[str, int]:
    exp = int(time.time()) + ttl_s
    return jwt.encode({"sub": sub, "role": "customer", "exp": exp}, SECRET, "HS256"), exp


def test_a_token_verified_once_is_not_checked_again(decodes):
    verifier = TokenVerifier(SECRET)
    token, _ = hs256()
    for _ in range(3):
        assert verifier.verify(token) == Principal("ana", "customer")
        assert asyncio.run(verifier.verify_async(token)) == Principal("ana", "customer")
    assert decodes == [token]
    other, _ = hs256(sub="bia")
    assert verifier.verify(other).sub == "bia"
    assert decodes == [token, other]


def test_a_remembered_token_is_checked_again_once_it_may_have_expired(decodes, monkeypatch):
    verifier = TokenVerifier(SECRET)
    token, exp = hs256(ttl_s=5)
    verifier.verify(token)
    monkeypatch.setattr(auth.time, "time", lambda: exp + LEEWAY_S - 0.5)
    assert verifier.verify(token).sub == "ana"  # within the leeway, as jwt.decode would
    assert len(decodes) == 1
    monkeypatch.setattr(auth.time, "time", lambda: exp + LEEWAY_S)
    verifier.verify(token)  # (jwt's own clock, not moved here, still takes it)
    assert len(decodes) == 2  # judged again, by jwt.decode's expiry check


def test_an_expired_token_is_refused_though_it_was_remembered():
    verifier = TokenVerifier(SECRET)
    token, _ = hs256(ttl_s=-LEEWAY_S + 2)  # expires, leeway included, within 2 s
    verifier.verify(token)
    time.sleep(2.1)
    with pytest.raises(AuthenticationError, match="expired"):
        verifier.verify(token)


def test_a_remembered_token_is_refused_once_its_key_is_withdrawn_or_replaced(decodes):
    signing = Ed25519PrivateKey.generate()
    keys = {"k1": signing.public_key()}
    verifier = TokenVerifier(None, own_keys=keys.get)
    claims = {"sub": "ana", "role": "customer", "exp": int(time.time()) + 60, "jti": "j"}
    token = jwt.encode(claims, signing, "EdDSA", headers={"kid": "k1"})
    assert verifier.verify(token).jti == "j"
    assert asyncio.run(verifier.verify_async(token)).jti == "j"
    assert len(decodes) == 1
    keys["k1"] = Ed25519PrivateKey.generate().public_key()  # another key under the same kid
    with pytest.raises(AuthenticationError, match="signature"):
        verifier.verify(token)
    del keys["k1"]  # withdrawn
    with pytest.raises(AuthenticationError, match="unknown or retired"):
        verifier.verify(token)


def test_refused_tokens_are_not_remembered_and_the_memory_is_bounded(monkeypatch, decodes):
    monkeypatch.setattr(auth, "VERIFIED_TOKENS", 3)
    verifier = TokenVerifier(SECRET)
    bad = jwt.encode({"sub": "ana", "role": "root", "exp": int(time.time()) + 60}, SECRET)
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            verifier.verify(bad)
    assert decodes == [bad, bad]
    for n in range(10):
        verifier.verify(hs256(sub=f"u{n}")[0])
    assert len(verifier._verified) <= 3
