"""Analytics over HTTP and the CLI (admins and analysts)."""

import json

from tests.e2e.test_cli import clean_env, run

API = "/api/v1"


def test_analytics_answer_admins_only(client, auth, product):
    admin = auth("admin", "adm")
    for path in (
        "/analytics/sales?by=category",
        "/analytics/co2?by=order",
        "/analytics/top-products?limit=5",
        "/analytics/customers",
    ):
        response = client.get(API + path, headers=admin)
        assert response.status_code == 200, path
        assert response.json() == {"rows": []}
        assert client.get(API + path, headers=auth()).status_code == 403
    assert client.get(f"{API}/analytics/sales?by=week", headers=admin).status_code == 422


def test_analytics_from_the_cli(settings, container):
    env = clean_env(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        ECOVAREJO_JWT_SECRET="s" * 40,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
    )
    result = run("analytics", "sales", "--by", "category", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert run("analytics", "co2", "--by", "planet", env=env).returncode == 2
