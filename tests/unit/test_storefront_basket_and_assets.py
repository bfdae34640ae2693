"""The storefront's basket cookie is read strictly, and its vendored files are what we
pinned: htmx by its SHA-384, every static URL by its content."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from api.storefront.assets import ASSETS, HTMX_FILE, HTMX_SHA384, asset_url
from api.storefront.basket import MAX_QUANTITY, Basket, parse
from api.storefront.catalog import corrected
from api.storefront.web import made_once


def test_a_basket_survives_its_cookie():
    basket = Basket((("ECO-0100", 2), ("ECO-0200", 1)), "VERDE10", "01310-100")
    assert parse(basket.dump()) == basket


@pytest.mark.parametrize(
    "cookie",
    [
        "eco-0100*2~~",  # lower case is no SKU
        "ECO-0100*0~~",
        f"ECO-0100*{MAX_QUANTITY + 1}~~",
        "ECO-0100*2",  # no coupon or CEP part
        "ECO-0100*x~~",
        "ECO-0100*2|~~",
        "A" * 5000,
    ],
)
def test_a_malformed_basket_cookie_is_an_empty_basket_not_an_error(cookie):
    assert parse(cookie) == Basket()


def test_a_bad_coupon_or_cep_in_the_cookie_is_dropped_and_the_lines_kept():
    assert parse("ECO-0100*1~<script>~123") == Basket((("ECO-0100", 1),), None, None)


def test_adding_more_caps_the_line_and_zero_removes_it():
    basket = (
        Basket().with_quantity("ECO-0100", 998, add=True).with_quantity("ECO-0100", 5, add=True)
    )
    assert basket.lines == (("ECO-0100", MAX_QUANTITY),)
    assert basket.with_quantity("ECO-0100", 0).lines == ()


def test_the_vendored_htmx_is_the_pinned_release():
    body = ASSETS[HTMX_FILE].body
    assert hashlib.sha384(body).hexdigest() == HTMX_SHA384


def test_a_static_files_url_carries_its_content_hash():
    hashed = [n for n in ASSETS if n.endswith((".css", ".js", ".png")) and n != "sw.js"]
    assert hashed, "no static file to check"
    for name in hashed:
        digest = hashlib.sha256(ASSETS[name].body).hexdigest()[:12]
        assert digest in asset_url(name)


@pytest.mark.parametrize(
    ("typed", "names", "meant"),
    [
        ("garafa", ["Garrafa térmica de inox"], "garrafa"),
        ("garafa termca", ["Garrafa térmica de inox", "Garrafa de vidro"], "garrafa térmica"),
        ("Garrafa termca", ["Garrafa térmica de inox"], "Garrafa térmica"),  # kept as typed
        ("garrafa", ["Garrafa térmica de inox"], None),  # nothing to correct
        ("xyzw", ["Garrafa térmica de inox"], None),  # nothing close
        ("garafa", [], None),
    ],
)
def test_a_typo_is_corrected_from_the_suggested_product_names(typed, names, meant):
    assert corrected(typed, names) == meant


def test_a_page_asked_for_by_many_at_once_is_made_once_and_given_to_all():
    made = []

    async def make() -> bytes:
        made.append(1)
        await asyncio.sleep(0)  # the others arrive while it is being made
        return b"<html>"

    async def many() -> list[bytes]:
        return list(await asyncio.gather(*(made_once("k", make) for _ in range(5))))

    assert asyncio.run(many()) == [b"<html>"] * 5
    assert made == [1]
    assert asyncio.run(many()) == [b"<html>"] * 5  # made again once it was done
    assert made == [1, 1]
