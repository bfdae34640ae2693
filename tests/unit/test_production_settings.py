"""Production settings refuse the insecure defaults a quick start would carry over."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from infrastructure.keys.data_keys import MASTER_KEY_FILE, generate_master_key
from infrastructure.keys.master_key import MasterKeyError, master_key_of
from infrastructure.settings import Settings

GOOD = {
    "ECOVAREJO_PRODUCTION": "true",
    "DATABASE_URL": "postgresql://ecovarejo:Zq8-long-random@db:5432/ecovarejo",
    "REDIS_URL": "redis://redis:6379/0",
    "ELASTICSEARCH_URL": "http://elastic:Es-random-9@es:9200",
    "ECOVAREJO_JWT_SECRET": "k" * 48,
    "ECOVAREJO_MASTER_KEY": generate_master_key(),
}


def test_a_hardened_production_configuration_is_accepted() -> None:
    assert Settings(**GOOD).production


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"ECOVAREJO_JWT_SECRET": "change-me-to-a-long-random-secret-xxxxxxxx"}, "JWT_SECRET"),
        ({"ECOVAREJO_JWT_SECRET": "short"}, "JWT_SECRET"),
        ({"DATABASE_URL": "postgresql://ecovarejo:ecovarejo@db:5432/x"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://ecovarejo@db:5432/x"}, "DATABASE_URL"),
        ({"ELASTICSEARCH_URL": "http://es:9200"}, "ELASTICSEARCH_URL"),
        ({"REDIS_URL": ""}, "embedded"),
        ({"ECOVAREJO_MASTER_KEY": ""}, "master key from the data dir"),
    ],
)
def test_production_refuses_an_insecure_default(change: dict, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Settings(**{**GOOD, **change})


def test_outside_production_the_quick_start_defaults_still_work() -> None:
    weak = {**GOOD, "ECOVAREJO_PRODUCTION": "false", "ECOVAREJO_JWT_SECRET": "short"}
    assert Settings(**weak).production is False


def test_production_does_not_take_the_master_key_from_the_data_dir_file(tmp_path) -> None:
    (tmp_path / MASTER_KEY_FILE).write_text(generate_master_key())
    without = {**GOOD, "ECOVAREJO_MASTER_KEY": "", "ECOVAREJO_DATA_DIR": str(tmp_path)}
    with pytest.raises(ValidationError, match="set ECOVAREJO_MASTER_KEY"):
        Settings(**without)
    # Nor does the key source itself, should settings reach it unvalidated.
    relaxed = Settings(**{**without, "ECOVAREJO_PRODUCTION": "false"})
    assert master_key_of(relaxed).path is not None  # outside production the file is used
    with pytest.raises(MasterKeyError, match="refuses the master key from the data dir"):
        master_key_of(relaxed.model_copy(update={"production": True}))


def test_production_takes_the_master_key_from_the_environment() -> None:
    settings = Settings(**GOOD)
    assert master_key_of(settings).path is None


def test_production_accepts_vault_instead_of_a_master_key_but_only_over_tls() -> None:
    vault = {
        **GOOD,
        "ECOVAREJO_MASTER_KEY": "",
        "ECOVAREJO_KEY_WRAPPER": "vault",
        "ECOVAREJO_VAULT_ADDR": "https://vault.internal:8200",
        "ECOVAREJO_VAULT_TOKEN": "hvs.production-token",
    }
    assert Settings(**vault).key_wrapper == "vault"
    with pytest.raises(ValidationError, match="without TLS"):
        Settings(**{**vault, "ECOVAREJO_VAULT_ADDR": "http://vault.internal:8200"})
    with pytest.raises(
        ValidationError, match="needs ECOVAREJO_VAULT_ADDR and ECOVAREJO_VAULT_TOKEN"
    ):
        Settings(**{**vault, "ECOVAREJO_VAULT_TOKEN": ""})
    with pytest.raises(ValidationError, match="must be one of local, vault"):
        Settings(**{**vault, "ECOVAREJO_KEY_WRAPPER": "aws"})
