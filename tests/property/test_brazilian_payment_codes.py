"""Generated CPFs, BR Codes and boleto lines, checked by independent implementations of the
published rules (written from the manuals, not from our code):

- CRC16-CCITT-FALSE: the standard library's `binascii.crc_hqx` started at 0xFFFF.
- EMV: a separate recursive TLV reader.
- Boleto: FEBRABAN's mod 10 as "double every other digit from the right, add the digits";
  mod 11 with the explicit weight list 2,3,...,9,2,3...; the line's fields reassembled by
  position as the layout table lists them.
- CPF: Receita's formulation (remainder < 2 gives 0, else 11 - remainder).
"""

import binascii
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.boleto import Boleto
from domain.cpf import Cpf, is_valid_cpf
from domain.installments import InstallmentPlan
from domain.money import Money
from domain.pix import PixCharge

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2)


def tlv(payload: str) -> dict[str, str]:
    out, rest = {}, payload
    while rest:
        tag, size = rest[:2], int(rest[2:4])
        out[tag], rest = rest[4 : 4 + size], rest[4 + size :]
        assert len(out[tag]) == size
    return out


@given(
    amount=amounts,
    txid=st.text("abcdefXYZ0123456789", min_size=1, max_size=25),
    name=st.text(min_size=0, max_size=40),
    city=st.text(min_size=0, max_size=30),
)
def test_every_generated_br_code_has_a_crc_the_stdlib_agrees_with(amount, txid, name, city):
    code = PixCharge(
        amount=Money(amount), txid=txid, merchant_name=name, merchant_city=city, key="k@e.br"
    ).br_code()
    assert code[-8:-4] == "6304"
    assert int(code[-4:], 16) == binascii.crc_hqx(code[:-4].encode(), 0xFFFF)
    fields = tlv(code)
    assert tlv(fields["26"])["00"] == "br.gov.bcb.pix"
    assert Decimal(fields["54"]) == amount
    assert tlv(fields["62"])["05"] == txid
    assert 1 <= len(fields["59"]) <= 25
    assert 1 <= len(fields["60"]) <= 15


def ref_mod10(digits: str) -> int:
    total = 0
    for i, ch in enumerate(digits[::-1]):
        doubled = int(ch) * 2 if i % 2 == 0 else int(ch)
        total += sum(int(c) for c in str(doubled))
    return 0 if total % 10 == 0 else 10 - total % 10


def ref_mod11(digits: str) -> int:
    weights = [2, 3, 4, 5, 6, 7, 8, 9] * 6
    remainder = sum(int(c) * w for c, w in zip(digits[::-1], weights, strict=False)) % 11
    dv = 11 - remainder
    return 1 if dv > 9 or dv == 0 else dv


@given(
    bank=st.from_regex(r"\A\d{3}\Z"),
    amount=amounts,
    days=st.integers(min_value=0, max_value=8000),
    free=st.from_regex(r"\A\d{25}\Z"),
)
def test_every_generated_boleto_line_has_check_digits_an_independent_rule_agrees_with(
    bank, amount, days, free
):
    due = date(2025, 2, 22) + timedelta(days=days)
    line = Boleto(bank=bank, amount=Money(amount), due_date=due, free_field=free).digitable_line
    assert len(line) == 47
    field1, field2, field3 = line[0:10], line[10:21], line[21:32]
    for field in (field1, field2, field3):
        assert ref_mod10(field[:-1]) == int(field[-1])
    assert field1[:3] == bank
    assert field1[3] == "9"
    assert field1[4:9] + field2[:10] + field3[:10] == free
    general, factor, value = line[32], line[33:37], line[37:47]
    assert int(factor) == 1000 + days
    assert int(value) == int(amount * 100)
    barcode_without_dv = bank + "9" + factor + value + free
    assert ref_mod11(barcode_without_dv) == int(general)


def ref_cpf_digit(digits: str) -> str:
    remainder = (
        sum(int(d) * w for d, w in zip(digits, range(len(digits) + 1, 1, -1), strict=False)) % 11
    )
    return "0" if remainder < 2 else str(11 - remainder)


@given(st.from_regex(r"\A\d{9}\Z"))
def test_a_cpf_is_valid_exactly_when_receitas_rule_says_so(base):
    d1 = ref_cpf_digit(base)
    d2 = ref_cpf_digit(base + d1)
    valid = base + d1 + d2
    assert is_valid_cpf(valid) == (len(set(valid)) > 1)
    wrong = base + d1 + str((int(d2) + 1) % 10)
    assert not is_valid_cpf(wrong)
    if len(set(valid)) > 1:
        assert Cpf.parse(valid).digits == valid


@given(total=amounts, count=st.integers(min_value=1, max_value=12))
def test_installment_parts_always_add_up_to_the_total(total, count):
    plan = InstallmentPlan(count, Money(total))
    parts = plan.amounts
    assert len(parts) == count
    assert sum(p.amount for p in parts) == total
    assert max(parts).amount - min(parts).amount < Decimal("0.01") * count
