"""What production (`ECOVAREJO_PRODUCTION=true`) refuses: the insecure defaults a copied
compose file or a quick start would otherwise carry into a real deployment."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

WEAK_PASSWORDS = frozenset({"", "ecovarejo", "postgres", "password", "secret", "changeme"})
MIN_JWT_SECRET = 32


def insecure_defaults(settings: Any) -> list[str]:
    problems = []
    if settings.database_url is None or settings.redis_url is None:
        problems.append("embedded servers (set DATABASE_URL and REDIS_URL)")
    # No JWT secret nor JWKS is fine: our own Ed25519 keys sign and verify (accounts); the
    # verifier ignores the HS256 secret in production (tokens from `ecovarejo token` are
    # for development).
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.get_secret_value()
        if len(secret) < MIN_JWT_SECRET or "change-me" in secret.lower():
            problems.append(f"ECOVAREJO_JWT_SECRET must be a random secret of {MIN_JWT_SECRET}+")
    if getattr(settings, "key_wrapper", "local") == "local" and settings.master_key is None:
        # The data dir's master-key file sits beside the data on the same disk (and in its
        # copies): production takes it from the environment or from the KMS.
        problems.append(
            "the master key from the data dir (set ECOVAREJO_MASTER_KEY, "
            "or ECOVAREJO_KEY_WRAPPER=vault)"
        )
    vault_addr = getattr(settings, "vault_addr", None)
    vault = getattr(settings, "key_wrapper", "local") == "vault"
    if vault and vault_addr and not vault_addr.startswith("https://"):
        problems.append("ECOVAREJO_VAULT_ADDR without TLS (https://)")
    if settings.database_url:
        password = urlsplit(settings.database_url).password or ""
        if password.lower() in WEAK_PASSWORDS:
            problems.append("DATABASE_URL has no password or a default one")
    if settings.elasticsearch_url:
        parts = urlsplit(settings.elasticsearch_url)
        if parts.scheme != "https" and not parts.password:
            problems.append("ELASTICSEARCH_URL without credentials (enable ES security)")
    return problems
