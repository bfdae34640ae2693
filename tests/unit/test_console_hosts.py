"""The console's Host rule without I/O (issue 21, DNS rebinding): on the embedded default
only this machine's names; `ECOVAREJO_ALLOWED_HOSTS` when set; the dev login needs both a
loopback peer and one of those names."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from api.console.hosts import LOCAL_HOSTS, allowed_hosts, host_name
from api.console.session import dev_login_allowed
from api.http.auth import TokenVerifier
from infrastructure.settings import Settings


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:8000", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]:8000", "::1"),
        ("LocalHost.:8000", "localhost"),
        ("evil.example:8000", "evil.example"),
        ("", ""),
    ],
)
def test_the_host_name_is_read_without_its_port_and_case(header, name):
    assert host_name(header) == name


def test_the_embedded_default_answers_only_this_machines_names(tmp_path):
    assert allowed_hosts(Settings(ECOVAREJO_DATA_DIR=tmp_path)) == LOCAL_HOSTS


def test_configured_names_replace_the_default_and_a_star_allows_any(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOVAREJO_ALLOWED_HOSTS", '["console.ecovarejo.com.br", "LOCALHOST"]')
    assert allowed_hosts(Settings(ECOVAREJO_DATA_DIR=tmp_path)) == {
        "console.ecovarejo.com.br",
        "localhost",
    }
    monkeypatch.setenv("ECOVAREJO_ALLOWED_HOSTS", '["*"]')
    assert allowed_hosts(Settings(ECOVAREJO_DATA_DIR=tmp_path)) is None


def _request(host: str) -> SimpleNamespace:
    return SimpleNamespace(
        app=SimpleNamespace(state=SimpleNamespace(verifier=TokenVerifier("s" * 40))),
        client=SimpleNamespace(host="127.0.0.1"),
        headers={"host": host},
    )


def test_the_dev_login_refuses_a_page_rebound_to_this_machine_under_another_name(tmp_path):
    embedded = SimpleNamespace(settings=Settings(ECOVAREJO_DATA_DIR=tmp_path))
    for own in ("127.0.0.1:8000", "localhost:8000", "[::1]:8000"):
        assert dev_login_allowed(_request(own), embedded)  # type: ignore[arg-type]
    for other in ("evil.example:8000", "127.0.0.1.nip.io:8000", ""):
        assert not dev_login_allowed(_request(other), embedded)  # type: ignore[arg-type]
