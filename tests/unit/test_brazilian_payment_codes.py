"""CPF, Pix BR Code, boleto line and installments: the published rules, on known examples."""

from datetime import date

import pytest

from domain.boleto import Boleto, InvalidBoletoError, check_digitable_line, due_factor
from domain.cpf import Cpf, InvalidCpfError, is_valid_cpf
from domain.installments import InstallmentPlan, InvalidInstallmentsError
from domain.money import Money
from domain.pix import InvalidPixCodeError, PixCharge, check_br_code, crc16_ccitt_false


@pytest.mark.parametrize("text", ["529.982.247-25", "52998224725", "111.444.777-35"])
def test_a_cpf_with_matching_check_digits_is_accepted_with_or_without_punctuation(text):
    assert Cpf.parse(text).digits == text.replace(".", "").replace("-", "")


@pytest.mark.parametrize(
    "text",
    ["529.982.247-24", "111.111.111-11", "1234567890", "abc.def.ghi-jk", "", "52998224725 1"],
)
def test_a_cpf_with_wrong_digits_or_shape_is_refused(text):
    assert not is_valid_cpf(text)
    with pytest.raises(InvalidCpfError):
        Cpf.parse(text)


def test_a_cpf_never_shows_in_full_in_its_repr():
    cpf = Cpf.parse("529.982.247-25")
    assert "529" not in repr(cpf)
    assert "25)" not in repr(cpf)
    assert cpf.formatted == "529.982.247-25"


def test_crc16_matches_the_ccitt_false_check_value_and_published_br_codes():
    assert crc16_ccitt_false(b"123456789") == 0x29B1
    # Examples published with their CRC (BCB manual style static codes).
    static = (
        "00020126360014BR.GOV.BCB.PIX0114+5511943214321520400005303986540566.66"
        "5802BR5907EMPRESA6008BRASILIA62080503***6304"
    )
    assert f"{crc16_ccitt_false(static.encode()):04X}" == "170E"
    minimal = (
        "00020126410014br.gov.bcb.pix0119rayane@alvoz.com.br520400005303986"
        "5802BR5901N6001C62070503***6304"
    )
    assert f"{crc16_ccitt_false(minimal.encode()):04X}" == "3A81"


def test_a_pix_charge_gives_a_br_code_with_the_pix_gui_amount_txid_and_a_valid_crc():
    charge = PixCharge(
        amount=Money.brl("89.90"),
        txid="ECO123abc",
        merchant_name="EcoVarejo Comércio Sustentável Ltda",
        merchant_city="São Paulo",
        key="pix@ecovarejo.com.br",
    )
    code = charge.br_code()
    fields = check_br_code(code)
    assert fields["54"] == "89.90"
    assert fields["53"] == "986"
    assert fields["58"] == "BR"
    assert fields["59"] == "ECOVAREJO COMERCIO SUSTENT"[:25]
    assert fields["60"] == "SAO PAULO"
    assert fields["62"] == "0509ECO123abc"
    assert code.startswith("000201010212")


def test_a_tampered_br_code_fails_its_crc():
    code = PixCharge(
        amount=Money.brl("10.00"), txid="T1", merchant_name="X", merchant_city="Y", key="k"
    ).br_code()
    tampered = code.replace("5405" + "10.00", "5405" + "90.00")
    with pytest.raises(InvalidPixCodeError):
        check_br_code(tampered)


def test_the_due_factor_follows_febraban_including_the_2025_restart():
    assert due_factor(date(2000, 7, 3)) == "1000"
    assert due_factor(date(2025, 2, 21)) == "9999"
    assert due_factor(date(2025, 2, 22)) == "1000"
    assert due_factor(date(2025, 2, 23)) == "1001"


def test_a_boleto_line_has_47_digits_and_checks_out():
    boleto = Boleto(
        bank="001",
        amount=Money.brl("1234.56"),
        due_date=date(2026, 12, 4),
        free_field="0000001234567890123456717",
    )
    line = boleto.digitable_line
    assert len(line) == 47
    assert line.isdigit()
    assert check_digitable_line(boleto.formatted_line) == boleto.barcode
    assert line.endswith("0000123456")
    assert line[:4] == "0019"


def test_a_boleto_line_with_one_digit_changed_is_refused():
    line = Boleto(
        bank="341", amount=Money.brl("50.00"), due_date=date(2026, 1, 5), free_field="1" * 25
    ).digitable_line
    for position in (3, 12, 25, 40):
        changed = line[:position] + str((int(line[position]) + 1) % 10) + line[position + 1 :]
        with pytest.raises(InvalidBoletoError):
            check_digitable_line(changed)


def test_installments_add_up_to_the_total_to_the_centavo():
    plan = InstallmentPlan.offer(3, Money.brl("100.00"), interest_free_up_to=6)
    assert [m.amount for m in plan.amounts] == [
        Money.brl("33.34").amount,
        Money.brl("33.33").amount,
        Money.brl("33.33").amount,
    ]
    assert plan.to_dict()["amount"] == "33.33"


@pytest.mark.parametrize("count", [0, 13, -1])
def test_installments_outside_one_to_twelve_are_refused(count):
    with pytest.raises(InvalidInstallmentsError):
        InstallmentPlan.offer(count, Money.brl("100.00"), interest_free_up_to=12)


def test_installments_above_the_interest_free_limit_or_below_the_minimum_part_are_refused():
    with pytest.raises(InvalidInstallmentsError, match="at most 3"):
        InstallmentPlan.offer(4, Money.brl("100.00"), interest_free_up_to=3)
    with pytest.raises(InvalidInstallmentsError, match="at least"):
        InstallmentPlan.offer(12, Money.brl("20.00"), interest_free_up_to=12)
    assert InstallmentPlan.offer(1, Money.brl("1.00"), interest_free_up_to=1).count == 1
