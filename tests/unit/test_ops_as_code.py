"""Alerts, dashboards and the compose topology are code, checked here with the real tools:
`promtool` (Debian's `prometheus` package) and `docker-compose` (Debian's `docker-compose`),
both installed by `.ci/run`. Missing under CI=true is a failure, not a skip."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "ops" / "prometheus"
DASHBOARD = ROOT / "ops" / "grafana" / "dashboards" / "ecovarejo.json"
SECRETS = {
    "ECOVAREJO_JWT_SECRET": "x" * 48,
    "POSTGRES_PASSWORD": "pg-secret",
    "ELASTIC_PASSWORD": "es-secret",
    "GRAFANA_ADMIN_PASSWORD": "gf-secret",
    "ECOVAREJO_MASTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed; .ci/run installs it (apt-get)")
        pytest.skip(f"{name} is not installed (apt-get install it, as .ci/run does)")
    return found


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_alert_rules_are_valid_for_promtool() -> None:
    out = run(tool("promtool"), "check", "rules", "alerts.yml", cwd=PROMETHEUS)
    assert "SUCCESS" in out


def test_the_alert_rules_fire_when_they_should_and_not_otherwise() -> None:
    out = run(tool("promtool"), "test", "rules", "alerts_test.yml", cwd=PROMETHEUS)
    assert "SUCCESS" in out


def test_the_alert_list_covers_what_operations_asked_for() -> None:
    text = (PROMETHEUS / "alerts.yml").read_text()
    for alert in (
        "PaymentFailureRateHigh",
        "HighLatencyP99",
        "HighErrorRate",
        "QueueGrowing",
        "SagaTimeouts",
        "ParkedEvents",
        "ProjectionLag",
        "LgpdRequestNearDeadline",
    ):
        assert f"alert: EcoVarejo{alert}\n" in text


def test_the_prometheus_config_loads_the_rules() -> None:
    out = run(tool("promtool"), "check", "config", "prometheus.yml", cwd=PROMETHEUS)
    assert "2 rule files found" in out  # alerts.yml, platform_alerts.yml


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 10
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [{"record": f"dashboard:q{i}", "expr": e} for i, e in enumerate(exprs)],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(json.dumps(rules))  # JSON is YAML
    out = run(tool("promtool"), "check", "rules", str(path))
    assert f"SUCCESS: {len(exprs)} rules found" in out


def test_compose_refuses_to_start_without_its_secrets() -> None:
    compose = tool("docker-compose")
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    done = subprocess.run(
        [compose, "config", "-q"], cwd=ROOT, capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode != 0
    secrets = "POSTGRES_PASSWORD|ECOVAREJO_JWT_SECRET|ELASTIC_PASSWORD|ECOVAREJO_MASTER_KEY"
    assert re.search(rf"set ({secrets})", done.stderr)


def test_compose_accepts_the_topology_with_prometheus_and_grafana_provisioned() -> None:
    compose = tool("docker-compose")
    out = run(compose, "config", env={**os.environ, **SECRETS})
    for service in ("postgres", "redis", "elasticsearch", "api", "worker", "prometheus", "grafana"):
        assert re.search(rf"^  {service}:$", out, re.M), service
    assert "ops/prometheus:/etc/prometheus:ro" in out
    assert "ops/grafana/provisioning:/etc/grafana/provisioning:ro" in out
    assert 'xpack.security.enabled: "true"' in out or "xpack.security.enabled: 'true'" in out
    # The API and the worker share one erasure ledger, on a volume (not the container's disk).
    assert out.count("ECOVAREJO_ERASURE_LEDGER: /home/ecovarejo/ledger/erasure-ledger.jsonl") == 2
    assert "/home/ecovarejo/ledger" in out
