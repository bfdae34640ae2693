"""The few settings reading the log needs, read from the environment without pydantic.

`replay --all` (api/cli/lean.py) needs where the database is (or the data dir of the
embedded one) and the key that opens personal data: six of `Settings`' ~80 fields. Building
`Settings` imports pydantic and pydantic-settings and validates every field (about a
third of the replay's start). This reads the same variables the same way `Settings` does
for these fields (names matched without regard to case, blank meaning unset, the same URL
checks) and validates only them. Anything it does not read as `Settings` would — a value
it does not recognise, a Vault key wrapper, production mode (which refuses insecure
defaults across all settings) — gives None, and the caller builds `Settings` instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# pydantic's reading of a boolean for the values it accepts as false; anything else set
# (a true value, or one it would refuse) sends the caller to `Settings`.
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def default_data_dir() -> Path:
    """$XDG_DATA_HOME/ecovarejo, i.e. ~/.local/share/ecovarejo by default (`Settings`'
    default too)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ecovarejo"


@dataclass(frozen=True)
class PlainSecret:
    """A secret as `Settings` hands it over (`SecretStr`'s one method that is used)."""

    value: str

    def get_secret_value(self) -> str:
        return self.value

    def __repr__(self) -> str:
        return "PlainSecret('**********')"


@dataclass(frozen=True)
class LogSettings:
    """What `Settings` would say of the database, the data dir and the local master key."""

    database_url: str | None
    redis_url: str | None
    data_dir: Path
    master_key: PlainSecret | None
    erasure_ledger: Path | None
    key_wrapper: str = "local"
    production: bool = False

    @property
    def embedded(self) -> bool:
        return self.database_url is None or self.redis_url is None

    @property
    def erasure_ledger_path(self) -> Path:
        from infrastructure.keys.erasure_ledger import LEDGER_FILE

        return (self.erasure_ledger or self.data_dir / LEDGER_FILE).resolve()


def log_settings(environ: Mapping[str, str] | None = None) -> LogSettings | None:
    """The settings from `environ` (the process's by default), or None when only
    `Settings` can tell (see the module's docstring)."""
    env = {k.lower(): v for k, v in (os.environ if environ is None else environ).items()}
    if env.get("ecovarejo_key_wrapper", "local") != "local":
        return None
    if env.get("ecovarejo_production", "false").lower() not in _FALSE:
        return None
    database_url = env.get("database_url") or None
    if database_url and not database_url.startswith(("postgresql://", "postgres://")):
        return None
    redis_url = env.get("redis_url") or None
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        return None
    data_dir = env.get("ecovarejo_data_dir")
    if data_dir == "":
        return None  # what pydantic makes of a blank path is for `Settings` to say
    ledger = env.get("ecovarejo_erasure_ledger")
    if ledger == "":
        return None
    master_key = env.get("ecovarejo_master_key") or None
    return LogSettings(
        database_url=database_url,
        redis_url=redis_url,
        data_dir=Path(data_dir) if data_dir is not None else default_data_dir(),
        master_key=PlainSecret(master_key) if master_key else None,
        erasure_ledger=Path(ledger) if ledger else None,
    )
