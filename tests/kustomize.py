"""Render deploy/kubernetes overlays without a cluster tool: the subset of kustomize they
use (`resources`, `namespace`, `labels` on metadata, `images` by name, JSON 6902 `patches`
by kind and name). Where `kubectl` is installed, tests compare this with `kubectl kustomize`,
so the subset cannot drift from what kustomize really does."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonpatch
import yaml

Resource = dict[str, Any]


def render(directory: Path) -> list[Resource]:
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    resources: list[Resource] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            resources.extend(render(path))
        else:
            resources.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    resources = [copy.deepcopy(r) for r in resources]
    for resource in resources:
        _apply(spec, resource)
    return resources


def _apply(spec: dict[str, Any], resource: Resource) -> None:
    meta = resource["metadata"]
    if "namespace" in spec and resource["kind"] != "Namespace":
        meta["namespace"] = spec["namespace"]
    for label in spec.get("labels", []):
        meta.setdefault("labels", {}).update(label["pairs"])
    for image in spec.get("images", []):
        for container in _containers(resource):
            if container["image"].split("@")[0].split(":")[0] == image["name"]:
                name = image.get("newName", image["name"])
                tag = f"@{image['digest']}" if "digest" in image else f":{image['newTag']}"
                container["image"] = name + tag
    for patch in spec.get("patches", []):
        target = patch["target"]
        if target["kind"] == resource["kind"] and target["name"] == meta["name"]:
            ops = yaml.safe_load(patch["patch"])
            resource.update(jsonpatch.apply_patch(resource, ops))


def _containers(resource: Resource) -> list[dict[str, Any]]:
    spec = resource.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    return [*pod.get("containers", []), *pod.get("initContainers", [])]
