"""What the settings cannot make work, and the JWT secret: light (no wiring), so that a
command that needs only these (`ecovarejo token`) does not import the system.
`infrastructure.bootstrap` raises the error (and exports it, as it always did)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infrastructure.settings import Settings


class ConfigurationError(Exception):
    """The settings cannot make a working system."""


def jwt_secret(settings: Settings) -> str:
    """ECOVAREJO_JWT_SECRET, or in embedded mode one generated once and kept in the data dir."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    if not settings.embedded:
        raise ConfigurationError("set ECOVAREJO_JWT_SECRET (or ECOVAREJO_JWKS_URL)")
    path = settings.data_dir / "jwt-secret"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()
