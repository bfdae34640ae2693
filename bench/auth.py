"""Accounts and sign-in: what a sign-in costs (argon2id at the configured parameters, the
index look-up, the events written, the tokens issued) and what verifying an access token
costs the API on every request.

- `signin_p50_ms` / `signin_p95_ms`: sequential sign-ins through the sign-in service (one
  client, so the figure is the cost of one, not queueing), default argon2 parameters.
- `verify_cpu_us_eddsa` (ours), `..._hs256` (development), `..._rs256` (an IdP's key):
  CPU time of one `TokenVerifier.verify` (signature, claims, text rules), no I/O.
- `revocation_check_ms`: the one Redis round trip each request with our token makes.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from api.http.auth import TokenVerifier, issue_token
from application.signin import SignIn
from bench.config import BenchConfig
from bench.report import Results, log
from bench.servers import JWT_SECRET, Servers
from bench.stats import percentile
from infrastructure.accounts_wiring import account_system
from infrastructure.bootstrap import bootstrap
from infrastructure.store.account_store import access_revoked

PASSWORD = "bench-senha-bem-longa-2026"  # noqa: S105 (a benchmark account)


def _verify_cpu_us(verifier: TokenVerifier, token: str, n: int) -> float:
    verifier.verify(token)  # warm caches (the kid look-up)
    start = time.process_time()
    for _ in range(n):
        verifier.verify(token)
    return (time.process_time() - start) / n * 1e6


def bench_auth(config: BenchConfig, servers: Servers, results: Results) -> None:
    section = servers.section("auth")
    container = bootstrap(section.settings())
    try:
        system = account_system(container)
        accounts = 5 if config.quick else 20
        emails = [f"bench{i}@example.com" for i in range(accounts)]
        for email in emails:
            system.accounts.register(email, PASSWORD)
            customer_id = system.accounts.index.find(email)
            assert customer_id is not None
            account = system.accounts.account(customer_id)
            assert account is not None
            account.verify_email()
            container.services.store.save(account)
        rounds = 2 if config.quick else 5
        times: list[float] = []
        token = ""
        for _ in range(rounds):
            for email in emails:
                start = time.perf_counter()
                pair = system.signin.sign_in(SignIn(email, PASSWORD, "127.0.0.1"))
                times.append((time.perf_counter() - start) * 1000)
                token = pair.access_token
        results.set("signin_p50_ms", round(statistics.median(times), 1))
        results.set("signin_p95_ms", round(percentile(times, 95), 1))
        log(f"sign-in p95 {results.get('signin_p95_ms'):.1f} ms over {len(times)}")

        n = 500 if config.quick else 3000
        ours = TokenVerifier(None, own_keys=system.signing_keys.public_key)
        results.set("verify_cpu_us_eddsa", round(_verify_cpu_us(ours, token, n), 1))
        shared = TokenVerifier(JWT_SECRET)
        hs = issue_token(JWT_SECRET, "bench", "customer", 600)
        results.set("verify_cpu_us_hs256", round(_verify_cpu_us(shared, hs, n), 1))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        claims = jwt.decode(hs, options={"verify_signature": False})
        rs = jwt.encode(claims, key, algorithm="RS256")
        idp = TokenVerifier(None)
        idp._jwks = _FixedKey(key.public_key())  # type: ignore[assignment]  # no HTTP here
        results.set("verify_cpu_us_rs256", round(_verify_cpu_us(idp, rs, n), 1))

        principal = ours.verify(token)

        async def checks() -> float:
            client = container.aredis.client()
            await access_revoked(client, principal.sub, principal.jti, principal.family, 0)
            start = time.perf_counter()
            for _ in range(n):
                await access_revoked(
                    client, principal.sub, principal.jti, principal.family, principal.issued_at
                )
            return (time.perf_counter() - start) / n * 1000

        results.set("revocation_check_ms", round(asyncio.run(checks()), 3))
    finally:
        container.close()


class _FixedKey:
    """Stands in for PyJWKClient: the IdP's key without fetching a JWKS document."""

    def __init__(self, key: object):
        self.key = key

    def get_signing_key_from_jwt(self, _: str) -> _FixedKey:
        return self

    def get_signing_key(self, _kid: str) -> _FixedKey:  # what the verifier asks (by the kid)
        return self
