"""Production settings refuse the insecure defaults a quick start would carry over."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from infrastructure.settings import Settings

GOOD = {
    "ECOVAREJO_PRODUCTION": "true",
    "DATABASE_URL": "postgresql://ecovarejo:Zq8-long-random@db:5432/ecovarejo",
    "REDIS_URL": "redis://redis:6379/0",
    "ELASTICSEARCH_URL": "http://elastic:Es-random-9@es:9200",
    "ECOVAREJO_JWT_SECRET": "k" * 48,
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
    ],
)
def test_production_refuses_an_insecure_default(change: dict, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Settings(**{**GOOD, **change})


def test_outside_production_the_quick_start_defaults_still_work() -> None:
    weak = {**GOOD, "ECOVAREJO_PRODUCTION": "false", "ECOVAREJO_JWT_SECRET": "short"}
    assert Settings(**weak).production is False
