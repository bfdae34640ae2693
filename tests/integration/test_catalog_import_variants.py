"""A catalog file that holds products with variants: rows naming the same `product` slug
are its variants (`options`: `tamanho=P|cor=azul`). The whole file is checked, the domain's
own checks included, before anything is saved, and saved in one commit: a file with any bad
line changes nothing, and each error names its line and field."""

from __future__ import annotations

from application.catalog_file import CatalogRow
from domain.money import Money
from domain.product import Product
from tests.checkout import register

HEADER = "sku;name;category;price;stock;product;options;carbon_footprint_kg;recyclable\n"
FILE = HEADER + (
    "CAM-P-AZ;Camiseta orgânica;camisetas;79,90;5;camiseta-organica;tamanho=P|cor=azul;2;sim\n"
    "CAM-M-AZ;Camiseta orgânica;camisetas;79,90;4;camiseta-organica;tamanho=M|cor=azul;2;sim\n"
    "CAM-G-CR;Camiseta orgânica;camisetas;84,90;3;camiseta-organica;tamanho=G|cor=cru;2;sim\n"
    "ECO-9;Escova de bambu;higiene;12,90;40;;;0,2;\n"
)


def imported(services, text: str, dry_run: bool = False):
    return services.catalog.import_catalog(
        text.encode(), "catalogo.csv", dry_run=dry_run, max_bytes=1_000_000
    )


def test_variants_of_a_product_are_imported_as_one_product_with_its_stock_items(container):
    services = container.services
    services.products.add_category("camisetas", "Camisetas")
    report = imported(services, FILE)
    assert (report.errors, report.as_dict()["created"]) == ([], 4)
    product = services.products.product(Product.create_id("camiseta-organica"))
    assert tuple(product.option_names) == ("tamanho", "cor")
    assert [(v.sku, dict(v.options)) for v in product.variants] == [
        ("CAM-P-AZ", {"tamanho": "P", "cor": "azul"}),
        ("CAM-M-AZ", {"tamanho": "M", "cor": "azul"}),
        ("CAM-G-CR", {"tamanho": "G", "cor": "cru"}),
    ]
    item = services.catalog.stock_item("CAM-G-CR")
    assert (item.product_id, item.price, item.on_hand) == (product.id, Money.brl("84.90"), 3)
    assert item.name == "Camiseta orgânica — G / cru"
    assert (
        services.catalog.stock_item("ECO-9").product_id == services.catalog.stock_item("ECO-9").id
    )
    again = imported(services, FILE)
    assert again.as_dict()["unchanged"] == 4  # the same file twice changes nothing
    repriced = imported(services, FILE.replace("84,90;3", "89,90;7"))
    assert [(c.sku, c.fields) for c in repriced.changes if c.action == "update"] == [
        ("CAM-G-CR", ["price", "stock"])
    ]
    item = services.catalog.stock_item("CAM-G-CR")
    assert (item.price, item.on_hand) == (Money.brl("89.90"), 7)


def test_a_file_with_one_bad_line_saves_nothing_and_names_every_line(container):
    services = container.services
    register(services, "ECO-1", 10)
    before = container.head_position()
    bad = HEADER + (
        "ECO-1;Produto;casa;20,00;10;;;;\n"  # fine alone: would change the name and price
        "CAM-P-AZ;Camiseta;sem-categoria;79,90;5;camiseta;tamanho=P;2;\n"
        "CAM-M-AZ;Camiseta;sem-categoria;79,90;5;camiseta;cor=azul;2;\n"
        "CAM-G-AZ;Camiseta;sem-categoria;79,90;5;camiseta;tamanho P;2;\n"
    )
    report = imported(services, bad)
    assert [str(e) for e in report.errors] == [
        "line 4, options: differs from line 3: the rows of camiseta share it",
        "line 5, options: 'tamanho P': write name=value|name=value",
    ]
    assert container.head_position() == before
    # With the options fixed, the unknown category is found before anything is saved.
    unknown = imported(
        services, bad.replace("cor=azul", "tamanho=M").replace("tamanho P", "tamanho=G")
    )
    assert [(e.line, e.field) for e in unknown.errors] == [(3, "row")]
    assert "sem-categoria" in unknown.errors[0].message
    assert container.head_position() == before
    assert services.catalog.stock_item("ECO-1").name != "Produto"


def test_a_stock_count_below_what_is_reserved_stops_the_whole_file(container):
    services = container.services
    register(services, "ECO-1", 10)
    item = services.catalog.stock_item("ECO-1")
    from uuid import uuid4

    item.reserve(uuid4(), 6)
    services.store.commit(item)
    before = container.head_position()
    report = imported(
        services, HEADER + "ECO-2;Nova;casa;5,00;1;;;;\nECO-1;Produto;casa;20,00;2;;;;\n"
    )
    assert [(e.line, e.field) for e in report.errors] == [(3, "row")]
    assert container.head_position() == before  # ECO-2, on the line before, was not saved


def test_a_row_may_not_add_a_variant_to_a_product_that_exists(container):
    services = container.services
    services.products.add_category("camisetas", "Camisetas")
    assert imported(services, FILE).errors == []
    extra = FILE + (
        "CAM-GG-AZ;Camiseta orgânica;camisetas;89,90;1;camiseta-organica;tamanho=GG|cor=azul;2;\n"
    )
    report = imported(services, extra)
    assert [(e.line, e.field) for e in report.errors] == [(6, "sku")]
    assert "not a variant of camiseta-organica" in report.errors[0].message


def test_options_without_a_product_are_refused_on_their_line():
    from application.catalog_file import parse_row

    parsed = parse_row(
        2, {"sku": "A-1", "name": "A", "category": "c", "price": "1", "options": "cor=azul"}
    )
    assert not isinstance(parsed, CatalogRow)
    assert [(e.field, e.message) for e in parsed] == [
        ("options", "options belong to a variant: name its product")
    ]
