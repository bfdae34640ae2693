"""The console as a back office, over HTTP: products created, edited, priced, received and
archived through forms carrying the version they were rendered with (a stale form is a 409
page that changes nothing), destructive actions refused without their confirmation, events
carrying the signed-in staff member, the catalog imported and exported."""

from __future__ import annotations

import re

from tests.e2e.test_console_http import csrf_of, sign_in

API = "/api/v1"
NEW = {
    "sku": "ECO-9000",
    "name": "Sabonete de argila",
    "category": "higiene",
    "price": "1.234,56",
    "initial_quantity": "3",
    "weight_grams": "120",
    "carbon_footprint_kg": "0,4",
    "certifications": "Vegano, Cruelty free",
    "description": "",
}


def version_on(page: str, form: str) -> str:
    found = re.search(rf'id="{form}".*?name="version" value="(\d+)"', page, re.S)
    assert found, page
    return found.group(1)


def create_product(client) -> str:
    response = client.post("/console/products", data={"csrf": csrf_of(client), **NEW})
    assert response.status_code == 200, response.text
    return response.text


def test_a_product_created_in_the_console_shows_brazilian_money_and_its_actions(client):
    sign_in(client, "admin", "ana-staff")
    page = create_product(client)
    assert 'id="done"' in page
    assert 'id="product-price">R$ 1.234,56<' in page, re.findall("product-price.{40}", page)
    csrf = csrf_of(client, "/console/products/ECO-9000")
    version = version_on(page, "price-form")
    priced = client.post(
        "/console/products/ECO-9000/price",
        data={"csrf": csrf, "version": version, "price": "99,90"},
    )
    assert priced.status_code == 200
    assert "R$ 99,90" in priced.text
    received = client.post(
        "/console/products/ECO-9000/receive",
        data={"csrf": csrf, "version": version_on(priced.text, "receive-form"), "quantity": "7"},
    )
    assert 'id="on-hand">10<' in received.text


def test_a_stale_form_is_a_409_that_explains_and_changes_nothing(client, container):
    sign_in(client, "admin")
    page = create_product(client)
    stale = version_on(page, "price-form")
    csrf = csrf_of(client, "/console/products/ECO-9000")
    first = client.post(
        "/console/products/ECO-9000/price", data={"csrf": csrf, "version": stale, "price": "10"}
    )
    assert first.status_code == 200
    second = client.post(
        "/console/products/ECO-9000/price", data={"csrf": csrf, "version": stale, "price": "20"}
    )
    assert second.status_code == 409
    assert 'id="conflict"' in second.text
    assert f"versão {stale}" in second.text
    assert str(container.services.catalog.stock_item("ECO-9000").price.amount) == "10.00"


def test_archiving_needs_its_confirmation_and_events_carry_the_staff_member(
    client, container, auth
):
    sign_in(client, "admin", "bia-staff")
    page = create_product(client)
    csrf = csrf_of(client, "/console/products/ECO-9000")
    version = version_on(page, "archive-form")
    refused = client.post(
        "/console/products/ECO-9000/archive", data={"csrf": csrf, "version": version}
    )
    assert refused.status_code == 422
    assert container.services.catalog.stock_item("ECO-9000").archived is False
    archived = client.post(
        "/console/products/ECO-9000/archive",
        data={"csrf": csrf, "version": version, "confirm": "yes"},
    )
    assert archived.status_code == 200
    assert container.services.catalog.stock_item("ECO-9000").archived is True
    item_id = container.services.catalog.stock_item("ECO-9000").id
    events = client.get(
        f"{API}/audit/aggregates/{item_id}/events", headers=auth("auditor", "aud")
    ).json()
    assert {e["actor"] for e in events} == {"admin:bia-staff"}


CSV_LATIN1 = (
    "sku;name;category;price;stock;certifications;recyclable\r\n"
    "ECO-1;Escova de bambu;higiene;12,90;40;FSC|Vegano;sim\r\n"
    "ECO-2;Caneca térmica;casa;1.234,50;5;;não\r\n"
).encode("latin-1")


def upload(client, data: bytes, name: str = "catalogo.csv", dry_run: bool = True):
    fields = {"csrf": csrf_of(client, "/console/catalog/import")}
    if dry_run:
        fields["dry_run"] = "yes"
    return client.post(
        "/console/catalog/import", data=fields, files={"file": (name, data, "text/csv")}
    )


def test_a_latin1_semicolon_csv_is_dry_run_then_imported_and_again_changes_nothing(
    client, container
):
    sign_in(client, "admin")
    before = container.head_position()
    dry = upload(client, CSV_LATIN1)
    assert dry.status_code == 200, dry.text
    assert "2 · 2 criados" in dry.text
    assert container.head_position() == before  # a dry run writes nothing
    real = upload(client, CSV_LATIN1, dry_run=False)
    assert real.status_code == 200  # the job page
    from tests.checkout import wait_until

    wait_until(lambda: "ECO-2" in [r["sku"] for r in _skus(container)], what="import")
    item = container.services.catalog.stock_item("ECO-2")
    assert (item.name, str(item.price.amount), item.on_hand) == ("Caneca térmica", "1234.50", 5)
    again = upload(client, CSV_LATIN1)
    assert "0 criados · 0 alterados · 2 sem mudança" in again.text


