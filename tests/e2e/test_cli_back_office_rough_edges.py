"""Issue 26's rough edges, one test each: a busy port, a backup into a missing directory,
an irreversible erase, money and emptiness in the CLI's words, the platformdirs warning,
the audit trail's times and legend, an order id given to `sandbox pay`, a garbage token."""

from __future__ import annotations

import base64
import socket

from tests.checkout import place_order, register, settled, wait_until
from tests.e2e.test_cli import clean_env, run
from tests.e2e.test_cli_catalog import cli_env


def test_serving_on_a_busy_port_is_one_line_with_the_way_out(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = clean_env(ECOVAREJO_DATA_DIR=str(tmp_path), ECOVAREJO_JWT_SECRET="s" * 40)
        result = run("serve", "--port", str(port), env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: 127.0.0.1:{port} is already in use (another `ecovarejo serve`?); "
        f'use another port: make run ARGS="--port {port + 1}"'
    ]
    assert "serving on" not in result.stdout + result.stderr


def test_a_backup_into_a_missing_directory_is_refused_and_creates_nothing(tmp_path):
    env = clean_env(ECOVAREJO_DATA_DIR=str(tmp_path / "data"), ECOVAREJO_JWT_SECRET="s" * 40)
    target = tmp_path / "nowhere" / "dir" / "x.tgz"
    result = run("backup", str(target), env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("error: no directory")
    assert not (tmp_path / "nowhere").exists()


def test_erasing_asks_and_without_a_terminal_needs_yes(settings):
    result = run("lgpd", "erase", "ana", env=cli_env(settings))
    assert result.returncode == 2
    assert "add --yes" in result.stderr


def test_promotions_show_money_and_empty_analytics_say_so(settings):
    env = cli_env(settings)
    created = run("promotions", "create", "FRETE5", "--min-subtotal", "1234.5", env=env)
    assert created.returncode == 0, created.stderr
    shown = run("promotions", "show", "FRETE5", env=env).stdout
    assert "min_subtotal: R$ 1.234,50" in shown
    assert "{'" not in shown
    empty = run("analytics", "customers", env=env)
    assert empty.stdout.strip() == "no customer consenting to analytics has a confirmed order yet"


def test_stop_prints_no_platformdirs_warning(tmp_path):
    env = clean_env(ECOVAREJO_DATA_DIR=str(tmp_path))
    env.pop("XDG_RUNTIME_DIR", None)
    result = run("stop", env=env)
    assert result.returncode == 0
    assert "Warning" not in result.stderr


def test_the_audit_trail_has_times_and_a_legend_and_sandbox_pay_names_the_payment(
    settings, container
):
    register(container.services, "ECO-1", 5)
    order_id = place_order(container.services, {"ECO-1": 1}, customer="ana")
    wait_until(lambda: settled(container.services))
    env = cli_env(settings)
    trail = run("audit", "trail", str(order_id), env=env).stdout
    assert "↩ marks a compensation" in trail
    first = trail.splitlines()[0].split()
    assert (first[1].count("-"), first[2][-1]) == (2, "Z")  # 2026-12-06 22:58:01Z
    paid = run("sandbox", "pay", str(order_id), env=env)
    assert paid.returncode == 2
    assert f"{order_id} is an order id; its payment is " in paid.stderr


def test_a_garbage_bearer_token_is_a_malformed_token(client):
    garbage = base64.urlsafe_b64encode(b"\xb7\xb7\xb7").decode().rstrip("=") + ".e30.x"
    response = client.get("/api/v1/orders", headers={"Authorization": f"Bearer {garbage}"})
    assert response.status_code == 401
    assert "malformed token" in response.json()["detail"]
    assert "codec" not in response.text
