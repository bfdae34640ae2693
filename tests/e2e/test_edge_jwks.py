"""RS256 tokens from an external identity provider, verified against its JWKS document,
served here by a local HTTP server on 127.0.0.1 (no outside network)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from api.http.app import create_app
from infrastructure.bootstrap import Container

API = "/api/v1"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_of(key: rsa.RSAPrivateKey, kid: str) -> dict:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}


class IdentityProvider:
    """A JWKS endpoint on a free local port, in a background thread."""

    def __init__(self, document: dict):
        body = json.dumps(document).encode()
        self.requests = 0

        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/.well-known/jwks.json"

    def __enter__(self) -> IdentityProvider:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def rs256(key: rsa.RSAPrivateKey, kid: str, **claims: object) -> str:
    now = int(time.time())
    payload = {"sub": "idp-user-1", "role": "customer", "iat": now, "exp": now + 300, **claims}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
def idp_key() -> rsa.RSAPrivateKey:
    return rsa_key()


@pytest.fixture
def idp(idp_key) -> Iterator[IdentityProvider]:
    with IdentityProvider(jwks_of(idp_key, "idp-key-1")) as provider:
        yield provider


@pytest.fixture
def idp_client(container: Container, idp: IdentityProvider) -> Iterator[TestClient]:
    container.settings.jwks_url = idp.url
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_signed_with_the_providers_key_is_accepted(idp_client, idp_key, idp):
    headers = bearer(rs256(idp_key, "idp-key-1"))
    response = idp_client.post(f"{API}/carts", json={}, headers=headers)
    assert response.status_code == 201
    assert idp.requests >= 1
    created = response.json()
    cart = idp_client.get(
        f"{API}/carts/{created['cart_id']}",
        headers={**headers, "X-Consistency-Token": created["consistency_token"]},
    )
    assert cart.json()["customer_id"] == "idp-user-1"


def test_a_token_signed_with_another_key_is_refused(idp_client):
    forged = rs256(rsa_key(), "idp-key-1")
    response = idp_client.post(f"{API}/carts", json={}, headers=bearer(forged))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_a_token_naming_an_unknown_key_is_refused(idp_client, idp_key):
    response = idp_client.post(f"{API}/carts", json={}, headers=bearer(rs256(idp_key, "nope")))
    assert response.status_code == 401


def test_the_public_key_cannot_be_used_as_an_hs256_secret(idp_client, idp_key):
    """The algorithm-confusion attack: sign HS256 with the provider's public key."""
    public_pem = idp_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    claims = {"sub": "x", "role": "admin", "exp": now + 300}
    header = {"alg": "HS256", "kid": "idp-key-1", "typ": "JWT"}
    signing_input = b".".join(
        jwt.utils.base64url_encode(json.dumps(part).encode()) for part in (header, claims)
    )
    signature = jwt.algorithms.HMACAlgorithm(jwt.algorithms.HMACAlgorithm.SHA256).sign(
        signing_input, public_pem
    )
    token = (signing_input + b"." + jwt.utils.base64url_encode(signature)).decode()
    assert idp_client.post(f"{API}/carts", json={}, headers=bearer(token)).status_code == 401


def test_a_provider_token_must_expire(idp_client, idp_key):
    now = int(time.time())
    token = jwt.encode(
        {"sub": "idp-user-1", "role": "customer", "iat": now},
        idp_key,
        algorithm="RS256",
        headers={"kid": "idp-key-1"},
    )
    assert idp_client.post(f"{API}/carts", json={}, headers=bearer(token)).status_code == 401


def test_audience_and_issuer_are_checked_when_configured(container, idp, idp_key):
    container.settings.jwks_url = idp.url
    container.settings.jwt_audience = "ecovarejo-api"
    container.settings.jwt_issuer = "https://idp.example"
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        good = rs256(idp_key, "idp-key-1", aud="ecovarejo-api", iss="https://idp.example")
        assert client.post(f"{API}/carts", json={}, headers=bearer(good)).status_code == 201
        for claims in (
            {"aud": "another-api", "iss": "https://idp.example"},
            {"aud": "ecovarejo-api", "iss": "https://evil.example"},
            {"iss": "https://idp.example"},
        ):
            token = rs256(idp_key, "idp-key-1", **claims)
            assert client.post(f"{API}/carts", json={}, headers=bearer(token)).status_code == 401


def test_with_only_a_jwks_url_hs256_tokens_are_refused(container, idp, idp_key, auth):
    container.settings.jwks_url = idp.url
    container.settings.jwt_secret = None
    with TestClient(create_app(container), raise_server_exceptions=False) as client:
        assert client.post(f"{API}/carts", json={}, headers=auth()).status_code == 401
        token = rs256(idp_key, "idp-key-1")
        assert client.post(f"{API}/carts", json={}, headers=bearer(token)).status_code == 201
