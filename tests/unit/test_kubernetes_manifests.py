"""deploy/kubernetes is code: each overlay, rendered, must pass `kubernetes-validate --strict`
(the Kubernetes API schemas) and `checkov` (security settings) with no failed check, every
skip justified in place (a `checkov.io/skip` annotation with its reason). Both are dev
dependencies (pyproject.toml); a failure names the file and the resource."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infrastructure.runtime.followers import RUNNERS
from tests.kustomize import render

ROOT = Path(__file__).resolve().parents[2]
KUBE = ROOT / "deploy" / "kubernetes"
OVERLAYS = ("staging", "production")
BIN = Path(sys.executable).parent


def rendered(tmp_path: Path, overlay: str) -> Path:
    out = tmp_path / f"{overlay}.yaml"
    out.write_text(yaml.safe_dump_all(render(KUBE / "overlays" / overlay), sort_keys=False))
    return out


def by_kind(overlay: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["kind"], r["metadata"]["name"]): r for r in render(KUBE / "overlays" / overlay)}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=240, check=False)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_resource_of_an_overlay_passes_the_kubernetes_schemas_strictly(
    overlay: str, tmp_path: Path
) -> None:
    path = rendered(tmp_path, overlay)
    done = run(str(BIN / "kubernetes-validate"), "--strict", "--quiet", str(path))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_checkov_finds_nothing_in_an_overlay_but_justified_skips(
    overlay: str, tmp_path: Path
) -> None:
    path = rendered(tmp_path, overlay)
    done = run(
        str(BIN / "checkov"), "-f", str(path), "--framework", "kubernetes",
        "--compact", "--quiet", "--skip-download", "--output", "cli",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    assert "Failed checks: 0" in done.stdout or done.stdout.strip() == "", done.stdout


def test_the_custom_resources_carry_what_their_operators_need() -> None:
    """ExternalSecret and ServiceMonitor are custom resources kubernetes-validate has no
    schema for: checked here by hand."""
    found = by_kind("production")
    secret = found[("ExternalSecret", "ecovarejo-env")]["spec"]
    assert secret["target"]["name"] == "ecovarejo-env"
    assert secret["secretStoreRef"]["kind"] in ("SecretStore", "ClusterSecretStore")
    keys = {d["secretKey"] for d in secret["data"]}
    assert {"DATABASE_URL", "REDIS_URL", "BROKER_URL", "ECOVAREJO_JWT_SECRET"} <= keys
    assert all(set(d["remoteRef"]) == {"key", "property"} for d in secret["data"])
    monitor = found[("ServiceMonitor", "ecovarejo-api")]["spec"]
    service = found[("Service", "ecovarejo-api")]
    assert monitor["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workers_never_outnumber_the_runners_that_can_be_leased(overlay: str) -> None:
    found = by_kind(overlay)
    leasable = len(RUNNERS)
    assert found[("Deployment", "ecovarejo-worker")]["spec"]["replicas"] <= leasable
    hpa = found[("HorizontalPodAutoscaler", "ecovarejo-worker")]["spec"]
    assert hpa["minReplicas"] <= hpa["maxReplicas"] <= leasable
    strategy = found[("Deployment", "ecovarejo-worker")]["spec"]["strategy"]
    assert strategy["rollingUpdate"]["maxSurge"] == 0  # a rollout adds none above the HPA's


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_pods_run_as_non_root_on_a_read_only_root_with_probes_and_limits(overlay: str) -> None:
    for (kind, name), resource in by_kind(overlay).items():
        if kind not in ("Deployment", "Job"):
            continue
        pod = resource["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert set(container["resources"]) == {"requests", "limits"}, name
            assert "@sha256:" in container["image"], name
            if kind == "Deployment":
                assert "livenessProbe" in container, name
                assert "readinessProbe" in container, name
    api = by_kind(overlay)[("Deployment", "ecovarejo-api")]["spec"]["template"]["spec"]
    probes = api["containers"][0]
    assert probes["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/health"


def test_only_the_api_takes_traffic_and_only_from_the_ingress_and_prometheus() -> None:
    policies = [r for (k, _), r in by_kind("production").items() if k == "NetworkPolicy"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert len(deny) == 1
    assert set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny[0]["spec"]
    assert "egress" not in deny[0]["spec"]
    admitting = [p for p in policies if "ingress" in p["spec"]]
    assert len(admitting) == 1
    selected = admitting[0]["spec"]["podSelector"]["matchLabels"]
    assert selected["app.kubernetes.io/component"] == "api"
    sources = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for rule in admitting[0]["spec"]["ingress"]
        for peer in rule["from"]
    }
    assert sources == {"ingress-nginx", "monitoring"}


def test_the_api_autoscales_on_cpu_and_request_rate_from_3_to_50() -> None:
    hpa = by_kind("production")[("HorizontalPodAutoscaler", "ecovarejo-api")]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 50)
    kinds = {m["type"]: m for m in hpa["metrics"]}
    assert kinds["Resource"]["resource"]["name"] == "cpu"
    assert kinds["Pods"]["pods"]["metric"]["name"] == "ecovarejo_http_requests_per_second"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_rendering_here_is_what_kubectl_kustomize_renders(overlay: str) -> None:
    done = run("kubectl", "kustomize", str(KUBE / "overlays" / overlay))
    assert done.returncode == 0, done.stderr
    theirs = {(r["kind"], r["metadata"]["name"]): r for r in yaml.safe_load_all(done.stdout)}
    assert theirs == by_kind(overlay)
