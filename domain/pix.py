"""Pix BR Code: the "copia e cola" payload a payer's bank app reads.

Follows the BCB *Manual de Padrões para Iniciação do Pix* (BR Code, EMV QRCPS Merchant
Presented Mode): each field is `ID(2) LEN(2) VALUE`; the merchant account information
(ID 26) carries the GUI `br.gov.bcb.pix` and either a Pix key (01, static) or the PSP's
payload location (25, dynamic); the payload ends with the CRC (ID 63), a CRC16-CCITT-FALSE
(polynomial 0x1021, initial 0xFFFF, no reflection) over the whole payload up to and
including `6304`, in four upper-case hex digits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domain.base import InvalidInputError
from domain.money import Money

PIX_GUI = "br.gov.bcb.pix"


class InvalidPixCodeError(InvalidInputError):
    """A BR Code that cannot be built (field too long) or does not parse."""


def crc16_ccitt_false(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def emv_field(field_id: str, value: str) -> str:
    if len(value) > 99:
        raise InvalidPixCodeError(f"BR Code field {field_id} is longer than 99 characters")
    return f"{field_id}{len(value):02d}{value}"


def _plain(text: str, limit: int) -> str:
    """Names and cities go out in plain upper-case ASCII, cut to the field's limit."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9 ]", "", ascii_text).upper().strip()[:limit] or "NA"


def with_crc(payload_without_crc: str) -> str:
    body = payload_without_crc + "6304"
    return body + f"{crc16_ccitt_false(body.encode()):04X}"


@dataclass(frozen=True)
class PixCharge:
    """A Pix charge to one receiver: key (or PSP location), amount and transaction id."""

    amount: Money
    txid: str
    merchant_name: str
    merchant_city: str
    key: str = ""
    location: str = ""  # dynamic codes: the PSP's payload URL, without scheme

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9]{1,25}", self.txid):
            raise InvalidPixCodeError("txid must be 1-25 letters or digits")
        if bool(self.key) == bool(self.location):
            raise InvalidPixCodeError("a BR Code carries either a Pix key or a location")
        if not self.amount.is_positive:
            raise InvalidPixCodeError("a Pix charge must be for a positive amount")

    def br_code(self) -> str:
        account = emv_field("00", PIX_GUI) + (
            emv_field("01", self.key) if self.key else emv_field("25", self.location)
        )
        payload = (
            emv_field("00", "01")
            + emv_field("01", "12")  # point of initiation: single use
            + emv_field("26", account)
            + emv_field("52", "0000")
            + emv_field("53", "986")
            + emv_field("54", str(self.amount.amount))
            + emv_field("58", "BR")
            + emv_field("59", _plain(self.merchant_name, 25))
            + emv_field("60", _plain(self.merchant_city, 15))
            + emv_field("62", emv_field("05", self.txid))
        )
        return with_crc(payload)


def parse_emv(payload: str) -> dict[str, str]:
    """Top-level fields of an EMV payload, by ID. Raises on a truncated or garbled payload."""
    fields: dict[str, str] = {}
    i = 0
    while i < len(payload):
        head = payload[i : i + 4]
        if len(head) < 4 or not head.isdigit():
            raise InvalidPixCodeError(f"malformed EMV field at {i}")
        size = int(head[2:])
        value = payload[i + 4 : i + 4 + size]
        if len(value) != size:
            raise InvalidPixCodeError(f"truncated EMV field {head[:2]}")
        fields[head[:2]] = value
        i += 4 + size
    return fields


def check_br_code(payload: str) -> dict[str, str]:
    """Parse a BR Code and check its CRC and its Pix GUI; returns the top-level fields."""
    fields = parse_emv(payload)
    if not payload.endswith(fields.get("63", "?")) or "63" not in fields:
        raise InvalidPixCodeError("BR Code has no CRC at its end")
    if f"{crc16_ccitt_false(payload[:-4].encode()):04X}" != fields["63"].upper():
        raise InvalidPixCodeError("BR Code CRC does not match")
    account = parse_emv(fields.get("26", ""))
    if account.get("00", "").lower() != PIX_GUI:
        raise InvalidPixCodeError("BR Code is not a Pix code (GUI br.gov.bcb.pix)")
    return fields
