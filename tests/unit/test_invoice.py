"""The NF-e's checks that need no provider: the access key's check digit (against a key
authorized by a SEFAZ, not one our fake made with the same function), the NCM chapters, and
a refusal kept without the recipient's personal data."""

from __future__ import annotations

import pytest

from application.fiscal import FiscalRecipient
from application.invoices import without_recipient
from domain.invoice import InvalidAccessKeyError, InvalidNcmError, check_access_key, check_ncm

# An NF-e authorized in Paraná in 2015, as Focus NFe's documentation shows it.
REAL_KEY = "41150876497338001649650010000005351770691965"


def test_a_real_access_key_checks_and_a_changed_digit_does_not():
    assert check_access_key(f"NFe{REAL_KEY}") == REAL_KEY
    wrong = REAL_KEY[:-1] + str((int(REAL_KEY[-1]) + 1) % 10)
    with pytest.raises(InvalidAccessKeyError):
        check_access_key(wrong)
    with pytest.raises(InvalidAccessKeyError):
        check_access_key(REAL_KEY[:-1])


@pytest.mark.parametrize("ncm", ["7712.34.56", "9812.34.56", "0012.34.56", "1234", "0901.11.0x"])
def test_an_ncm_outside_the_nomenclatures_chapters_is_refused(ncm):
    with pytest.raises(InvalidNcmError):
        check_ncm(ncm)


def test_an_ncm_is_kept_as_its_eight_digits():
    assert check_ncm("0901.11.00") == "09011100"


def test_a_refusal_is_kept_without_the_recipients_name_cpf_or_street():
    ana = FiscalRecipient("Ana Souza", "52998224725", "Av. Paulista 1000", "SP", "SP", "01310100")
    said = "Rejeição: CPF 529.982.247-25 (52998224725) de Ana Souza, Av. Paulista 1000 inválido"
    kept = without_recipient(said, ana)
    for personal in ("529.982.247-25", "52998224725", "Ana Souza", "Paulista"):
        assert personal not in kept
    assert kept.startswith("Rejeição: CPF ***")
