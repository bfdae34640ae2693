"""Console parts without I/O: charts escape what they draw, the language choice, the dev
login's condition, and the sign-in redirect that never leaves the console."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

from api.console.charts import bar_chart
from api.console.i18n import MESSAGES, pick
from api.console.session import _next, dev_login_allowed
from api.http.auth import TokenVerifier
from infrastructure.settings import Settings


def test_a_chart_escapes_its_labels_and_scales_bars_to_the_largest_value():
    svg = bar_chart([("<script>x</script>", Decimal("10")), ("b&c", Decimal("5"))], "t<")
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "b&amp;c" in svg
    assert "<title>t&lt;</title>" in svg
    widths = [int(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="(\d+)"', svg)]
    assert len(widths) == 2
    assert widths[0] == 2 * widths[1]  # 10 is twice 5


def test_the_language_is_the_query_then_the_cookie_then_the_browser_then_portuguese():
    assert pick("en", "pt", "pt-BR") == "en"
    assert pick(None, "en", "pt-BR") == "en"
    assert pick("xx", None, "en-US,en;q=0.9") == "en"
    assert pick(None, None, "de-DE") == "pt"
    assert set(MESSAGES["pt"]) == set(MESSAGES["en"])


def _request(
    verifier: TokenVerifier, peer: str = "127.0.0.1", host: str = "127.0.0.1:8000"
) -> SimpleNamespace:
    return SimpleNamespace(
        app=SimpleNamespace(state=SimpleNamespace(verifier=verifier)),
        client=SimpleNamespace(host=peer),
        headers={"host": host},
    )


def test_the_dev_login_exists_only_on_the_embedded_default_with_the_shared_secret(tmp_path):
    embedded = SimpleNamespace(settings=Settings(ECOVAREJO_DATA_DIR=tmp_path))
    configured = SimpleNamespace(
        settings=Settings(
            DATABASE_URL="postgresql://u@localhost/db",
            REDIS_URL="redis://localhost:6379/0",
            ECOVAREJO_DATA_DIR=tmp_path,
        )
    )
    shared = TokenVerifier("s" * 40)
    idp = TokenVerifier(None, "https://idp.example/jwks.json")
    assert dev_login_allowed(_request(shared), embedded)  # type: ignore[arg-type]
    assert not dev_login_allowed(_request(shared), configured)  # type: ignore[arg-type]
    assert not dev_login_allowed(_request(idp), embedded)  # type: ignore[arg-type]


def test_the_dev_login_is_refused_to_a_browser_on_another_machine(tmp_path):
    embedded = SimpleNamespace(settings=Settings(ECOVAREJO_DATA_DIR=tmp_path))
    shared = TokenVerifier("s" * 40)
    assert dev_login_allowed(_request(shared, "::1"), embedded)  # type: ignore[arg-type]
    for peer in ("192.0.2.7", "10.0.0.2", "testclient", ""):
        assert not dev_login_allowed(_request(shared, peer), embedded)  # type: ignore[arg-type]


def test_after_sign_in_the_console_only_redirects_within_itself():
    assert _next("/console/orders?status=shipped") == "/console/orders?status=shipped"
    for elsewhere in ("https://evil.example/", "//evil.example/console", "/api/v1/x", "", None):
        assert _next(elsewhere) == "/console"
    assert _next("/console\\..\\x") == "/console"
