"""The HelmChart made from `spec.chart`, and the cross-namespace lock-down."""

from __future__ import annotations

from typing import Any, cast

import pytest
from gotk_api.errors import GotkError
from gotk_api.helm import HelmRelease
from gotk_runtime import KubeClient
from helm_controller.chart_template import chart_object, reconcile_chart_template


def _hr(**chart_spec: Any) -> HelmRelease:
    return HelmRelease.model_validate(
        {
            "metadata": {"name": "app", "namespace": "team"},
            "spec": {
                "interval": "10m",
                "chart": {
                    "metadata": {"labels": {"x": "y"}, "annotations": {"a": "b"}},
                    "spec": {
                        "chart": "podinfo",
                        "sourceRef": {"kind": "HelmRepository", "name": "charts"},
                        **chart_spec,
                    },
                },
            },
        }
    )


def test_the_template_becomes_a_helmchart_named_after_the_release() -> None:
    obj = chart_object(_hr(version="6.x", valuesFiles=["values-prod.yaml"]))
    assert obj["metadata"] == {
        "name": "team-app",
        "namespace": "team",
        "labels": {
            "x": "y",
            "helm.toolkit.fluxcd.io/name": "app",
            "helm.toolkit.fluxcd.io/namespace": "team",
        },
        "annotations": {"a": "b"},
    }
    assert obj["spec"] == {
        "chart": "podinfo",
        "version": "6.x",
        "sourceRef": {"kind": "HelmRepository", "name": "charts"},
        "interval": "10m",
        "reconcileStrategy": "ChartVersion",
        "valuesFiles": ["values-prod.yaml"],
    }


def test_the_helmchart_lives_in_the_source_namespace() -> None:
    obj = chart_object(
        _hr(sourceRef={"kind": "HelmRepository", "name": "charts", "namespace": "shared"})
    )
    assert obj["metadata"]["namespace"] == "shared"


async def test_a_cross_namespace_source_is_refused_when_locked_down() -> None:
    hr = _hr(sourceRef={"kind": "HelmRepository", "name": "charts", "namespace": "shared"})
    raw = hr.model_dump(mode="json", by_alias=True, exclude_none=True)
    no_client = cast(KubeClient, None)  # refused before any request
    with pytest.raises(GotkError, match="cross-namespace references have been blocked") as info:
        await reconcile_chart_template(no_client, raw, hr, no_cross_namespace_refs=True)
    assert info.value.stalling
    assert info.value.reason == "AccessDenied"
