"""Idempotency-Key on POST, through the real app and Redis: a repeat gets the first answer
and runs nothing, also when copies arrive together; another body under the same key is
422; keys belong to their subject; 5xx answers are not kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.errors import PROBLEM_BASE
from infrastructure.bootstrap import Container

API = "/api/v1"
MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(container: Container) -> Iterator[MakeClient]:
    clients: list[TestClient] = []

    def make(**settings: object) -> TestClient:
        for name, value in settings.items():
            setattr(container.settings, name, value)
        client = TestClient(create_app(container), raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def head(client: TestClient) -> int:
    return client.app.state.container.head_position()


def new_cart(client: TestClient, auth, sub: str = "cliente-1") -> str:
    response = client.post(f"{API}/carts", json={}, headers=auth(sub=sub))
    assert response.status_code == 201
    return response.json()["cart_id"]


def slow(monkeypatch, service, name: str, seconds: float) -> None:
    """Make one command take a while, to hold a second copy of its request waiting."""
    command = getattr(service, name)

    def slowed(*args: object, **kwargs: object) -> object:
        time.sleep(seconds)
        return command(*args, **kwargs)

    monkeypatch.setattr(service, name, slowed)


def test_a_repeated_post_gets_the_first_answer_and_runs_nothing(client, auth):
    first = client.post(f"{API}/carts", json={}, headers=keyed(auth(), "k-1"))
    assert first.status_code == 201
    events = head(client)
    again = client.post(f"{API}/carts", json={}, headers=keyed(auth(), "k-1"))
    assert again.status_code == 201
    assert again.json() == first.json()
    for header in ("location", "etag", "content-type"):
        assert again.headers[header] == first.headers[header]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert head(client) == events


def test_the_same_json_written_differently_is_the_same_request(client, auth, product):
    cart_id = new_cart(client, auth)
    url = f"{API}/carts/{cart_id}/items"
    headers = keyed({**auth(), "Content-Type": "application/json"}, "k-2")
    first = client.post(url, content=b'{"sku": "ECO-0100", "quantity": 1}', headers=headers)
    again = client.post(url, content=b'{ "quantity":1,"sku":"ECO-0100" }', headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["version"] == 2


def test_the_same_key_with_another_body_is_422(client, auth, product):
    cart_id = new_cart(client, auth)
    url = f"{API}/carts/{cart_id}/items"
    first = client.post(url, json={"sku": "ECO-0100", "quantity": 1}, headers=keyed(auth(), "k"))
    assert first.status_code == 200
    events = head(client)
    other = client.post(url, json={"sku": "ECO-0100", "quantity": 2}, headers=keyed(auth(), "k"))
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"] == PROBLEM_BASE + "idempotency-key-reused"
    elsewhere = client.post(f"{API}/carts", json={}, headers=keyed(auth(), "k"))
    assert elsewhere.status_code == 422
    assert head(client) == events


def test_one_subjects_key_never_replays_anothers_answer(client, auth):
    ana = client.post(f"{API}/carts", json={}, headers=keyed(auth(sub="ana"), "shared"))
    bruno = client.post(f"{API}/carts", json={}, headers=keyed(auth(sub="bruno"), "shared"))
    assert ana.status_code == bruno.status_code == 201
    assert ana.json()["cart_id"] != bruno.json()["cart_id"]
    assert "idempotent-replayed" not in bruno.headers


@pytest.mark.parametrize("command_s", [0.0, 0.3], ids=["as-fast-as-it-is", "slowed-down"])
def test_copies_arriving_together_run_the_command_once(
    client, auth, product, monkeypatch, command_s
):
    cart_id = new_cart(client, auth)
    if command_s:  # every copy surely arrives while the first still runs
        slow(monkeypatch, client.app.state.container.services.checkout, "add_cart_item", command_s)
    events = head(client)
    copies = 6
    barrier = threading.Barrier(copies)
    answers: list = [None] * copies

    def send(index: int) -> None:
        barrier.wait()
        answers[index] = client.post(
            f"{API}/carts/{cart_id}/items",
            json={"sku": "ECO-0100", "quantity": 2},
            headers=keyed(auth(), "together"),
        )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert sum("idempotent-replayed" not in a.headers for a in answers) == 1
    assert head(client) == events + 1
    assert answers[0].json()["version"] == 2
    token = answers[0].json()["consistency_token"]
    cart = client.get(
        f"{API}/carts/{cart_id}", headers=auth(**{"X-Consistency-Token": token})
    ).json()
    assert (cart["version"], cart["items"][0]["quantity"]) == (2, 2)


def test_a_copy_that_waits_too_long_for_the_first_is_409(make_client, auth, monkeypatch):
    client = make_client(idempotency_wait_s=0.2)
    slow(monkeypatch, client.app.state.container.services.checkout, "create_cart", 1.0)
    answers: dict[str, object] = {}

    def first() -> None:
        answers["first"] = client.post(f"{API}/carts", json={}, headers=keyed(auth(), "slow"))

    thread = threading.Thread(target=first)
    thread.start()
    time.sleep(0.3)  # the first holds the key now
    waiting = client.post(f"{API}/carts", json={}, headers=keyed(auth(), "slow"))
    assert waiting.status_code == 409
    assert waiting.json()["type"] == PROBLEM_BASE + "idempotency-in-progress"
    assert waiting.headers["retry-after"] == "1"
    thread.join()
    later = client.post(f"{API}/carts", json={}, headers=keyed(auth(), "slow"))
    assert later.status_code == 201
    assert later.json() == answers["first"].json()  # type: ignore[attr-defined]
    assert head(client) == 1


def test_a_server_error_is_not_kept_so_a_retry_runs(client, auth, monkeypatch):
    checkout = client.app.state.container.services.checkout
    create_cart = checkout.create_cart
    monkeypatch.setattr(checkout, "create_cart", lambda *_: 1 / 0)
    failed = client.post(f"{API}/carts", json={}, headers=keyed(auth(), "retry-me"))
    assert failed.status_code == 500
    monkeypatch.setattr(checkout, "create_cart", create_cart)
    retried = client.post(f"{API}/carts", json={}, headers=keyed(auth(), "retry-me"))
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers


def test_a_refusal_is_kept_like_any_other_answer(client, auth, product):
    cart_id = new_cart(client, auth)
    url = f"{API}/carts/{cart_id}/items"
    body = {"sku": "ECO-0100", "quantity": 11}  # more than in stock
    first = client.post(url, json=body, headers=keyed(auth(), "too-many"))
    assert first.status_code == 409
    again = client.post(url, json=body, headers=keyed(auth(), "too-many"))
    assert again.status_code == 409
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


def test_an_answer_is_forgotten_after_its_time_to_live(make_client, auth):
    client = make_client(idempotency_ttl_s=1)
    first = client.post(f"{API}/carts", json={}, headers=keyed(auth(), "brief"))
    time.sleep(1.2)
    later = client.post(f"{API}/carts", json={}, headers=keyed(auth(), "brief"))
    assert later.status_code == 201
    assert later.json()["cart_id"] != first.json()["cart_id"]


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "acentuação"])
def test_a_malformed_key_is_422(client, auth, key):
    headers = {**auth(), "Idempotency-Key": key.encode()}
    response = client.post(f"{API}/carts", json={}, headers=headers)
    assert response.status_code == 422
    assert response.json()["type"] == PROBLEM_BASE + "idempotency-key-invalid"
    assert head(client) == 0


def test_without_a_valid_token_nothing_is_kept(client, auth):
    refused = client.post(f"{API}/carts", json={}, headers={"Idempotency-Key": "anon"})
    assert refused.status_code == 401
    accepted = client.post(f"{API}/carts", json={}, headers=keyed(auth(), "anon"))
    assert accepted.status_code == 201
    assert "idempotent-replayed" not in accepted.headers
