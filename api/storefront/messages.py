"""Domain errors in the shopper's words: the rules' own messages are English and written for
API clients; the storefront says the common ones in Portuguese (and English)."""

from __future__ import annotations

from domain.base import DomainError

MESSAGES: dict[str, tuple[str, str]] = {
    "UnknownCouponError": ("Cupom não encontrado.", "Unknown coupon."),
    "CouponExpiredError": ("Este cupom expirou.", "This coupon has expired."),
    "CouponNotYetValidError": ("Este cupom ainda não vale.", "This coupon is not valid yet."),
    "CouponInactiveError": ("Este cupom foi desativado.", "This coupon was deactivated."),
    "CouponBelowMinimumError": (
        "O carrinho não atinge o valor mínimo deste cupom.",
        "The cart is below this coupon's minimum.",
    ),
    "CouponNotEligibleError": (
        "Este cupom não vale para estes produtos.",
        "This coupon does not apply to these products.",
    ),
    "CouponLimitReachedError": ("Este cupom esgotou.", "This coupon has run out."),
    "CouponCustomerLimitReachedError": (
        "Você já usou este cupom o máximo de vezes.",
        "You have used this coupon as many times as allowed.",
    ),
    "InvalidCepError": ("CEP inválido.", "Invalid CEP."),
    "CepNotServedError": ("Ainda não entregamos neste CEP.", "We do not deliver to this CEP yet."),
    "ParcelTooHeavyError": (
        "O pacote passa do peso máximo.",
        "The parcel is over the weight limit.",
    ),
    "InsufficientStockError": (
        "Um produto não tem mais a quantidade pedida.",
        "A product no longer has the quantity asked for.",
    ),
    "ArchivedProductError": ("Um produto saiu de linha.", "A product was discontinued."),
    "InvalidCpfError": ("CPF inválido.", "Invalid CPF."),
    "InvalidAddressError": ("Confira o endereço.", "Check the address."),
    "EmptyCartError": ("O carrinho está vazio.", "The cart is empty."),
    "InvalidPasswordError": (
        "Senha fraca: use pelo menos 10 caracteres, e não uma senha comum.",
        "Weak password: at least 10 characters, and not a common one.",
    ),
}


def problem_text(error: DomainError | Exception, lang: str) -> str:
    words = MESSAGES.get(type(error).__name__)
    if words is None:
        return str(error)
    return words[0] if lang == "pt" else words[1]
