"""Alerts reach someone: ops/alertmanager/alertmanager.yml passes `amtool check-config`, routes
each priority to its receivers (`amtool config routes test`), and a real Alertmanager
(Debian's prometheus-alertmanager, installed by .ci/run) inhibits symptoms while their cause
fires. The platform rules pass promtool, and each links a runbook section that exists.
Missing tools under CI=true fail, elsewhere they skip (tests/unit/test_ops_as_code.py)."""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.unit.test_ops_as_code import run, tool

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "ops" / "alertmanager" / "alertmanager.yml"
PROMETHEUS = ROOT / "ops" / "prometheus"
RUNBOOK = ROOT / "ops" / "runbook.md"


def test_amtool_accepts_the_alertmanager_configuration() -> None:
    out = run(tool("amtool"), "check-config", str(CONFIG))
    assert "SUCCESS" in out


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["priority=P1"], "pager"),
        (["severity=page"], "pager"),  # the older rules carry only a severity
        (["priority=P2"], "chat-and-email"),
        (["priority=P3"], "chat"),
        (["severity=ticket"], "chat"),
        (["priority=P4"], "email"),
        (["team=unknown"], "chat"),  # anything unlabelled still reaches someone
    ],
)
def test_each_priority_reaches_its_receivers(labels: list[str], receivers: str) -> None:
    args = [tool("amtool"), "config", "routes", "test", f"--config.file={CONFIG}", *labels]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == receivers


def test_the_platform_rules_are_valid_and_fire_when_they_should() -> None:
    promtool = tool("promtool")
    assert "SUCCESS: 7 rules found" in run(
        promtool, "check", "rules", "platform_alerts.yml", cwd=PROMETHEUS
    )
    assert "SUCCESS" in run(promtool, "test", "rules", "platform_alerts_test.yml", cwd=PROMETHEUS)


def test_every_platform_rule_has_a_priority_and_a_runbook_section() -> None:
    rules = yaml.safe_load((PROMETHEUS / "platform_alerts.yml").read_text())["groups"][0]["rules"]
    headings = {slug(h) for h in re.findall(r"^## (.+)$", RUNBOOK.read_text(), re.M)}
    names = {r["alert"] for r in rules}
    for wanted in ("Cpu", "Memory", "Disk", "Certificate", "Database", "Redis", "Replication"):
        assert any(wanted in name for name in names), wanted
    for rule in rules:
        assert rule["labels"]["priority"] in ("P1", "P2", "P3", "P4"), rule["alert"]
        anchor = rule["annotations"]["runbook"].split("#")[1]
        assert anchor in headings, rule["alert"]


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")


# --- inhibition, in a real Alertmanager -------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    binary = tool("prometheus-alertmanager")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [binary, f"--config.file={CONFIG}", f"--storage.path={tmp_path}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "alertmanager did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def post_alerts(url: str, *alerts: dict[str, str]) -> None:
    body = [{"labels": labels} for labels in alerts]
    httpx.post(f"{url}/api/v2/alerts", json=body, timeout=5).raise_for_status()


def states(url: str) -> dict[str, str]:
    alerts = httpx.get(f"{url}/api/v2/alerts", timeout=5).json()
    return {a["labels"]["alertname"]: a["status"]["state"] for a in alerts}


def wait_for(url: str, expected: dict[str, str]) -> dict[str, str]:
    deadline = time.monotonic() + 15
    while (found := states(url)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_a_database_outage_silences_the_symptoms_it_causes_and_nothing_else(
    alertmanager: str,
) -> None:
    post_alerts(
        alertmanager,
        {"alertname": "EcoVarejoHighErrorRate", "severity": "page"},
        {"alertname": "EcoVarejoSagaBehind", "severity": "page", "process": "saga.p0"},
        {"alertname": "EcoVarejoLgpdRequestNearDeadline", "severity": "page"},
    )
    before = {
        "EcoVarejoHighErrorRate": "active",
        "EcoVarejoSagaBehind": "active",
        "EcoVarejoLgpdRequestNearDeadline": "active",
    }
    assert wait_for(alertmanager, before) == before
    post_alerts(
        alertmanager,
        {"alertname": "EcoVarejoDatabaseUnreachable", "priority": "P1", "instance": "pg1"},
    )
    during = {
        "EcoVarejoDatabaseUnreachable": "active",
        "EcoVarejoHighErrorRate": "suppressed",
        "EcoVarejoSagaBehind": "suppressed",
        "EcoVarejoLgpdRequestNearDeadline": "active",  # not caused by the database
    }
    assert wait_for(alertmanager, during) == during


def test_a_full_disk_silences_the_database_alert_of_its_own_machine_only(
    alertmanager: str,
) -> None:
    post_alerts(
        alertmanager,
        {"alertname": "EcoVarejoDiskFull", "priority": "P1", "instance": "db1"},
        {"alertname": "EcoVarejoDatabaseUnreachable", "priority": "P1", "instance": "db1"},
    )
    expected = {"EcoVarejoDiskFull": "active", "EcoVarejoDatabaseUnreachable": "suppressed"}
    assert wait_for(alertmanager, expected) == expected
