"""The cart page: the basket priced from today's catalog, quantities, the coupon and a
shipping quote by CEP. Personal (`private, no-store`); its forms carry the CSRF token,
except adding from a (publicly cached) product page, which proves its origin instead."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from api.storefront.basket import MAX_QUANTITY, Basket, basket_of, keep
from api.storefront.i18n import WORDS
from api.storefront.messages import problem_text
from api.storefront.web import (
    PREFIX,
    Fields,
    Form,
    ShopContainer,
    digits_only,
    language,
    link,
    read_form,
    redirect,
    render,
    shopper,
)
from application.storefront import PricedBasket, Storefront

router = APIRouter()
_SKU_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def storefront(container: ShopContainer) -> Storefront:
    return Storefront(container.services)


async def priced(container: ShopContainer, basket: Basket, customer_id: str | None) -> PricedBasket:
    front = storefront(container)
    args: dict[str, Any] = {"customer_id": customer_id} if customer_id else {}
    return await run_in_threadpool(
        front.price, list(basket.lines), basket.coupon, basket.cep, **args
    )


async def cart_page(
    request: Request,
    container: ShopContainer,
    basket: Basket,
    status: int = 200,
    fields: Fields | None = None,
    notice: str = "",
) -> Response:
    principal = await shopper(request)
    view = await priced(container, basket, principal.sub if principal else None)
    lang = language(request)
    return render(
        request,
        "cart.html",
        status,
        basket=basket,
        view=view,
        coupon_problem=problem_text(view.coupon_problem, lang) if view.coupon_problem else "",
        shipping_problem=problem_text(view.shipping_problem, lang) if view.shipping_problem else "",
        errors=fields.errors if fields else {},
        values=fields.values if fields else {},
        notice=notice,
    )


@router.get("/carrinho")
async def show_cart(request: Request, container: ShopContainer) -> Response:
    return await cart_page(request, container, basket_of(request))


def _quantity(fields: Fields, name: str = "quantity") -> int:
    raw = fields.text(name, 4)
    if fields.ok and digits_only(raw) and 0 <= int(raw) <= MAX_QUANTITY:
        return int(raw)
    fields.fail(name, fields.words["err_quantity"])
    return 0


def _sku(fields: Fields) -> str:
    sku = fields.text("sku", 40)
    if sku and not set(sku) <= _SKU_CHARS:
        fields.fail("sku", fields.words["err_generic"].format(detail="SKU"))
    return sku


@router.post("/carrinho/itens")
async def add_to_cart(request: Request, container: ShopContainer) -> Response:
    """From a product page (no per-browser token on a cached page: the origin is checked)
    or the cart. htmx asks for the small confirmation only (`HX-Request`)."""
    raw = await read_form(request, token_required=False)
    words = WORDS[language(request)]
    fields = Fields(raw, words)
    sku, quantity = _sku(fields), _quantity(fields)
    if quantity == 0:
        fields.fail("quantity", words["err_quantity"])
    basket = basket_of(request)
    if not fields.ok:
        return await cart_page(request, container, basket, 422, fields)
    basket = basket.with_quantity(sku, quantity, add=True)
    keep(request, basket)
    if request.headers.get("hx-request") == "true":
        return render(request, "partials/added.html", count=basket.count)
    return redirect(request, link(f"{PREFIX}/carrinho", language(request)))


@router.post("/carrinho/quantidade")
async def change_quantity(request: Request, raw: Form, container: ShopContainer) -> Response:
    """A line's new quantity (0 or the remove button takes it out)."""
    words = WORDS[language(request)]
    fields = Fields(raw, words)
    sku = _sku(fields)
    quantity = 0 if raw.get("remove") else _quantity(fields)
    basket = basket_of(request)
    if not fields.ok:
        return await cart_page(request, container, basket, 422, fields)
    basket = basket.with_quantity(sku, quantity)
    keep(request, basket)
    return redirect(request, link(f"{PREFIX}/carrinho", language(request)))


@router.post("/carrinho/cupom")
async def coupon(request: Request, raw: Form, container: ShopContainer) -> Response:
    words = WORDS[language(request)]
    fields = Fields(raw, words)
    basket = basket_of(request)
    if raw.get("remove"):
        basket = Basket(basket.lines, None, basket.cep)
        keep(request, basket)
        return redirect(request, link(f"{PREFIX}/carrinho", language(request)))
    code = fields.text("coupon", 40)
    if fields.ok and not all(c.isalnum() or c in "-_" for c in code):
        fields.fail("coupon", words["err_generic"].format(detail=code[:40]))
    if not fields.ok:
        return await cart_page(request, container, basket, 422, fields)
    trial = Basket(basket.lines, code.upper(), basket.cep)
    view = await priced(container, trial, None)
    if view.coupon_problem is not None:  # the coupon is not kept; the page says why
        fields.fail("coupon", problem_text(view.coupon_problem, language(request)))
        return await cart_page(request, container, basket, 422, fields)
    keep(request, trial)
    notice = words["coupon_applied"].format(code=code.upper())
    return await cart_page(request, container, trial, notice=notice)


@router.post("/carrinho/frete")
async def shipping_quote(request: Request, raw: Form, container: ShopContainer) -> Response:
    words = WORDS[language(request)]
    fields = Fields(raw, words)
    cep = fields.text("cep", 9).replace(" ", "")
    basket = basket_of(request)
    digits = cep.replace("-", "")
    if fields.ok and not (digits_only(digits) and len(digits) == 8):
        fields.fail("cep", words["err_cep"])
    if not fields.ok:
        return await cart_page(request, container, basket, 422, fields)
    basket = Basket(basket.lines, basket.coupon, f"{digits[:5]}-{digits[5:]}")
    keep(request, basket)
    return await cart_page(request, container, basket)
