"""ProductTaxes: what an NF-e needs to know of a product (its SKU): the NCM (Mercosur
nomenclature), the ICMS origin (0 national … 8) and the CFOP of a sale. Kept beside the
stock item, not in it, so the catalog's events stay as they are."""

from __future__ import annotations

import re
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import EcoAggregate, InvalidInputError
from domain.invoice import check_ncm

NAMESPACE = uuid5(NAMESPACE_URL, "https://ecovarejo.com.br/product-taxes")


class InvalidFiscalDataError(InvalidInputError):
    """An origin outside 0-8 or a CFOP that is not a sale's (5xxx in the state, 6xxx outside)."""


def check_origin(origin: int) -> int:
    if not 0 <= origin <= 8:
        raise InvalidFiscalDataError(f"ICMS origin is 0 to 8, not {origin}")
    return origin


def check_cfop(cfop: str) -> str:
    if not re.fullmatch(r"[56]\d{3}", cfop):
        raise InvalidFiscalDataError(f"a sale's CFOP is 4 digits starting 5 or 6, not {cfop!r}")
    return cfop


class ProductTaxes(EcoAggregate):
    class Defined(EcoAggregate.Created):
        sku: str
        ncm: str
        origin: int
        cfop: str

    class Changed(EcoAggregate.Event):
        ncm: str
        origin: int
        cfop: str

    @staticmethod
    def create_id(sku: str) -> UUID:
        return uuid5(NAMESPACE, sku)

    @classmethod
    def define(cls, sku: str, ncm: str, origin: int, cfop: str) -> ProductTaxes:
        return cls(sku=sku, ncm=check_ncm(ncm), origin=check_origin(origin), cfop=check_cfop(cfop))

    @event(Defined)
    def __init__(self, sku: str, ncm: str, origin: int, cfop: str) -> None:
        self.sku, self.ncm, self.origin, self.cfop = sku, ncm, origin, cfop

    def change(self, ncm: str, origin: int, cfop: str) -> bool:
        values = (check_ncm(ncm), check_origin(origin), check_cfop(cfop))
        if values == (self.ncm, self.origin, self.cfop):
            return False
        self._changed(ncm=values[0], origin=values[1], cfop=values[2])
        return True

    @event(Changed)
    def _changed(self, ncm: str, origin: int, cfop: str) -> None:
        self.ncm, self.origin, self.cfop = ncm, origin, cfop
