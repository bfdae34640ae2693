"""Product images over HTTP, with the embedded default (files under the data dir): an
admin uploads a photo, its metadata is gone from every rendition, each rendition is served
under its content hash with a year-long immutable cache; lying files, bombs, SVG with
script, 30 MB uploads and uploads without alt text are refused with a clear 4xx and store
nothing."""

from __future__ import annotations

import hashlib
import io

import psycopg
from PIL import Image

from application.product_images import IMMUTABLE
from application.product_ref import own_product_id
from tests.images import SVG_WITH_SCRIPT, photo, photo_with_gps, png_bomb

API = "/api/v1"


def upload(client, auth, product_id, data: bytes, content_type: str, alt: str | None = "Garrafa"):
    form = {} if alt is None else {"alt": alt}
    return client.post(
        f"{API}/products/{product_id}/images",
        files={"file": ("foto.jpg", data, content_type)},
        data=form,
        headers=auth("admin", "adm"),
    )


def stored_files(container) -> list:
    media = container.settings.data_dir / "media"
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


def test_an_uploaded_photo_is_served_in_six_renditions_without_its_gps_position(
    client, auth, product, container
):
    product_id = own_product_id(product["sku"])
    answer = upload(client, auth, product_id, photo_with_gps(), "image/jpeg", "Garrafa de inox")
    assert answer.status_code == 201, answer.text
    image = answer.json()["image"]
    assert image["alt"] == "Garrafa de inox"
    assert sorted((r["format"], r["width"]) for r in image["renditions"]) == [
        ("jpeg", 320),
        ("jpeg", 768),
        ("jpeg", 1600),
        ("webp", 320),
        ("webp", 768),
        ("webp", 1600),
    ]
    for rendition in image["renditions"]:
        served = client.get(rendition["url"])  # anonymous, as a browser or a CDN
        assert served.status_code == 200, rendition["url"]
        assert served.headers["cache-control"] == IMMUTABLE
        assert served.headers["content-type"] == f"image/{rendition['format']}"
        assert hashlib.sha256(served.content).hexdigest() in rendition["url"]
        decoded = Image.open(io.BytesIO(served.content))
        assert decoded.width == rendition["width"]
        assert not decoded.getexif()
    listed = client.get(
        f"{API}/products/{product_id}/images",
        headers={"X-Consistency-Token": answer.json()["consistency_token"]},
    )
    assert listed.status_code == 200, listed.text
    assert listed.json()["items"] == [image]
    assert len(stored_files(container)) == 6
    [event] = stored_events(container, "ProductMedia.ImageAdded")
    assert len(event) < 4_000  # references, not the megabytes of the renditions
    for rendition in image["renditions"]:
        assert rendition["url"].removeprefix("/media/").encode() in event


def stored_events(container, topic: str) -> list[bytes]:
    with psycopg.connect(container.database_url) as conn:
        rows = conn.execute(
            "SELECT state FROM ecovarejo_events WHERE topic LIKE %s", (f"%:{topic}",)
        ).fetchall()
    return [bytes(row[0]) for row in rows]


def test_the_same_photo_twice_is_a_conflict_and_an_unknown_product_not_found(client, auth, product):
    product_id = own_product_id(product["sku"])
    data = photo(900, 600)
    assert upload(client, auth, product_id, data, "image/jpeg").status_code == 201
    again = upload(client, auth, product_id, data, "image/jpeg")
    assert again.status_code == 409, again.text
    unknown = upload(client, auth, own_product_id("NOPE-1"), data, "image/jpeg")
    assert unknown.status_code == 404, unknown.text
    gone = client.delete(
        f"{API}/products/{product_id}/images/{'0' * 64}", headers=auth("admin", "adm")
    )
    assert gone.status_code == 404, gone.text  # not a 409 "business rule"
    assert gone.json()["type"].endswith("not-found")


def test_bad_uploads_are_refused_with_a_clear_problem_and_nothing_is_stored(
    client, auth, product, container
):
    product_id = own_product_id(product["sku"])
    cases = {
        "a png saying it is a jpeg": (photo(300, 300, "PNG"), "image/jpeg", 415, "image-refused"),
        "svg with script": (SVG_WITH_SCRIPT, "image/svg+xml", 415, "image-refused"),
        "svg named as png": (SVG_WITH_SCRIPT, "image/png", 415, "image-refused"),
        "a 20000 x 20000 png": (png_bomb(), "image/png", 413, "payload-too-large"),
        "no alt text": (photo(300, 300), "image/jpeg", 422, "invalid-input"),
    }
    for name, (data, declared, status, kind) in cases.items():
        alt = "" if name == "no alt text" else "Garrafa"
        answer = upload(client, auth, product_id, data, declared, alt)
        assert answer.status_code == status, (name, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"].endswith(kind), (name, answer.json())
    not_admin = client.post(
        f"{API}/products/{product_id}/images",
        files={"file": ("f.jpg", photo(100, 100), "image/jpeg")},
        data={"alt": "x"},
        headers=auth("customer", "ana"),
    )
    assert not_admin.status_code == 403
    assert stored_files(container) == []
    assert stored_events(container, "ProductMedia.ImageAdded") == []
    listed = client.get(f"{API}/products/{product_id}/images").json()
    assert listed["items"] == []


def test_a_30_mb_upload_is_refused_from_its_length_before_it_is_read(client, auth, product):
    product_id = own_product_id(product["sku"])
    sent = []

    def body():  # a generator: the refusal comes before most of it is ever asked for
        for _ in range(30):
            sent.append(1)
            yield b"\0" * 1_000_000

    answer = client.post(
        f"{API}/products/{product_id}/images",
        content=body(),
        headers={
            **auth("admin", "adm"),
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(30_000_000),
        },
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["type"].endswith("payload-too-large")


def test_a_chunked_upload_past_the_limit_is_refused_once_the_limit_is_passed(client, auth, product):
    product_id = own_product_id(product["sku"])

    def body():  # no Content-Length: sent chunked
        for _ in range(30):
            yield b"\0" * 1_000_000

    answer = client.post(
        f"{API}/products/{product_id}/images",
        content=body(),
        headers={**auth("admin", "adm"), "Content-Type": "multipart/form-data; boundary=x"},
    )
    assert answer.status_code == 413, answer.text


def test_a_name_that_is_not_a_content_hash_is_not_served(client):
    for path in ("/media/images/../../master-key", "/media/images/abc.jpeg", "/media/x"):
        assert client.get(path).status_code in (404, 422), path
    missing = client.get(f"/media/images/{'0' * 64}.webp")
    assert missing.status_code == 404
