"""Products, variants, the category tree, GTINs and the sustainability score (issue 28):
the domain's rules, no I/O."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.category import (
    CategoryCycleError,
    CategorySlugTakenError,
    CategoryTree,
    InvalidCategoryError,
)
from domain.gtin import InvalidGtinError, check_digit, check_gtin
from domain.money import Money
from domain.product import (
    Certification,
    CertificationAlreadyListedError,
    InvalidProductError,
    Product,
    SustainabilityProfile,
    Variant,
)
from domain.stock_item import StockItem
from domain.sustainability_score import sustainability_score
from projections.products import meta_description, slugify

TODAY = date(2026, 12, 7)


@pytest.mark.parametrize("gtin", ["7891000315507", "4006381333931", "96385074", "036000291452"])
def test_real_gtins_of_each_length_pass(gtin):
    check_gtin(gtin)


@pytest.mark.parametrize(
    "gtin",
    [
        "7891000315508",
        "4006381333932",
        "96385075",
        "1234567",
        "78910003155O7",
        "\uff17\uff18\uff19",
    ],
)
def test_a_wrong_check_digit_or_shape_is_refused(gtin):
    with pytest.raises(InvalidGtinError):
        check_gtin(gtin)


def test_the_check_digit_weighs_digits_3_1_from_the_right():
    assert check_digit("789100031550") == 7  # 7+24+9+3+0+0+0+9+1+15+5+0 = 73 -> 7


def test_a_stock_item_with_a_wrong_gtin_is_never_registered():
    with pytest.raises(InvalidGtinError):
        StockItem.register(
            sku="ECO-1",
            name="x",
            description="",
            category="",
            price=Money(Decimal("1.00")),
            initial_quantity=1,
            sustainability={},
            gtin="7891000315508",
        )


@pytest.mark.parametrize(
    ("kg", "certificates", "recyclable", "packaging", "score"),
    [
        (Decimal("0"), 2, 100, "none", 100),
        (Decimal("10"), 0, 0, "conventional", 0),
        (Decimal("25"), 5, 0, "unknown", 30),  # footprint floors at 0, certificates cap at 30
        (Decimal("2"), 1, 80, "compostable", 32 + 15 + 12 + 15),
        (Decimal("0.4"), 0, 100, "unknown", 53),  # 38.4 + 15 = 53.4 -> 53
        (Decimal("5.1"), 0, 0, "recyclable", 28),  # 19.6 + 8 = 27.6 -> 28
    ],
)
def test_the_score_adds_footprint_certificates_recyclability_and_packaging(
    kg, certificates, recyclable, packaging, score
):
    assert (
        sustainability_score(
            carbon_footprint_kg=kg,
            valid_certifications=certificates,
            recyclable_percent=recyclable,
            packaging=packaging,
        )
        == score
    )


def tree() -> CategoryTree:
    tree = CategoryTree.start()
    tree.add("roupas", "Roupas")
    tree.add("camisetas", "Camisetas", "roupas")
    tree.add("basicas", "Básicas", "camisetas")
    return tree


@pytest.mark.parametrize("parent", ["roupas", "camisetas", "basicas"])
def test_a_category_cannot_move_under_itself_or_its_descendants(parent):
    categories = tree()
    before = dict(categories.categories)
    with pytest.raises(CategoryCycleError):
        categories.move("roupas", parent)
    assert categories.categories == before


def test_a_move_and_a_rename_keep_the_category_id():
    categories = tree()
    moved = categories.by_slug("camisetas").category_id
    categories.move("camisetas", None)
    categories.rename("camisetas", new_slug="camisetas-lisas", name="Camisetas lisas")
    assert categories.by_slug("camisetas-lisas").category_id == moved
    assert categories.by_slug("camisetas-lisas").parent_id is None
    assert categories.ancestors(categories.by_slug("basicas").category_id) == [moved]


def test_slugs_are_unique_well_formed_and_parents_must_exist():
    categories = tree()
    with pytest.raises(CategorySlugTakenError):
        categories.add("roupas", "Outra")
    with pytest.raises(CategorySlugTakenError):
        categories.rename("basicas", new_slug="roupas")
    for bad in ("Roupas", "a--b", "-a", "á", "x" * 61, "a b"):
        with pytest.raises(InvalidCategoryError):
            categories.add(bad, "Nome")
    with pytest.raises(InvalidCategoryError):
        categories.add("novas", "Novas", "nao-existe")
    with pytest.raises(InvalidCategoryError):
        categories.add("controle", "Nome\x07")


def test_the_tree_is_at_most_six_levels_deep_moves_included():
    categories = CategoryTree.start()
    parent = None
    for level in range(6):
        categories.add(f"n{level}", f"N{level}", parent)
        parent = f"n{level}"
    with pytest.raises(InvalidCategoryError):
        categories.add("n6", "N6", "n5")
    categories.add("other", "Other")
    categories.add("other-child", "Other child", "other")
    with pytest.raises(InvalidCategoryError):
        categories.move("other", "n4")  # its child would sit at level 7


def shirt(**change) -> Product:
    spec = {
        "slug": "camiseta",
        "name": "Camiseta",
        "description": "Algodão",
        "category_id": None,
        "option_names": ("tamanho", "cor"),
        "variants": (
            Variant("CAM-P-AZ", (("tamanho", "P"), ("cor", "azul"))),
            Variant("CAM-M-AZ", (("tamanho", "M"), ("cor", "azul"))),
        ),
        "profile": SustainabilityProfile(Decimal("2"), 80, "compostable"),
        **change,
    }
    return Product.create(**spec)


@pytest.mark.parametrize(
    "change",
    [
        {"slug": "search"},
        {"slug": "0f8fad5b-d9cb-469f-a165-70867728950e"},
        {"slug": "Camiseta"},
        {"name": "x" * 121},
        {"name": "Cami\x1bseta"},
        {"name": "Cami\nseta"},
        {"name": "Cami\ud800seta"},
        {"description": "a\x00b"},
        {"description": "x" * 5001},
        {"meta_description": "x" * 161},
        {"option_names": ("tamanho", "tamanho")},
        {"variants": ()},
        {"variants": (Variant("CAM-P", (("tamanho", "P"),)),)},
        {"variants": (Variant("CAM-P", (("cor", "azul"), ("tamanho", "P"))),)},
        {
            "variants": (
                Variant("CAM-1", (("tamanho", "P"), ("cor", "azul"))),
                Variant("CAM-2", (("tamanho", "P"), ("cor", "azul"))),
            )
        },
        {
            "variants": (
                Variant("CAM-1", (("tamanho", "P"), ("cor", "azul"))),
                Variant("CAM-1", (("tamanho", "M"), ("cor", "azul"))),
            )
        },
    ],
)
def test_a_product_that_breaks_a_rule_is_not_created(change):
    with pytest.raises(InvalidProductError):
        shirt(**change)


@pytest.mark.parametrize("name", ["Camiseta\xa0orgânica", "Camiseta 👩\u200d🔬", "Cami\u00adseta"])
def test_the_edges_text_rule_is_the_products_text_that_passes_there_is_kept(name):
    # NBSP, a ZWJ sequence, a soft hyphen: the edge (domain/text.py) takes them, so must we.
    assert shirt(name=name, description="linha 1\r\nlinha 2").name == name


def test_a_certificate_counts_until_its_date_and_lapses_once():
    product = shirt()
    gots = Certification("GOTS", "Control Union", "CU-1", date(2026, 12, 8))
    product.add_certification(gots, TODAY)
    with pytest.raises(CertificationAlreadyListedError):
        product.add_certification(gots, TODAY)
    assert product.score(TODAY) == 59 + 15
    assert product.score(date(2026, 12, 8)) == 74  # valid through its last day
    assert product.score(date(2026, 12, 9)) == 59
    assert product.lapse_certifications(TODAY) == []
    assert product.lapse_certifications(date(2026, 12, 9)) == [gots]
    assert product.lapse_certifications(date(2026, 12, 10)) == []
    assert product.valid_certifications(TODAY) == []  # lapsed is lapsed, whatever the day


def test_an_expired_or_anonymous_certificate_is_refused():
    product = shirt()
    with pytest.raises(InvalidProductError):
        product.add_certification(Certification("GOTS", "CU", "1", date(2026, 12, 6)), TODAY)
    with pytest.raises(InvalidProductError):
        product.add_certification(Certification("GOTS", " ", "1", date(2027, 1, 1)), TODAY)


def test_meta_descriptions_and_slugs_for_pages():
    assert meta_description("Dada", "ignored") == "Dada"
    long = "Camiseta de algodão orgânico, " * 10
    meta = meta_description("", long)
    assert len(meta) <= 155
    assert meta.endswith("…")
    assert " " not in meta[-2:]
    assert slugify("Camiseta Orgânica — P/M") == "camiseta-organica-p-m"
    assert slugify("***") == "produto"
