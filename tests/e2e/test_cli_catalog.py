"""`ecovarejo catalog import FILE [--dry-run]` and `catalog export`: a Brazilian Excel CSV
imported (dry run first), imported again with no change, a bad file refused line by line,
and exported with formula cells neutralised."""

from __future__ import annotations

import json

from tests.checkout import wait_until
from tests.e2e.test_cli import clean_env, run

CSV = (
    "sku;name;category;price;stock\r\n"
    "ECO-1;Escova de bambu;higiene;12,90;40\r\n"
    "ECO-2;Caneca térmica;casa;1.234,50;5\r\n"
).encode("latin-1")


def cli_env(settings) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=settings.database_url or "",
        REDIS_URL=settings.redis_url or "",
        ECOVAREJO_JWT_SECRET="s" * 40,
        ECOVAREJO_DATA_DIR=str(settings.data_dir),
    )


def test_the_cli_imports_a_catalog_once_and_exports_it_neutralised(settings, container, tmp_path):
    env = cli_env(settings)
    path = tmp_path / "catalogo.csv"
    path.write_bytes(CSV)
    dry = run("catalog", "import", str(path), "--dry-run", "--json", env=env)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["created"] == 2
    assert json.loads(dry.stdout)["applied"] is False
    done = run("catalog", "import", str(path), env=env)
    assert done.returncode == 0, done.stderr
    assert "2 created" in done.stdout
    again = run("catalog", "import", str(path), "--json", env=env)
    assert json.loads(again.stdout)["unchanged"] == 2
    container.services.catalog.edit_stock_item("ECO-1", name="=1+1")
    wait_until(lambda: len(container.readers.back_office.skus()) == 2, what="listed")
    exported = run("catalog", "export", env=env)
    assert exported.returncode == 0, exported.stderr
    assert ";'=1+1;" in exported.stdout
    assert "1234,50" in exported.stdout


def test_a_bad_file_changes_nothing_and_names_each_line(settings, container, tmp_path):
    env = cli_env(settings)
    path = tmp_path / "ruim.csv"
    path.write_text(
        "sku,name,category,price\nECO-1,Escova,casa,2\nECO-1,Outra,casa,2\nECO-2,C,c,0\n"
    )
    before = container.head_position()
    bad = run("catalog", "import", str(path), env=env)
    assert bad.returncode == 1
    assert "line 4, price: must be greater than zero" in bad.stderr
    assert "line 3, sku: ECO-1 is also on line 2" in bad.stderr
    assert container.head_position() == before
    missing = run("catalog", "import", str(tmp_path / "nada.csv"), env=env)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: no file")


def test_the_certification_sweep_runs_from_the_cli_and_lapses_nothing_still_valid(
    settings, container
):
    from tests.checkout import catalog_with_variants

    catalog_with_variants(container.services)  # its certificate is valid until 2099
    wait_until(lambda: container.readers.products.certified_ids() != [], what="projected")
    swept = run("catalog", "lapse-certifications", "--json", env=cli_env(settings))
    assert swept.returncode == 0, swept.stderr
    assert json.loads(swept.stdout) == {"lapsed_products": []}
