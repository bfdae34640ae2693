"""The fiscal provider port's contract, against each adapter and its provider's local fake:
a sale's NF-e issued with a valid access key and declared taxes, a return NF-e referring to
it, cancellation with a justification, rejections and outages as errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from application.fiscal import FiscalDocument, FiscalError, FiscalItem, FiscalRecipient
from domain.invoice import check_access_key
from domain.money import Money
from infrastructure.gateways.fiscal.focus_nfe import FocusNfe
from tests.fakes.focus_nfe import FakeFocusNfe

ANA = FiscalRecipient(
    "Ana Souza", "52998224725", "Av. Paulista 1000", "São Paulo", "SP", "01310-100"
)
ITEM = FiscalItem("ECO-1", "Café orgânico", 2, Money.brl("42.90"), "09011100", 0, "5102")


def sale(reference: str = "ref-1", recipient: FiscalRecipient = ANA) -> FiscalDocument:
    return FiscalDocument(reference, [ITEM], recipient, Money.brl("19.90"), Money.zero())


@pytest.fixture
def fake() -> Iterator[FakeFocusNfe]:
    with FakeFocusNfe() as server:
        yield server


@pytest.fixture
def provider(fake: FakeFocusNfe) -> FocusNfe:
    return FocusNfe(fake.token, base_url=fake.url, timeout_s=1)


def test_a_sale_is_authorized_with_a_valid_access_key_and_declared_taxes(provider, fake):
    status = provider.issue(sale())
    assert status.state == "authorized"
    assert check_access_key(status.access_key) == status.access_key.removeprefix("NFe")
    assert status.taxes == Money.brl("11.54")  # 13.45 % of 85.80
    assert status.danfe_url.endswith(".pdf")
    assert status.danfe_url.startswith(f"{fake.url}/arquivos")  # a link on the API's host
    sent = fake.notes["ref-1"]["request"]
    assert (sent["finalidade_emissao"], sent["items"][0]["codigo_ncm"]) == (1, "09011100")


def test_issuing_the_same_reference_twice_issues_one_note(provider, fake):
    first = provider.issue(sale())
    again = provider.issue(sale())
    assert again.access_key == first.access_key
    assert fake.moved("issue") == [{"op": "issue", "ref": "ref-1"}]


def test_a_return_note_refers_to_the_sale_and_a_cancellation_needs_a_justification(provider, fake):
    key = provider.issue(sale()).access_key.removeprefix("NFe")
    returned = FiscalDocument(
        "ref-2", [ITEM], ANA, Money.zero(), Money.zero(), is_return=True, refers_to=key
    )
    assert provider.issue(returned).state == "authorized"
    sent = fake.notes["ref-2"]["request"]
    assert sent["finalidade_emissao"] == 4
    assert sent["notas_referenciadas"] == [{"chave_nfe": key}]
    with pytest.raises(FiscalError):
        provider.cancel("ref-1", "curta")
    assert provider.cancel("ref-1", "Pedido cancelado pelo cliente").state == "cancelled"


def test_a_recipient_without_cpf_is_rejected_with_the_sefaz_message(provider):
    nobody = FiscalRecipient("Ana", "", "Rua A 1", "Recife", "PE", "50050-000")
    status = provider.issue(sale("ref-3", nobody))
    assert (status.state, status.message) == ("rejected", "CPF do destinatário inválido")


def test_wrong_token_outages_and_garbage_are_fiscal_errors(fake):
    with pytest.raises(FiscalError) as refused:
        FocusNfe("wrong", base_url=fake.url, timeout_s=1).status("ref-1")
    assert not refused.value.retryable
    provider = FocusNfe(fake.token, base_url=fake.url, timeout_s=0.5)
    for fault in ("500", "malformed", "timeout"):
        fake.faults.append(fault)
        with pytest.raises(FiscalError) as failed:
            provider.issue(sale(f"ref-{fault}"))
        assert failed.value.retryable
