"""A payment as a client sends it (checkout, another try at paying) -> the domain's choice."""

from __future__ import annotations

from api.http.schemas import BoletoModel, CardModel, CardTokenModel, PixModel
from domain.card import CardDetails
from domain.cpf import Cpf
from domain.payment_choice import (
    BoletoPayment,
    CardPayment,
    PaymentChoice,
    PixPayment,
    TokenCardPayment,
)


def payment_choice(
    model: CardTokenModel | CardModel | PixModel | BoletoModel,
) -> PaymentChoice:
    if isinstance(model, CardTokenModel):
        return TokenCardPayment(model.card_token, model.installments)
    if isinstance(model, PixModel):
        return PixPayment()
    if isinstance(model, BoletoModel):
        return BoletoPayment(Cpf.parse(model.payer_cpf))
    card = CardDetails(model.card_number, model.expiry, model.cvc, model.holder)
    return CardPayment(card, model.installments)
