"""The sustainability score, 0 to 100: one number a shopper can sort by.

    footprint        40 points at 0 kg CO2e per unit, falling linearly to 0 at 10 kg or more
    certifications   15 points per certification with evidence that is still valid, at most 30
    recyclability    15 points times the share of the product (by weight) that is recyclable
    packaging        15 none or compostable, 12 recycled, 8 recyclable, 0 conventional/unknown

The sum is rounded half up to a whole number. A certification counts only while valid: one
past its `valid_until` (or lapsed by the sweep) adds nothing, and a bare name without
issuer and number (what stock items registered before products had) is not evidence.
docs/catalog.md explains each part and why it weighs what it does.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FOOTPRINT_POINTS = Decimal(40)
FOOTPRINT_CAP_KG = Decimal(10)
POINTS_PER_CERTIFICATION = 15
MAX_CERTIFICATION_POINTS = 30
RECYCLABILITY_POINTS = Decimal(15)
PACKAGING_POINTS = {"none": 15, "compostable": 15, "recycled": 12, "recyclable": 8}
PACKAGING_KINDS = ("none", "compostable", "recycled", "recyclable", "conventional", "unknown")


def sustainability_score(
    *,
    carbon_footprint_kg: Decimal,
    valid_certifications: int,
    recyclable_percent: int,
    packaging: str,
) -> int:
    footprint = max(Decimal(0), FOOTPRINT_CAP_KG - carbon_footprint_kg) / FOOTPRINT_CAP_KG
    total = (
        FOOTPRINT_POINTS * footprint
        + min(MAX_CERTIFICATION_POINTS, POINTS_PER_CERTIFICATION * max(0, valid_certifications))
        + RECYCLABILITY_POINTS * Decimal(min(100, max(0, recyclable_percent))) / 100
        + PACKAGING_POINTS.get(packaging, 0)
    )
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))
