"""`replay --all` reads the few settings of the log without pydantic
(infrastructure/log_settings.py): what it reads is what `Settings` reads from the same
environment, and where it could differ (a Vault key wrapper, production mode, a value it
does not check) it gives None, so that `Settings` decides."""

from __future__ import annotations

import pytest

from infrastructure.log_settings import log_settings
from infrastructure.settings import Settings

KEY = "Btwfmo6vD_j-RRLzQ6yTfmYfetgRpGHNl6d28ZoSaTM="
CLEARED = (
    "DATABASE_URL",
    "REDIS_URL",
    "ECOVAREJO_DATA_DIR",
    "ECOVAREJO_MASTER_KEY",
    "ECOVAREJO_ERASURE_LEDGER",
    "ECOVAREJO_KEY_WRAPPER",
    "ECOVAREJO_PRODUCTION",
)


@pytest.fixture
def environ(monkeypatch, tmp_path):
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


def facts(settings) -> dict:
    key = settings.master_key
    return {
        "database_url": settings.database_url,
        "redis_url": settings.redis_url,
        "data_dir": settings.data_dir,
        "master_key": None if key is None else key.get_secret_value(),
        "erasure_ledger_path": settings.erasure_ledger_path,
        "embedded": settings.embedded,
        "production": settings.production,
        "key_wrapper": settings.key_wrapper,
    }


@pytest.mark.parametrize(
    "values",
    [
        {},
        {
            "DATABASE_URL": "postgresql://u:p@db:5432/eco",
            "REDIS_URL": "redis://cache:6379/0",
            "ECOVAREJO_DATA_DIR": "/srv/eco",
            "ECOVAREJO_MASTER_KEY": KEY,
            "ECOVAREJO_ERASURE_LEDGER": "/srv/ledger.jsonl",
            "ECOVAREJO_KEY_WRAPPER": "local",
            "ECOVAREJO_PRODUCTION": "false",
        },
        {"database_url": "postgres://db/eco", "ecovarejo_data_dir": "relative/dir"},
        {"DATABASE_URL": "", "REDIS_URL": "", "ECOVAREJO_MASTER_KEY": ""},
        {"ECOVAREJO_PRODUCTION": "No", "REDIS_URL": "unix:///run/redis.sock"},
    ],
)
def test_what_it_reads_is_what_settings_read(environ, values):
    environ(**values)
    cheap = log_settings()
    assert cheap is not None
    assert facts(cheap) == facts(Settings())


@pytest.mark.parametrize(
    "values",
    [
        {"ECOVAREJO_KEY_WRAPPER": "vault"},
        {"ECOVAREJO_KEY_WRAPPER": "nope"},
        {"ECOVAREJO_PRODUCTION": "true"},
        {"ECOVAREJO_PRODUCTION": "maybe"},
        {"DATABASE_URL": "mysql://nope"},
        {"REDIS_URL": "http://nope"},
        {"ECOVAREJO_DATA_DIR": ""},
        {"ECOVAREJO_ERASURE_LEDGER": ""},
    ],
)
def test_what_only_settings_can_tell_is_left_to_them(environ, values):
    environ(**values)
    assert log_settings() is None


def test_the_master_key_is_not_shown(environ):
    environ(ECOVAREJO_MASTER_KEY=KEY)
    cheap = log_settings()
    assert cheap is not None
    assert KEY not in repr(cheap)
