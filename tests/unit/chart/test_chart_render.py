"""The Helm chart renders with the real `helm`: one Deployment per enabled service, sharded
Deployments with Flux's label selectors, and the same CRDs as config/crds/."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from gotk_runtime.tools import find_tool

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "gotk"


def _render(*values: str) -> list[dict[str, Any]]:
    argv = [str(find_tool("helm")), "template", "gotk", str(CHART), "--namespace", "flux-system"]
    for value in values:
        argv += ["--set", value]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def _args(deployment: dict[str, Any]) -> list[str]:
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


def test_chart_lints_cleanly() -> None:
    done = subprocess.run(
        [str(find_tool("helm")), "lint", str(CHART)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_default_render_has_one_deployment_per_enabled_service() -> None:
    docs = _render("sourceController.replicas=2")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {"source-controller", "kustomize-controller", "helm-controller"}
    assert deployments["source-controller"]["spec"]["replicas"] == 2
    source_args = _args(deployments["source-controller"])
    assert "--enable-leader-election=true" in source_args
    assert "--storage-adv-addr=source-controller.flux-system.svc.cluster.local." in source_args
    assert any(
        d["kind"] == "Service" and d["metadata"]["name"] == "source-controller" for d in docs
    )


def test_shards_get_their_own_deployments_and_selectors() -> None:
    docs = _render("shards={shard1,shard2}")
    args = {d["metadata"]["name"]: _args(d) for d in docs if d["kind"] == "Deployment"}
    assert "--watch-label-selector=!sharding.fluxcd.io/key" in args["kustomize-controller"]
    assert (
        "--watch-label-selector=sharding.fluxcd.io/key in (shard2)"
        in args["kustomize-controller-shard2"]
    )
    assert len(args) == 9


@pytest.mark.parametrize("crd", sorted(p.name for p in (REPO / "config" / "crds").glob("*.yaml")))
def test_chart_crds_match_the_generated_crds(crd: str) -> None:
    assert (CHART / "crds" / crd).read_text() == (REPO / "config" / "crds" / crd).read_text()
