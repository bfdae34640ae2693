"""DNS rebinding against the console (issue 21): on the embedded default, a page of another
site rebound to 127.0.0.1 reaches the console from a loopback peer with its own name in
`Host`. The dev login (an admin session for the asking) and every console page refuse it;
the console's own names still work; the API under /api/v1 is not concerned."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from infrastructure.bootstrap import Container

LOOPBACK_PEER = ("127.0.0.1", 50000)
REBOUND = "evil.example:8000"


@pytest.fixture
def embedded(container: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    """The test's system seen as the embedded default (no servers configured), which is
    what makes the dev login exist; the servers it runs on are the fixtures' own."""
    monkeypatch.setattr(
        container, "settings", container.settings.model_copy(update={"database_url": None})
    )
    assert container.settings.embedded
    return container


@pytest.fixture
def browser(embedded: Container) -> Iterator[TestClient]:
    app = create_app(embedded)
    with TestClient(
        app, base_url="http://127.0.0.1:8000", client=LOOPBACK_PEER, raise_server_exceptions=False
    ) as client:
        yield client


def csrf_of(client: TestClient, host: str | None = None) -> str:
    page = client.get("/console/login", headers={"host": host} if host else {})
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def test_the_dev_login_gives_a_session_to_a_browser_naming_this_machine(browser):
    response = browser.post(
        "/console/dev-login",
        data={"csrf": csrf_of(browser), "role": "admin"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert "ev_console=" in response.headers["set-cookie"]


def test_the_dev_login_refuses_a_page_rebound_under_another_name(browser):
    token = csrf_of(browser)  # the attacker's page can have fetched one the same way, or not
    response = browser.post(
        "/console/dev-login",
        data={"csrf": token, "role": "admin"},
        headers={"host": REBOUND},
        follow_redirects=False,
    )
    assert response.status_code == 400, response.text
    assert "ev_console=" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("path", ["/console/login", "/console", "/console/orders"])
def test_every_console_page_refuses_another_host_name(browser, path):
    response = browser.get(path, headers={"host": REBOUND}, follow_redirects=False)
    assert response.status_code == 400
    assert 'name="csrf"' not in response.text


def test_the_names_set_in_allowed_hosts_are_answered_and_localhost_then_is_not(
    embedded, monkeypatch
):
    configured = embedded.settings.model_copy(update={"allowed_hosts": ["console.example"]})
    monkeypatch.setattr(embedded, "settings", configured)
    with TestClient(create_app(embedded), client=LOOPBACK_PEER) as client:
        assert client.get("/console/login", headers={"host": "console.example"}).status_code == 200
        assert client.get("/console/login", headers={"host": "localhost"}).status_code == 400


def test_the_api_is_not_held_to_the_console_names(browser):
    response = browser.get("/api/v1/products/search", headers={"host": REBOUND})
    assert response.status_code == 200