def _skus(container):
    return container.readers.back_office.products(
        __import__("projections.back_office_reader").back_office_reader.ProductFilter()
    ).items


def test_bad_rows_name_line_and_field_and_nothing_is_applied(client, container):
    sign_in(client, "admin")
    bad = (
        "\ufeffsku,name,category,price,stock\n"
        "ECO-1,Escova,higiene,12.90,4\n"
        'ECO-3,"=HYPERLINK(""http://x"")",casa,10,1\n'
        "ECO-4,Copo,casa,abc,1\n"
        "ECO-1,Escova outra vez,higiene,13,1\n"
    ).encode()
    before = container.head_position()
    page = upload(client, bad, dry_run=False)
    assert page.status_code == 422
    errors = re.findall(r'<tr><td class="num">(\d+)</td><td>(\w+)</td>', page.text)
    assert errors == [("3", "name"), ("4", "price"), ("5", "sku")]
    assert container.head_position() == before


def test_files_over_the_limit_or_not_a_catalog_are_refused_with_a_clear_message(client, container):
    sign_in(client, "admin")
    container.settings.catalog_import_max_bytes = 100
    page = upload(client, b"sku;name;category;price\n" + b"ECO-1;x;y;1\n" * 20)
    assert page.status_code == 422
    assert "limit" in page.text
    container.settings.catalog_import_max_bytes = 5_000_000
    page = upload(client, b"codigo;nome\nA;B\n")
    assert page.status_code == 422
    assert "lacks" in page.text


def test_the_export_neutralises_formula_cells_and_reads_back_in(client, container):
    from tests.checkout import register, wait_until

    register(container.services, "ECO-7", 2)
    container.services.catalog.edit_stock_item("ECO-7", name="-2+3 ou =1+1")
    sign_in(client, "admin")
    wait_until(lambda: bool(_skus(container)), what="the product listed")
    exported = client.get("/console/catalog/export.csv")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    assert ";'-2+3 ou =1+1;" in exported.text
    assert exported.text.startswith("\ufeffsku;name")
    lines = client.get("/console/catalog/export.jsonl").text.splitlines()
    assert '"name": "\'-2+3 ou =1+1"' in lines[0]


def test_the_rates_table_is_edited_at_its_version_and_a_stale_form_changes_nothing(
    client, container
):
    sign_in(client, "admin")
    page = client.get("/console/shipping").text
    table = re.search(
        r'<textarea name="table" id="rates-json" rows="16">(.*?)</textarea>', page, re.S
    )
    assert table is not None
    import html

    form = {
        "csrf": csrf_of(client, "/console/shipping"),
        "version": version_on(page, "rates-form"),
        "table": html.unescape(table.group(1)),
        "free_standard_from": "249,90",
    }
    saved = client.post("/console/shipping", data=form)
    assert saved.status_code == 200
    assert 'value="249,90"' in saved.text
    stale = client.post("/console/shipping", data={**form, "free_standard_from": "99"})
    assert stale.status_code == 409
    assert str(container.services.shipping.rates_table().free_standard_from.amount) == "249.90"


def test_cancelling_an_order_needs_its_confirmation(client, container):
    from tests.checkout import place_order, register, settled, wait_until

    register(container.services, "ECO-1", 5)
    order_id = place_order(container.services, {"ECO-1": 1}, customer="ana")
    wait_until(lambda: settled(container.services))
    assert container.wait_for_projections(container.head_position())
    sign_in(client, "admin", "caio-staff")
    page = client.get(f"/console/orders/{order_id}").text
    assert 'id="ship-form"' in page
    form = {"csrf": csrf_of(client), "version": version_on(page, "cancel-form"), "reason": "x"}
    refused = client.post(f"/console/orders/{order_id}/cancel", data=form)
    assert refused.status_code == 422
    cancelled = client.post(f"/console/orders/{order_id}/cancel", data={**form, "confirm": "yes"})
    assert cancelled.status_code == 200
    assert 'id="order-status">cancelado<' in cancelled.text
    assert "pela loja" in cancelled.text


def test_a_form_posted_twice_is_a_409_page_and_a_big_file_is_refused_before_reading(
    client, container
):
    sign_in(client, "admin")
    create_product(client)
    before = container.head_position()
    again = client.post("/console/products", data={"csrf": csrf_of(client), **NEW})
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("text/html")
    assert container.head_position() == before
    big = upload(client, b"sku;name;category;price\n" + b"ECO-1;x;y;1\n" * 600_000)  # ~7 MB
    assert big.status_code == 422
    assert "ECOVAREJO_CATALOG_IMPORT_MAX_BYTES" in big.text
    assert container.head_position() == before


def test_a_catalog_larger_than_an_api_body_is_read_whole(client):
    sign_in(client, "admin")
    rows = "".join(f"ECO-{n:05d};Produto número {n};casa;{n},90;{n % 50}\n" for n in range(1500))
    data = ("sku;name;category;price;stock\n" + rows).encode()
    assert len(data) > 65_536  # ECOVAREJO_MAX_BODY_BYTES' default
    page = upload(client, data)
    assert page.status_code == 200, page.text[:300]
    assert "1500 · 1500 criados" in page.text
