"""The demo catalog `ecovarejo seed` loads: sustainable products, BRL prices, CO2 figures,
and a product sold in variants (a T-shirt in four sizes and two colours) under a category
tree, as the seeds' own example has it."""

from __future__ import annotations

from contextlib import suppress
from decimal import Decimal

from application.errors import AlreadyExistsError
from application.products import ProductInput, VariantInput
from application.services import Services
from domain.category import CategorySlugTakenError
from domain.money import Money
from domain.product import SustainabilityProfile

# slug, name, parent slug
CATEGORIES = (("vestuario", "Vestuário", None), ("camisetas", "Camisetas", "vestuario"))
SIZES = ("P", "M", "G", "GG")
COLOURS = ("azul", "cru")
SHIRT = ProductInput(
    slug="camiseta-algodao-organico",
    name="Camiseta de Algodão Orgânico",
    description="Malha de algodão orgânico certificado, tingimento natural.",
    option_names=("tamanho", "cor"),
    variants=[
        VariantInput(
            f"ECO-CAM-{size}-{colour[:2].upper()}",
            {"tamanho": size, "cor": colour},
            Money.brl("89.90" if size == "GG" else "79.90"),
            20,
            weight_grams=200,
        )
        for size in SIZES
        for colour in COLOURS
    ],
    profile=SustainabilityProfile(Decimal("2.100"), 80, "compostable"),
    category="camisetas",
)

# sku, name, category, price, quantity, kg CO2e, certifications, recyclable, biodegradable
PRODUCTS: list[tuple[str, str, str, str, int, str, list[str], bool, bool]] = [
    (
        "ECO-0001",
        "Escova de Dentes de Bambu",
        "higiene",
        "14.90",
        250,
        "0.050",
        ["FSC"],
        False,
        True,
    ),
    (
        "ECO-0002",
        "Sabonete Orgânico de Açaí",
        "higiene",
        "18.50",
        180,
        "0.120",
        ["IBD Orgânico", "Vegano"],
        True,
        True,
    ),
    (
        "ECO-0003",
        "Shampoo Sólido de Argila Verde",
        "higiene",
        "32.00",
        120,
        "0.090",
        ["Vegano", "Cruelty Free"],
        True,
        True,
    ),
    (
        "ECO-0004",
        "Desodorante Natural em Creme",
        "higiene",
        "29.90",
        90,
        "0.110",
        ["Cruelty Free"],
        True,
        False,
    ),
    (
        "ECO-0005",
        "Café Orgânico do Cerrado 500 g",
        "alimentos",
        "42.90",
        300,
        "1.800",
        ["IBD Orgânico", "Fairtrade"],
        True,
        False,
    ),
    (
        "ECO-0006",
        "Castanha-do-Pará Extrativista 250 g",
        "alimentos",
        "27.50",
        160,
        "0.400",
        ["Selo Origens Brasil"],
        True,
        False,
    ),
    (
        "ECO-0007",
        "Mel Silvestre Orgânico 300 g",
        "alimentos",
        "36.00",
        140,
        "0.350",
        ["IBD Orgânico"],
        True,
        False,
    ),
    (
        "ECO-0008",
        "Açúcar Mascavo Orgânico 1 kg",
        "alimentos",
        "16.90",
        220,
        "0.600",
        ["IBD Orgânico"],
        True,
        False,
    ),
    (
        "ECO-0009",
        "Camiseta de Algodão Orgânico",
        "vestuário",
        "89.90",
        100,
        "2.100",
        ["GOTS"],
        True,
        True,
    ),
    (
        "ECO-0010",
        "Tênis de Borracha Amazônica",
        "vestuário",
        "349.00",
        60,
        "8.500",
        ["Fair Trade", "Vegano"],
        False,
        False,
    ),
    (
        "ECO-0011",
        "Bolsa de Lona Reciclada",
        "vestuário",
        "119.00",
        75,
        "1.200",
        ["Reciclado"],
        True,
        False,
    ),
    (
        "ECO-0012",
        "Meias de Fibra de Bambu (3 pares)",
        "vestuário",
        "39.90",
        200,
        "0.300",
        ["OEKO-TEX"],
        False,
        True,
    ),
    (
        "ECO-0013",
        "Garrafa Térmica de Aço Inox 750 ml",
        "casa",
        "129.90",
        110,
        "3.200",
        ["B Corp"],
        True,
        False,
    ),
    (
        "ECO-0014",
        "Canudos de Inox com Escova (4 un.)",
        "casa",
        "24.90",
        400,
        "0.250",
        [],
        True,
        False,
    ),
    (
        "ECO-0015",
        "Embalagem de Cera de Abelha (3 un.)",
        "casa",
        "49.90",
        150,
        "0.150",
        ["Zero Waste"],
        False,
        True,
    ),
    (
        "ECO-0016",
        "Detergente Biodegradável Concentrado",
        "limpeza",
        "19.90",
        260,
        "0.300",
        ["Ecocert"],
        True,
        True,
    ),
    (
        "ECO-0017",
        "Esponja Vegetal de Bucha (2 un.)",
        "limpeza",
        "12.90",
        300,
        "0.020",
        ["Orgânico"],
        False,
        True,
    ),
    (
        "ECO-0018",
        "Sabão em Pó Ecológico 1 kg",
        "limpeza",
        "34.90",
        130,
        "0.700",
        ["Ecocert"],
        True,
        True,
    ),
    (
        "ECO-0019",
        "Composteira Doméstica 3 Caixas",
        "jardim",
        "289.00",
        40,
        "6.000",
        ["Reciclado"],
        True,
        False,
    ),
    (
        "ECO-0020",
        "Kit Sementes Crioulas de Hortaliças",
        "jardim",
        "29.90",
        190,
        "0.050",
        ["Orgânico"],
        False,
        True,
    ),
    ("ECO-0021", "Vaso de Fibra de Coco", "jardim", "22.90", 170, "0.100", [], False, True),
    (
        "ECO-0022",
        "Carregador Solar Portátil 10000 mAh",
        "eletrônicos",
        "199.00",
        55,
        "4.500",
        ["RoHS"],
        True,
        False,
    ),
    (
        "ECO-0023",
        "Lâmpada LED de Alta Eficiência 9 W",
        "eletrônicos",
        "17.90",
        350,
        "0.800",
        ["Procel A"],
        True,
        False,
    ),
    (
        "ECO-0024",
        "Caderno de Papel Reciclado A5",
        "papelaria",
        "21.90",
        240,
        "0.350",
        ["FSC", "Reciclado"],
        True,
        True,
    ),
]


def seed(services: Services) -> tuple[int, int]:
    """Register every demo product not registered yet; returns (added, already there)."""
    added = existing = 0
    for sku, name, category, price, qty, co2, certs, recyclable, biodegradable in PRODUCTS:
        try:
            services.catalog.register_stock_item(
                sku=sku,
                name=name,
                description=f"{name}: produto sustentável da EcoVarejo.",
                category=category,
                price=Money.brl(price),
                initial_quantity=qty,
                sustainability={
                    "carbon_footprint_kg": co2,
                    "certifications": certs,
                    "recyclable": recyclable,
                    "biodegradable": biodegradable,
                },
            )
            added += 1
        except AlreadyExistsError:
            existing += 1
    for slug, name, parent in CATEGORIES:
        with suppress(CategorySlugTakenError):  # seeded before
            services.products.add_category(slug, name, parent)
    try:
        services.products.create_product(SHIRT)
        added += 1
    except AlreadyExistsError:
        existing += 1
    return added, existing
