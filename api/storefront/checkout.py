"""Checkout: the basket becomes a cart of the signed-in shopper (once per basket), then an
address (from the book or a new one), shipping, the payment method and one click that
places the order. Paying twice (a double click, the back button) finds the cart checked
out and shows its order; a total that changed since the page was shown is not charged."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.http.auth import Principal
from api.storefront.basket import BASKET_COOKIE, Basket, basket_of
from api.storefront.cart import cart_page, storefront
from api.storefront.i18n import WORDS
from api.storefront.messages import problem_text
from api.storefront.web import (
    PREFIX,
    Fields,
    Form,
    ShopContainer,
    Shopper,
    address_from,
    digits_only,
    language,
    link,
    pending,
    redirect,
    render,
)
from application.card_tokens import card_gateway, payments_config, provider_of
from application.errors import UnknownCouponError
from application.storefront import PriceChangedError
from domain.base import DomainError
from domain.card import BRAZILIAN_STATES
from domain.cart import CartAlreadyCheckedOutError
from domain.cpf import Cpf
from domain.payment_choice import BoletoPayment, PaymentChoice, PixPayment, TokenCardPayment
from domain.promotion import PromotionError
from infrastructure.bootstrap import Container

router = APIRouter()
CART_COOKIE = "ev_shop_cart"
METHODS = ("standard", "express")


def _payments(container: Container) -> dict[str, Any]:
    services = container.services
    gateway = card_gateway(services.payments.gateways)
    raw = (
        services.checkout.raw_cards_allowed
        and gateway is not None
        and provider_of(gateway) == "sandbox"
    )
    return payments_config(
        services.payments.gateways, services.checkout.interest_free_installments, raw
    )


def _cart_of_basket(
    container: Container, principal: Principal, basket: Basket, remembered: str | None
) -> tuple[UUID, int, DomainError | None]:
    """The shopper's cart made of this basket: the one made before if the basket did not
    change since, else a new one. A coupon that no longer applies is left out (and said)."""
    front = storefront(container)
    fingerprint = basket.fingerprint(principal.sub)
    if remembered and remembered.count(".") == 1:
        cart_id, made_of = remembered.split(".")
        if made_of == fingerprint:
            try:
                cart = container.services.checkout.cart_of(UUID(cart_id), principal.sub)
                if not cart.is_checked_out:
                    return cart.id, cart.version, None
            except (DomainError, ValueError):
                pass
    coupon_problem: DomainError | None = None
    try:
        result = front.open_cart(principal.sub, list(basket.lines), basket.coupon)
    except (PromotionError, UnknownCouponError) as error:
        coupon_problem = error
        result = front.open_cart(principal.sub, list(basket.lines), None)
    return result.aggregate_id, result.version, coupon_problem


async def checkout_page(
    request: Request,
    container: Container,
    principal: Principal,
    status: int = 200,
    fields: Fields | None = None,
    problem: str = "",
    address_id: str | None = None,
) -> Response:
    basket = basket_of(request)
    lang = language(request)
    if not basket.lines:
        return redirect(request, link(f"{PREFIX}/carrinho", lang))
    try:
        cart_id, version, coupon_error = await run_in_threadpool(
            _cart_of_basket, container, principal, basket, request.cookies.get(CART_COOKIE)
        )
    except DomainError as error:  # sold out, archived, unknown: the cart page says which line
        return await cart_page(request, container, basket, 409, notice=problem_text(error, lang))
    pending(request).set[CART_COOKIE] = (f"{cart_id}.{basket.fingerprint(principal.sub)}", None)
    services = container.services
    addresses = await run_in_threadpool(services.customers.addresses_of, principal.sub)
    chosen_id = (
        address_id
        or request.query_params.get("endereco")
        or (addresses[0]["address_id"] if addresses else None)
    )
    chosen = next((a for a in addresses if a["address_id"] == chosen_id), None)
    totals: dict[str, Any] = {}
    options: list[Any] = []
    view = None
    if chosen is not None:
        front = storefront(container)
        view = await run_in_threadpool(
            front.price,
            list(basket.lines),
            basket.coupon if not coupon_error else None,
            chosen["postal_code"],
            principal.sub,
        )
        options = view.shipping
        for method in METHODS:
            try:
                totals[method] = await run_in_threadpool(
                    front.cart_total, cart_id, principal.sub, chosen["postal_code"], method
                )
            except DomainError as error:
                problem = problem or problem_text(error, lang)
    coupon_text = problem_text(coupon_error, lang) if coupon_error else ""
    return render(
        request,
        "checkout.html",
        status,
        cart_id=cart_id,
        version=version,
        addresses=addresses,
        chosen=chosen,
        view=view,
        options=options,
        totals=totals,
        payments=_payments(container),
        states=sorted(BRAZILIAN_STATES),
        errors=fields.errors if fields else {},
        values=fields.values if fields else {},
        problem=problem,
        coupon_problem=coupon_text,
        new_address=request.query_params.get("novo") == "1" or not addresses,
    )


@router.get("/checkout")
async def show_checkout(request: Request, principal: Shopper, container: ShopContainer) -> Response:
    return await checkout_page(request, container, principal)


@router.post("/checkout/endereco")
async def add_address(
    request: Request, raw: Form, principal: Shopper, container: ShopContainer
) -> Response:
    fields = Fields(raw, WORDS[language(request)])
    address = address_from(fields, language(request))
    if address is None:
        return await checkout_page(request, container, principal, 422, fields)
    try:
        address_id, _ = await run_in_threadpool(
            container.services.customers.add_address, principal.sub, address
        )
    except DomainError as error:
        problem = problem_text(error, language(request))
        return await checkout_page(request, container, principal, 409, fields, problem)
    return redirect(request, link(f"{PREFIX}/checkout", language(request), endereco=address_id))


def _choice(fields: Fields, raw: dict[str, str]) -> PaymentChoice | None:
    method = raw.get("method", "")
    words = fields.words
    if method == "pix":
        return PixPayment()
    if method == "boleto":
        cpf = fields.text("payer_cpf", 14)
        if not fields.ok:
            return None
        try:
            return BoletoPayment(Cpf.parse(cpf))
        except DomainError:
            fields.fail("payer_cpf", words["err_cpf"])
            return None
    if method == "card":
        token = fields.text("card_token", 200)
        installments = raw.get("installments", "1")
        if not fields.ok or not digits_only(installments) or len(installments) > 2:
            fields.errors.pop("card_token", None)
            fields.fail("method", words["err_card_token"])
            return None
        return TokenCardPayment(token, int(installments))
    fields.fail("method", words["err_payment"])
    return None


@router.post("/checkout/pagar")
async def pay(
    request: Request, raw: Form, principal: Shopper, container: ShopContainer
) -> Response:
    lang = language(request)
    words = WORDS[lang]
    fields = Fields(raw, words)
    address_id = fields.text("address_id", 80)
    shipping = raw.get("shipping_method", "standard")
    shipping = shipping if shipping in METHODS else "standard"
    shown = raw.get(f"total_{shipping}", "")[:20]
    try:
        cart_id = UUID(raw.get("cart_id", "")[:40])
        version = int(raw.get("version", "")[:9])
    except ValueError:
        return await checkout_page(
            request, container, principal, 422, fields, words["err_form_expired"]
        )
    choice = _choice(fields, raw)
    fields.values["method"] = raw.get("method", "")[:10]
    if choice is None or not fields.ok:
        return await checkout_page(
            request, container, principal, 422, fields, address_id=address_id
        )
    front = storefront(container)
    try:
        result = await run_in_threadpool(
            front.pay, cart_id, principal.sub, address_id, choice, shipping, shown, version
        )
    except CartAlreadyCheckedOutError:  # a second click, or the back button after paying
        order_id = await run_in_threadpool(front.order_of_cart, cart_id, principal.sub)
        return _placed(request, order_id, None)
    except PriceChangedError:
        return await checkout_page(
            request,
            container,
            principal,
            409,
            fields,
            words["price_changed"],
            address_id=address_id,
        )
    except DomainError as error:
        problem = words["err_generic"].format(detail=problem_text(error, lang))
        return await checkout_page(request, container, principal, 409, fields, problem, address_id)
    return _placed(request, result.aggregate_id, result.consistency_token)


def _placed(request: Request, order_id: UUID | None, token: str | None) -> Response:
    cookies = pending(request)
    cookies.drop.extend([BASKET_COOKIE, CART_COOKIE])
    if order_id is None:
        return redirect(request, link(f"{PREFIX}/conta", language(request)))
    target = link(f"{PREFIX}/pedidos/{order_id}", language(request), t=token)
    return redirect(request, target)
