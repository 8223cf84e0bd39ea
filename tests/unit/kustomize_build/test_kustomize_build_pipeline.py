"""The whole build step: generate, kustomize build, substitute (SOPS has its own tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gotk_api.kustomize import KustomizationSpec
from kustomize_controller.build import (
    BuildError,
    SubstitutionError,
    VariableSource,
    build_kustomization,
    collect_variables,
)


def spec(**fields: Any) -> KustomizationSpec:
    base = {"interval": "1m", "prune": True, "sourceRef": {"kind": "GitRepository", "name": "s"}}
    return KustomizationSpec.model_validate({**base, **fields})


MANIFESTS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-${CLUSTER}
data:
  region: ${REGION:=eu-west-1}
  replicas: "${REPLICAS}"
  quoted: ${quote}${REPLICAS}${quote}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: raw
  annotations:
    kustomize.toolkit.fluxcd.io/substitute: disabled
data:
  script: echo ${HOME}
"""


async def test_build_substitutes_variables_after_kustomize(tmp_path: Path) -> None:
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "cms.yaml").write_text(MANIFESTS)
    variables = collect_variables(
        [VariableSource("ConfigMap", "cluster-vars", {"CLUSTER": "prod", "REPLICAS": "2"})],
        {"CLUSTER": "staging", "quote": '"'},
    )
    objects = await build_kustomization(
        tmp_path,
        spec(path="apps", targetNamespace="team", postBuild={"substitute": {"CLUSTER": "x"}}),
        variables=variables,
    )
    by_name = {o["metadata"]["name"]: o for o in objects}
    # As in Flux, source quotes do not survive the build: only `${quote}` keeps a string.
    assert by_name["app-staging"]["data"] == {"region": "eu-west-1", "replicas": 2, "quoted": "2"}
    assert by_name["app-staging"]["metadata"]["namespace"] == "team"
    assert by_name["raw"]["data"] == {"script": "echo ${HOME}"}


async def test_without_post_build_nothing_is_substituted(tmp_path: Path) -> None:
    (tmp_path / "cms.yaml").write_text(MANIFESTS)
    objects = await build_kustomization(tmp_path, spec(), variables={"CLUSTER": "prod"})
    assert {o["metadata"]["name"] for o in objects} == {"app-${CLUSTER}", "raw"}


async def test_strict_substitution_reports_the_missing_variable(tmp_path: Path) -> None:
    (tmp_path / "cms.yaml").write_text(MANIFESTS)
    with pytest.raises(SubstitutionError, match='"REPLICAS"'):
        await build_kustomization(
            tmp_path,
            spec(postBuild={"substitute": {"CLUSTER": "prod"}}),
            variables={"CLUSTER": "prod", "quote": '"'},
            strict_substitution=True,
        )


async def test_alias_bomb_without_a_kustomization_is_refused_before_expanding(
    tmp_path: Path,
) -> None:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: bomb}", "data:"]
    lines.append('  a0: &a0 "lollollollollollollollollollol"')
    for i in range(1, 12):
        lines.append(f"  a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(BuildError, match=r"bomb\.yaml.*alias bomb"):
        await build_kustomization(tmp_path, spec(path="./"))
